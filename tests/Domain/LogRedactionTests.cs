using System.Diagnostics;
using System.Text.Json;
using CallMesh.Telemetry;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace CallMesh.Tests.Domain;

/// <summary>Logs and spans keep callers' numbers and credentials out (service-defaults/Telemetry).</summary>
public sealed class LogRedactionTests
{
    [Theory]
    [InlineData("call from +14155550142 to +15125550180", "call from +*********42 to +*********80")]
    [InlineData("caller/bluebonnet/+14155550142", "caller/bluebonnet/+*********42")]
    [InlineData("dialed 5125550180 twice", "dialed ********80 twice")]
    [InlineData("Authorization: Bearer eyJhbGciOi.eyJzdWIi.c2lnbmF0dXJl", "Authorization: Bear…[redacted]")]
    [InlineData("key cmk_k1_0123456789abcdef used", "key cmk_…[redacted] used")]
    [InlineData("secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "secret whse…[redacted]")]
    public void Numbers_and_credentials_are_masked(string text, string logged) => Assert.Equal(logged, Redaction.Redact(text));

    [Theory]
    [InlineData("CA0000000000000000000000000000002a")]            // a call SID's digits are part of it
    [InlineData("0193a8f2-5b7e-7c2d-9a4b-0123456789ab")]         // so are a GUID's
    [InlineData("took 1234 ms at 2026-12-04T15:18:02Z")]
    public void Identifiers_and_figures_stay_readable(string text) => Assert.Equal(text, Redaction.Redact(text));

    [Fact]
    public void A_log_line_is_one_JSON_object_with_the_trace_and_masked_values()
    {
        using var source = new ActivitySource("test-redaction");
        using var listener = new ActivityListener
        {
            ShouldListenTo = s => s.Name == source.Name,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
        };
        ActivitySource.AddActivityListener(listener);
        using var activity = source.StartActivity("request")!;

        var state = new List<KeyValuePair<string, object?>>
        {
            new("CallId", "CA0000000000000000000000000000002a"), new("From", "+14155550142"),
            new("{OriginalFormat}", "Call {CallId} from {From}"),
        };
        var writer = new StringWriter();
        new JsonLogFormatter().Write(new LogEntry<List<KeyValuePair<string, object?>>>(LogLevel.Warning, "CallMesh.Test", new EventId(1), state,
            new InvalidOperationException("number +14155550142 refused"), (_, _) => "Call CA0000000000000000000000000000002a from +14155550142"),
            null, writer);

        var line = writer.ToString();
        Assert.EndsWith("\n", line);
        Assert.DoesNotContain("4155550142", line);
        var entry = JsonDocument.Parse(line).RootElement;
        Assert.Equal("Warning", entry.GetProperty("level").GetString());
        Assert.Equal("Call CA0000000000000000000000000000002a from +*********42", entry.GetProperty("message").GetString());
        Assert.Equal(activity.TraceId.ToHexString(), entry.GetProperty("traceId").GetString());
        Assert.Equal(activity.SpanId.ToHexString(), entry.GetProperty("spanId").GetString());
        Assert.Equal("+*********42", entry.GetProperty("values").GetProperty("From").GetString());
        Assert.Contains("number +*********42 refused", entry.GetProperty("exception").GetString());
    }

    [Fact]
    public void Spans_leave_with_numbers_masked_in_their_names_and_tags()
    {
        var activity = new Activity("ICallerGrain/+14155550142").SetTag("rpc.orleans.target_id", "caller/bluebonnet/+14155550142").SetTag("count", 3);
        activity.DisplayName = "ICallerGrain/+14155550142";
        new RedactingProcessor().OnEnd(activity);
        Assert.Equal("ICallerGrain/+*********42", activity.DisplayName);
        Assert.Equal("caller/bluebonnet/+*********42", activity.GetTagItem("rpc.orleans.target_id"));
        Assert.Equal(3, activity.GetTagItem("count"));
    }
}
