using System.Net;
using System.Text;
using CallMesh.Calls;
using CallMesh.Outbound;
using CallMesh.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;
using StandardWebhooks;

namespace CallMesh.Tests.Domain;

/// <summary>The formats conversions go out in, checked against published vectors and an independent verifier.</summary>
public sealed class OutboundFormatTests
{
    [Fact]
    public void A_webhook_signature_matches_the_standard_webhooks_test_vector()
    {
        // Standard Webhooks spec (shared/research/conversions-and-operations.md §1).
        var header = WebhookSignature.Header(["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"], "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330,
            Encoding.UTF8.GetBytes("{\"test\": 2432232314}"));
        Assert.Equal("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", header);
        var lib = new StandardWebhook("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", WebhookConfigurationOptions.StandardWebhooks)
            .Sign("msg_p5jXN8AQM9LWM0D4loKWxJek", DateTimeOffset.FromUnixTimeSeconds(1614265330), "{\"test\": 2432232314}");
        Assert.Equal(header, lib);
    }

    [Fact]
    public void An_independent_verifier_accepts_each_secret_of_a_rotation_and_refuses_a_changed_body()
    {
        var (current, previous) = (WebhookSignature.NewSecret(), WebhookSignature.NewSecret());
        var body = "{\"type\":\"call.completed\",\"data\":{\"id\":\"CA1\"}}";
        var now = DateTimeOffset.UtcNow;
        // As a destination in a rotation's overlap signs: its stored secrets are newest first.
        var credentials = new DestinationCredentials([new SigningSecret(current, null), new SigningSecret(previous, now.UtcDateTime.AddHours(1))]);
        var headers = new HeaderDictionary
        {
            ["webhook-id"] = "evt_1", ["webhook-timestamp"] = now.ToUnixTimeSeconds().ToString(),
            ["webhook-signature"] = WebhookSignature.Header(credentials.SigningSecrets(now.UtcDateTime), "evt_1", now.ToUnixTimeSeconds(), Encoding.UTF8.GetBytes(body)),
        };
        Assert.Equal(2, headers["webhook-signature"].ToString().Split(' ').Length);
        // Verifiers apart from our signer: the StandardWebhooks package (Codefactors; it checks only the first signature,
        // hence the old secret first) and one written from the spec that checks every signature.
        new StandardWebhook(previous, WebhookConfigurationOptions.StandardWebhooks).Verify(body, headers);
        string H(string name) => headers[name].ToString();
        foreach (var secret in new[] { current, previous })
            Assert.True(SpecWebhookVerifier.Verify(secret, H("webhook-id"), H("webhook-timestamp"), H("webhook-signature"), body));
        Assert.False(SpecWebhookVerifier.Verify(WebhookSignature.NewSecret(), H("webhook-id"), H("webhook-timestamp"), H("webhook-signature"), body));
        Assert.False(SpecWebhookVerifier.Verify(current, H("webhook-id"), H("webhook-timestamp"), H("webhook-signature"), body.Replace("CA1", "CA2")));
        Assert.ThrowsAny<Exception>(() => new StandardWebhook(previous, WebhookConfigurationOptions.StandardWebhooks).Verify(body.Replace("CA1", "CA2"), headers));
    }

    [Fact]
    public void Event_ids_carry_their_sequence_and_tag_and_nothing_else_parses()
    {
        var id = OutboxStore.EventId(12345, 0x0badf00d);
        Assert.Equal("evt_12345_0badf00d", id);
        Assert.Equal((12345L, 0x0badf00d), OutboxStore.ParseEventId(id));
        foreach (var bad in new[] { "evt_x_0badf00d", "evt_1_0bad", "evt_1_0badf00d_2", "msg_1_0badf00d", "evt_-1_0badf00d", "" })
            Assert.Null(OutboxStore.ParseEventId(bad));
    }

    [Fact]
    public void Hashes_match_the_published_vectors_of_google_and_meta()
    {
        // Google: gmail dots dropped, case and spaces normalised; E.164 with '+'. Meta: digits only.
        Assert.Equal("d6117306485ed0e50afab3ac871e98f81699151f30281527d63ff5f233656c69", ConversionHashing.GoogleEmail(" Jane.Doe@Gmail.com "));
        Assert.Equal("86e0b9e56c17cc4d12387e1949b85053fbe73bc3ce5a1188713a9d300cc6133d", ConversionHashing.GoogleEmail("jane.doe@example.com"));
        Assert.Equal("908e3ca64476e90c5ddb54c800e71345e218173f4289c7d43ec31a9f3c93e6a3", ConversionHashing.GooglePhone("+15125550199"));
        Assert.Equal("c9fdf3e8a3d229dc0dd11ad56ae66a2252ad03f140acd52f071f471f26bc3b74", ConversionHashing.MetaPhone("+15125550199"));
        Assert.Equal("e323ec626319ca94ee8bff2e4c87cf613be6ea19919ed1364124e16807ab3176", ConversionHashing.MetaPhone("+1 (650) 555-1212"));
    }

    [Theory]
    [InlineData("127.0.0.1", true)]
    [InlineData("10.1.2.3", true)]
    [InlineData("172.16.0.1", true)]
    [InlineData("172.32.0.1", false)]
    [InlineData("192.168.1.1", true)]
    [InlineData("169.254.169.254", true)]   // cloud metadata
    [InlineData("100.64.0.1", true)]
    [InlineData("0.0.0.0", true)]
    [InlineData("::1", true)]
    [InlineData("fe80::1", true)]
    [InlineData("fd00::1", true)]
    [InlineData("::ffff:10.0.0.1", true)]
    [InlineData("8.8.8.8", false)]
    [InlineData("2606:4700::1111", false)]
    public void Private_loopback_and_link_local_addresses_are_refused(string address, bool refused) =>
        Assert.Equal(refused, OutboundAddresses.IsPrivate(IPAddress.Parse(address)));

    [Theory]
    [InlineData("http://hooks.example.com/x", "must use https.")]
    [InlineData("https://127.0.0.1/x", "must not point at this machine or its network.")]
    [InlineData("https://localhost/x", "must not point at this machine or its network.")]
    [InlineData("https://10.0.0.5/x", "must not resolve to a private, loopback or link-local address.")]
    [InlineData("https://[fd00::5]/x", "must not resolve to a private, loopback or link-local address.")]
    [InlineData("https://user:pw@hooks.example.com/x", "must not carry a user name or password.")]
    [InlineData("ftp://hooks.example.com/x", "must be an absolute https URL.")]
    [InlineData("https://8.8.8.8/hook", null)]
    public async Task Destination_urls_must_be_https_to_public_addresses_unless_the_operator_allows_private_ones(string url, string? refusal)
    {
        Assert.Equal(refusal, await new OutboundAddresses(Options(allowPrivate: false)).RefuseAsync(url));
        if (!url.StartsWith("ftp") && !url.Contains('@')) Assert.Null(await new OutboundAddresses(Options(allowPrivate: true)).RefuseAsync(url));
    }

    [Fact]
    public async Task The_outbound_client_refuses_to_connect_to_a_private_address_without_the_operator_setting()
    {
        using var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var error = await Assert.ThrowsAsync<HttpRequestException>(() => new OutboundAddresses(Options(false)).Client.GetAsync($"http://127.0.0.1:{port}/"));
        Assert.Contains("private addresses", error.Message);
        Assert.False(listener.Pending());   // no connection was made
    }

    [Fact]
    public void A_call_change_yields_its_events_in_order_and_a_repeated_change_none()
    {
        var started = Call() with { Status = "ringing" };
        Assert.Equal([CallEvents.Started], CallEvents.Between(null, started));
        var ended = started with { EndedAt = started.StartedAt.AddSeconds(90), Answered = true, Qualified = true, DialEnded = true };
        Assert.Equal([CallEvents.Completed, CallEvents.Qualified], CallEvents.Between(started, ended));
        // Ended unanswered: a missed-call alert follows the completion, once; never for a test call.
        var missed = started with { EndedAt = started.StartedAt.AddSeconds(25), DialEnded = true };
        Assert.Equal([CallEvents.Completed, CallEvents.Missed], CallEvents.Between(started, missed));
        Assert.Empty(CallEvents.Between(missed, missed with { DurationSeconds = 30 }));
        var test = started with { Attribution = started.Attribution with { IsTest = true } };
        Assert.Equal([CallEvents.Completed], CallEvents.Between(test, test with { EndedAt = missed.EndedAt, DialEnded = true }));
        // The caller's leg ended before the dial's outcome came: neither completed nor missed until it does.
        var hungUp = started with { EndedAt = missed.EndedAt };
        Assert.Empty(CallEvents.Between(started, hungUp));
        Assert.Equal([CallEvents.Completed, CallEvents.Qualified], CallEvents.Between(hungUp, ended));
        Assert.Empty(CallEvents.Between(ended, ended));
        var sold = ended with { Outcome = "sale", Value = 250m };
        Assert.Equal([CallEvents.OutcomeSet], CallEvents.Between(ended, sold));
        Assert.Equal([CallEvents.RevenueChanged], CallEvents.Between(sold, sold with { Value = 300m }));
        Assert.Equal([CallEvents.OutcomeSet], CallEvents.Between(sold, sold with { Outcome = "appointment" }));
    }

    [Fact]
    public void Retries_follow_the_schedule_with_jitter_honour_retry_after_and_end_dead()
    {
        var options = Options(false);
        var at = DateTime.UtcNow;
        AttemptResult After(int attemptsBefore, TimeSpan? retryAfter = null) =>
            new(new OutboxEvent(1, "evt_1", "call.started", at, "{}", attemptsBefore, at), at, 500, 3, "HTTP 500", null, retryAfter);
        for (var i = 0; i < options.RetrySchedule.Count; i++)
        {
            var delay = OutboxStore.NextAttempt(After(i), options)!.Value - at;
            Assert.InRange(delay.TotalSeconds, options.RetrySchedule[i].TotalSeconds * 0.9, options.RetrySchedule[i].TotalSeconds * 1.1);
        }
        Assert.Null(OutboxStore.NextAttempt(After(options.RetrySchedule.Count), options));   // spent: dead
        Assert.True(OutboxStore.NextAttempt(After(0, TimeSpan.FromMinutes(2)), options)!.Value - at >= TimeSpan.FromMinutes(2));
        // The standard schedule retries for more than 24 hours before giving up.
        Assert.True(options.RetrySchedule.Aggregate(TimeSpan.Zero, (sum, d) => sum + d) > TimeSpan.FromHours(24));
    }

    private static OutboundOptions Options(bool allowPrivate) =>
        new(allowPrivate, OutboundOptions.StandardSchedule, TimeSpan.FromHours(72), 100, 16, TimeSpan.FromSeconds(5));

    private static CallRecord Call() => new()
    {
        CallId = "CA1", TenantId = "t", AccountSid = "AC1", TrackingNumber = "+15125550100", Caller = "+15125550199",
        StartedAt = DateTime.UtcNow, Status = "ringing", Routing = new CallRouting("dial", "open", "+15125550101", "", false, null),
        Attribution = new CallAttribution("pool", "p", null, "austin", "google", "cpc", null, null, null, null, null, null, false),
    };
}
