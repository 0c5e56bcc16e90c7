using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Logging.Console;

namespace CallMesh.Telemetry;

/// <summary>
/// One JSON object per line: time, level, category, message, the current trace and span ids, the message's named values and
/// the exception, every text passed through <see cref="Redaction"/>. (.NET's own JSON console formatter writes state as it
/// is, so it cannot keep phone numbers out.)
/// </summary>
public sealed class JsonLogFormatter() : ConsoleFormatter(FormatterName)
{
    public const string FormatterName = "callmesh-json";

    // Readable: '+', '<' and quotes in messages stay as they are instead of \u002B escapes (the output is a log, not HTML).
    private static readonly JsonWriterOptions Options = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public override void Write<TState>(in LogEntry<TState> entry, IExternalScopeProvider? scopeProvider, TextWriter textWriter)
    {
        var message = entry.Formatter(entry.State, entry.Exception);
        if (string.IsNullOrEmpty(message) && entry.Exception is null) return;
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var json = new Utf8JsonWriter(buffer, Options))
        {
            json.WriteStartObject();
            json.WriteString("time", DateTime.UtcNow.ToString("O", CultureInfo.InvariantCulture));
            json.WriteString("level", entry.LogLevel.ToString());
            json.WriteString("category", entry.Category);
            json.WriteString("message", Redaction.Redact(message));
            if (Activity.Current is { } activity)
            {
                json.WriteString("traceId", activity.TraceId.ToHexString());
                json.WriteString("spanId", activity.SpanId.ToHexString());
            }
            if (entry.State is IReadOnlyList<KeyValuePair<string, object?>> values && values.Count > 1)
            {
                json.WriteStartObject("values");
                foreach (var (key, value) in values)
                    if (key != "{OriginalFormat}")
                        json.WriteString(key, Redaction.Redact(Convert.ToString(value, CultureInfo.InvariantCulture) ?? ""));
                json.WriteEndObject();
            }
            if (entry.Exception is { } exception) json.WriteString("exception", Redaction.Redact(exception.ToString()));
            json.WriteEndObject();
        }
        textWriter.Write(System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan));
        textWriter.Write('\n');
    }
}
