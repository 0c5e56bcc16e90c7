using System.Collections.Concurrent;
using System.Net;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace CallMesh.Tests.Infrastructure;

/// <summary>A span as a collector receives it from any of the processes.</summary>
public sealed record ReceivedSpan(string Service, string Scope, string TraceId, string SpanId, string? ParentSpanId, string Name, int Kind,
    Dictionary<string, string> Attributes);

/// <summary>
/// An OpenTelemetry collector's OTLP/HTTP endpoint on a loopback port: the silos and the gateway export their spans here with
/// their real OTLP exporter (OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf), and it decodes ExportTraceServiceRequest's protobuf
/// (opentelemetry-proto trace/v1: the few fields a test reads). Metric exports to /v1/metrics are kept raw.
/// </summary>
public sealed class OtlpReceiver : IAsyncDisposable
{
    private WebApplication? _app;

    public int Port { get; } = Ports.Free();
    public string Endpoint => $"http://127.0.0.1:{Port}";
    public ConcurrentQueue<ReceivedSpan> Spans { get; } = new();

    /// <summary>The metric exports received, raw (ExportMetricsServiceRequest protobuf).</summary>
    public ConcurrentQueue<byte[]> MetricExports { get; } = new();

    /// <summary>The variables that send a process's traces here, quickly.</summary>
    public Dictionary<string, string> ExporterSettings() => new()
    {
        ["OTEL_EXPORTER_OTLP_ENDPOINT"] = Endpoint,
        ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
        ["OTEL_BSP_SCHEDULE_DELAY"] = "200",
        ["OTEL_METRIC_EXPORT_INTERVAL"] = "1000",
    };

    public static async Task<OtlpReceiver> StartAsync()
    {
        var receiver = new OtlpReceiver();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, receiver.Port));
        var app = builder.Build();
        app.MapPost("/v1/traces", async (HttpRequest request) =>
        {
            using var body = new MemoryStream();
            await request.Body.CopyToAsync(body);
            foreach (var span in Decode(body.ToArray())) receiver.Spans.Enqueue(span);
            return Results.Ok();
        });
        app.MapPost("/v1/metrics", async (HttpRequest request) =>
        {
            using var body = new MemoryStream();
            await request.Body.CopyToAsync(body);
            receiver.MetricExports.Enqueue(body.ToArray());
            return Results.Ok();
        });
        await app.StartAsync();
        receiver._app = app;
        return receiver;
    }

    /// <summary>Waits until a trace holds what <paramref name="complete"/> asks; returns that trace's spans.</summary>
    public async Task<List<ReceivedSpan>> TraceAsync(Func<List<ReceivedSpan>, bool> complete, TimeSpan? patience = null)
    {
        var wait = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            var trace = Spans.GroupBy(s => s.TraceId).Select(g => g.ToList()).FirstOrDefault(complete);
            if (trace is not null) return trace;
            Assert.True(wait.Elapsed < (patience ?? TimeSpan.FromSeconds(20)),
                $"no trace as expected among {Spans.Count} spans: " +
                string.Join(" | ", Spans.GroupBy(s => s.TraceId).Take(8).Select(g => string.Join(", ", g.Select(s => $"{s.Service}:{s.Scope}:{s.Name}")))));
            await Task.Delay(100);
        }
    }

    // ------------------------------------------------------------------ protobuf wire format

    private static IEnumerable<ReceivedSpan> Decode(byte[] request)
    {
        foreach (var resourceSpans in Fields(request).Where(f => f.Number == 1).Select(f => f.Bytes!))
        {
            var service = "";
            var scopes = new List<byte[]>();
            foreach (var field in Fields(resourceSpans))
            {
                if (field.Number == 1) service = Attributes(Fields(field.Bytes!).Where(f => f.Number == 1)).GetValueOrDefault("service.name", "");
                else if (field.Number == 2) scopes.Add(field.Bytes!);
            }
            foreach (var scopeSpans in scopes)
            {
                var scope = "";
                foreach (var field in Fields(scopeSpans))
                {
                    if (field.Number == 1)
                        scope = Fields(field.Bytes!).Where(f => f.Number == 1).Select(f => Encoding.UTF8.GetString(f.Bytes!)).FirstOrDefault() ?? "";
                    else if (field.Number == 2) yield return Span(service, scope, field.Bytes!);
                }
            }
        }
    }

    private static ReceivedSpan Span(string service, string scope, byte[] span)
    {
        string traceId = "", spanId = "", name = "";
        string? parent = null;
        var kind = 0;
        var attributes = new List<Field>();
        foreach (var field in Fields(span))
        {
            switch (field.Number)
            {
                case 1: traceId = Convert.ToHexStringLower(field.Bytes!); break;
                case 2: spanId = Convert.ToHexStringLower(field.Bytes!); break;
                case 4 when field.Bytes!.Length > 0: parent = Convert.ToHexStringLower(field.Bytes!); break;
                case 5: name = Encoding.UTF8.GetString(field.Bytes!); break;
                case 6: kind = (int)field.Value; break;
                case 9: attributes.Add(field); break;
            }
        }
        return new(service, scope, traceId, spanId, parent, name, kind, Attributes(attributes));
    }

    /// <summary>KeyValue { key = 1; AnyValue value = 2 } with AnyValue's string (1), bool (2), int (3) or double (4).</summary>
    private static Dictionary<string, string> Attributes(IEnumerable<Field> keyValues)
    {
        var result = new Dictionary<string, string>();
        foreach (var keyValue in keyValues)
        {
            string? key = null, value = null;
            foreach (var field in Fields(keyValue.Bytes!))
            {
                if (field.Number == 1) key = Encoding.UTF8.GetString(field.Bytes!);
                else if (field.Number == 2)
                    foreach (var any in Fields(field.Bytes!))
                        value = any.Number switch
                        {
                            1 => Encoding.UTF8.GetString(any.Bytes!),
                            2 or 3 => any.Value.ToString(),
                            4 => BitConverter.Int64BitsToDouble((long)any.Value).ToString(System.Globalization.CultureInfo.InvariantCulture),
                            _ => value,
                        };
            }
            if (key is not null) result[key] = value ?? "";
        }
        return result;
    }

    private readonly record struct Field(int Number, ulong Value, byte[]? Bytes);

    private static List<Field> Fields(byte[] message)
    {
        var fields = new List<Field>();
        var position = 0;
        while (position < message.Length)
        {
            var tag = Varint(message, ref position);
            var (number, wireType) = ((int)(tag >> 3), (int)(tag & 7));
            switch (wireType)
            {
                case 0: fields.Add(new(number, Varint(message, ref position), null)); break;
                case 1: fields.Add(new(number, BitConverter.ToUInt64(message, position), null)); position += 8; break;
                case 2:
                    var length = (int)Varint(message, ref position);
                    fields.Add(new(number, 0, message[position..(position + length)]));
                    position += length;
                    break;
                case 5: fields.Add(new(number, BitConverter.ToUInt32(message, position), null)); position += 4; break;
                default: throw new InvalidDataException($"protobuf wire type {wireType}");
            }
        }
        return fields;
    }

    private static ulong Varint(byte[] message, ref int position)
    {
        ulong value = 0;
        for (var shift = 0; ; shift += 7)
        {
            var b = message[position++];
            value |= (ulong)(b & 0x7f) << shift;
            if (b < 0x80) return value;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null) await _app.DisposeAsync();
    }
}
