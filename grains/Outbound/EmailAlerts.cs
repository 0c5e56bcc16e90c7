using System.Diagnostics;
using System.Text;
using System.Text.Json;
using MailKit.Net.Smtp;
using MailKit.Security;
using Microsoft.Extensions.Configuration;
using MimeKit;

namespace CallMesh.Outbound;

/// <summary>
/// The deployment's mail server (section <c>Smtp</c>: <c>CALLMESH_SMTP__HOST</c>, <c>__PORT</c>, <c>__FROM</c>,
/// <c>__USERNAME</c>, <c>__PASSWORD</c>, <c>__SECURITY</c> auto|none|starttls|tls), and the dashboard's address for the link
/// in each alert (<c>__DASHBOARDURL</c>; left out, <c>CALLMESH_PUBLIC_BASE_URL</c>/dashboard/).
/// </summary>
public sealed record SmtpOptions(string? Host, int Port, string Sender, string? Username, string? Password, string Security, string? DashboardUrl)
{
    public bool Configured => Host is { Length: > 0 };

    public static SmtpOptions From(IConfiguration configuration)
    {
        var section = configuration.GetSection("Smtp");
        var publicBase = configuration["PUBLIC_BASE_URL"] is { Length: > 0 } b ? $"{b.TrimEnd('/')}/dashboard/" : null;
        return new SmtpOptions(section["Host"], section.GetValue("Port", 587), section["From"] ?? "CallMesh <alerts@callmesh.invalid>",
            section["Username"], section["Password"], section["Security"] ?? "auto", section["DashboardUrl"] ?? publicBase);
    }
}

/// <summary>
/// Missed-call alerts by email: an email destination's <c>call.missed</c> events, one message per call to the addresses
/// the destination names (a location's manager, filtered to their locations), sent through the outbox like any delivery,
/// so a mail server that is down gets the alert later, once. The message id is the event's, for receivers that drop repeats.
/// </summary>
public sealed class EmailAlerts(SmtpOptions options, TimeProvider clock)
{
    public async Task<AttemptResult> SendAsync(Destination destination, OutboxEvent e, CancellationToken cancellation)
    {
        var at = clock.GetUtcNow().UtcDateTime;
        if (options.Host is not { Length: > 0 } host) return new AttemptResult(e, at, null, 0, "no mail server is configured (CALLMESH_SMTP__HOST)", null);
        var elapsed = Stopwatch.StartNew();
        try
        {
            var message = Compose(destination, e);
            using var client = new SmtpClient { Timeout = 15_000 };
            await client.ConnectAsync(host, options.Port, options.Security switch
            {
                "none" => SecureSocketOptions.None,
                "starttls" => SecureSocketOptions.StartTls,
                "tls" => SecureSocketOptions.SslOnConnect,
                _ => SecureSocketOptions.StartTlsWhenAvailable,
            }, cancellation);
            if (options.Username is { Length: > 0 } user) await client.AuthenticateAsync(user, options.Password ?? "", cancellation);
            var answer = await client.SendAsync(message, cancellation);
            await client.DisconnectAsync(true, cancellation);
            return new AttemptResult(e, at, 250, (int)elapsed.ElapsedMilliseconds, null, Truncate(answer, 500));
        }
        catch (Exception ex) when (!cancellation.IsCancellationRequested)
        {
            var status = ex is SmtpCommandException command ? (int)command.StatusCode : (int?)null;
            return new AttemptResult(e, at, status, (int)elapsed.ElapsedMilliseconds, Truncate(ex.Message, 500), null);
        }
    }

    /// <summary>The alert: who called which location when, what brought them, the voicemail if any, and the call's link.</summary>
    private MimeMessage Compose(Destination destination, OutboxEvent e)
    {
        var call = JsonDocument.Parse(e.Payload).RootElement;
        string? S(string name) => call.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
        var location = S("location") ?? "no location";
        var caller = S("caller") ?? "unknown";
        var message = new MimeMessage { MessageId = $"{e.EventId}@callmesh", Subject = $"Missed call at {location} from {caller}" };
        message.From.Add(MailboxAddress.Parse(options.Sender));
        foreach (var to in destination.Settings.To ?? []) message.To.Add(MailboxAddress.Parse(to));
        var text = new StringBuilder()
            .AppendLine($"A call to {location} was not answered.").AppendLine()
            .AppendLine($"Caller: {caller}")
            .AppendLine($"When: {call.GetProperty("startedAt").GetDateTime():yyyy-MM-dd HH:mm} UTC")
            .AppendLine($"Tracking number: {S("trackingNumber")}")
            .AppendLine($"From: {S("source")} / {S("medium")}{(S("campaign") is { } campaign ? $", campaign {campaign}" : "")}");
        if (call.TryGetProperty("voicemail", out var voicemail) && voicemail.GetBoolean())
            text.AppendLine($"Voicemail: {S("recordingUrl")}");
        text.AppendLine();
        text.AppendLine(options.DashboardUrl is { } dashboard
            ? $"Call back, then mark it in the dashboard: {dashboard}#call={Uri.EscapeDataString(S("id") ?? "")}"
            : "Call back, then mark it called back in the dashboard.");
        message.Body = new TextPart("plain") { Text = text.ToString() };
        return message;
    }

    private static string Truncate(string text, int length) => text.Length <= length ? text : text[..length];
}
