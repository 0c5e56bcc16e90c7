using System.Net;
using System.Text;
using CallMesh.Gateway.Proxy;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Yarp.ReverseProxy.Forwarder;

namespace CallMesh.Tests.Gateway;

/// <summary>
/// YARP's forwarder, as the gateway runs it, with a connection stand-in that records what the request content
/// does to the connection's stream: a flush before the body is the separate send of the headers.
/// </summary>
public sealed class SmallBodiesInOneWriteTests
{
    [Fact]
    public async Task A_small_body_goes_out_in_one_write_with_no_flush_before_it()
    {
        var body = Encoding.UTF8.GetBytes("""{"siteKey":"site_1","url":"https://example.com/locations/austin","targets":["5125550100"]}""");

        Assert.Equal([$"write {body.Length}"], await ForwardAsync(body, buffered: true));
        // The control: YARP's own content flushes the headers first, which is what the handler avoids.
        Assert.Equal("flush", (await ForwardAsync(body, buffered: false))[0]);
    }

    [Fact]
    public async Task A_body_over_the_limit_keeps_streaming()
    {
        var body = new byte[SmallBodiesInOneWrite.MaxBufferedBytes + 1];
        var operations = await ForwardAsync(body, buffered: true);
        Assert.Equal("flush", operations[0]);
        Assert.Equal(body.Length, operations.Skip(1).Where(o => o.StartsWith("write ")).Sum(o => int.Parse(o[6..])));
    }

    [Fact]
    public async Task A_refused_connection_is_still_a_request_error_that_the_gateway_retries_with_the_whole_body()
    {
        var body = Encoding.UTF8.GetBytes("""{"siteKey":"site_1","url":"https://example.com/","targets":["5125550100"]}""");
        await using var services = Forwarding();
        var http = Post(services, body);
        var forwarder = services.GetRequiredService<IHttpForwarder>();

        // The body is read before the connection is tried; the failure must still read as "never reached a silo",
        // which is what RetryOnSiloFailure retries a POST on.
        var refused = new SmallBodiesInOneWrite.BufferSmallBody { InnerHandler = new RefusingConnection() };
        Assert.Equal(ForwarderError.Request, await forwarder.SendAsync(http, "http://silo.test/", new HttpMessageInvoker(refused), ForwarderRequestConfig.Empty));
        Assert.Equal(HttpRequestError.ConnectionError,
            Assert.IsType<HttpRequestException>(http.Features.Get<IForwarderErrorFeature>()!.Exception).HttpRequestError);

        // The retry, as RetryOnSiloFailure makes it: the request body from its start, to the next silo.
        http.Features.Set<IForwarderErrorFeature>(null);
        http.Response.StatusCode = StatusCodes.Status200OK;
        http.Request.Body.Position = 0;
        var next = new RecordingConnection();
        var again = new SmallBodiesInOneWrite.BufferSmallBody { InnerHandler = next };
        Assert.Equal(ForwarderError.None, await forwarder.SendAsync(http, "http://silo.test/", new HttpMessageInvoker(again), ForwarderRequestConfig.Empty));
        Assert.Equal([$"write {body.Length}"], next.Operations);
    }

    private static ServiceProvider Forwarding() => new ServiceCollection().AddLogging().AddHttpForwarder().BuildServiceProvider();

    private static DefaultHttpContext Post(IServiceProvider services, byte[] body)
    {
        var http = new DefaultHttpContext { RequestServices = services };
        http.Request.Method = "POST";
        http.Request.Path = "/v1/dni/sessions";
        http.Request.ContentType = "text/plain; charset=utf-8";
        http.Request.ContentLength = body.Length;
        http.Request.Body = new MemoryStream(body);
        http.Response.Body = new MemoryStream();
        return http;
    }

    private static async Task<List<string>> ForwardAsync(byte[] body, bool buffered)
    {
        await using var services = Forwarding();
        var http = Post(services, body);
        var connection = new RecordingConnection();
        HttpMessageHandler handler = buffered ? new SmallBodiesInOneWrite.BufferSmallBody { InnerHandler = connection } : connection;
        var error = await services.GetRequiredService<IHttpForwarder>()
            .SendAsync(http, "http://silo.test/", new HttpMessageInvoker(handler), ForwarderRequestConfig.Empty);

        Assert.Equal(ForwarderError.None, error);
        Assert.Equal(StatusCodes.Status200OK, http.Response.StatusCode);
        return connection.Operations;
    }

    /// <summary>A silo that is down: the connection is refused before anything is sent.</summary>
    private sealed class RefusingConnection : HttpMessageHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
            throw new HttpRequestException(HttpRequestError.ConnectionError, "Connection refused");
    }

    /// <summary>Copies the request content as an HTTP/1.1 connection does, and records the stream calls.</summary>
    private sealed class RecordingConnection : HttpMessageHandler
    {
        public List<string> Operations { get; } = [];

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            await request.Content!.CopyToAsync(new RecordingStream(Operations), cancellationToken);
            return new HttpResponseMessage(HttpStatusCode.OK) { Content = new ByteArrayContent([]) };
        }
    }

    private sealed class RecordingStream(List<string> operations) : Stream
    {
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() => operations.Add("flush");
        public override Task FlushAsync(CancellationToken cancellationToken) { Flush(); return Task.CompletedTask; }
        public override void Write(byte[] buffer, int offset, int count) => operations.Add($"write {count}");
        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            operations.Add($"write {buffer.Length}");
            return ValueTask.CompletedTask;
        }
        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        {
            Write(buffer, offset, count);
            return Task.CompletedTask;
        }
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
