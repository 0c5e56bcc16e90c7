using System.Net;
using System.Text;
using CallMesh.Gateway.Proxy;
using CallMesh.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Yarp.ReverseProxy.Configuration;

namespace CallMesh.Tests.Gateway;

/// <summary>
/// The gateway's retry step in YARP's real proxy pipeline, over real HTTP, in front of stand-in silos: a killed silo
/// drops the connection of a request it had read, which a test cannot time with a real kill.
/// </summary>
public sealed class RetryOnSiloFailureTests
{
    [Fact]
    public async Task A_POST_whose_silo_dies_before_answering_is_a_503_to_send_again_and_is_not_sent_to_another_silo()
    {
        var answered = 0;
        await using var dying = await Server(app => app.Run(http => { http.Abort(); return Task.CompletedTask; }));
        await using var healthy = await Server(app => app.Run(http => { Interlocked.Increment(ref answered); return http.Response.WriteAsync("answered"); }));
        await using var gateway = await Gateway(Url(dying), Url(healthy));
        using var client = new HttpClient { BaseAddress = new Uri(Url(gateway)) };

        using var response = await client.PostAsync("/v1/dni/sessions?siteKey=site_1",
            new StringContent("""{"siteKey":"site_1","url":"https://example.com/","targets":["5125550100"]}""", Encoding.UTF8, "text/plain"));

        await ProblemAssert.Is(response, HttpStatusCode.ServiceUnavailable, "temporarily-unavailable");
        Assert.Equal("1", response.Headers.GetValues("Retry-After").Single());
        // It may have taken effect on the silo that died, so it is not sent again.
        Assert.Equal(0, answered);
    }

    [Fact]
    public async Task A_carrier_webhook_whose_silo_dies_before_answering_goes_to_the_next_silo_with_its_body()
    {
        var bodies = new List<string>();
        await using var dying = await Server(app => app.Run(async http =>
        {
            await new StreamReader(http.Request.Body).ReadToEndAsync();
            http.Abort();
        }));
        await using var healthy = await Server(app => app.Run(async http =>
        {
            bodies.Add(await new StreamReader(http.Request.Body).ReadToEndAsync());
            await http.Response.WriteAsync("<Response><Dial/></Response>");
        }));
        await using var gateway = await Gateway(Url(dying), Url(healthy));
        using var client = new HttpClient { BaseAddress = new Uri(Url(gateway)) };

        using var response = await client.PostAsync("/v1/voice/twilio/inbound",
            new FormUrlEncodedContent(new Dictionary<string, string> { ["CallSid"] = "CA1", ["To"] = "+15125550180" }));

        // The caller hears the next silo's answer: the webhook is idempotent by its call id.
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("<Response><Dial/></Response>", await response.Content.ReadAsStringAsync());
        Assert.Equal(["CallSid=CA1&To=%2B15125550180"], bodies);
    }

    [Fact]
    public async Task A_GET_whose_silo_dies_goes_to_the_next_silo()
    {
        await using var dying = await Server(app => app.Run(http => { http.Abort(); return Task.CompletedTask; }));
        await using var healthy = await Server(app => app.Run(http => http.Response.WriteAsync("answered")));
        await using var gateway = await Gateway(Url(dying), Url(healthy));
        using var client = new HttpClient { BaseAddress = new Uri(Url(gateway)) };

        using var response = await client.GetAsync("/v1/tenants/t1/locations");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("answered", await response.Content.ReadAsStringAsync());
    }

    /// <summary>
    /// The gateway's proxy pipeline (gateway/Program.cs) over the given silos, without health checks. Every request
    /// goes to the first silo first (it is named first), so the retry step always meets the dying one.
    /// </summary>
    private static Task<WebApplication> Gateway(params string[] silos) => Server(app =>
        app.MapReverseProxy(pipeline =>
        {
            pipeline.Use(RetryOnSiloFailure.Invoke);
            pipeline.UseLoadBalancing();
        }),
        services =>
        {
            services.AddProblemDetails();
            services.AddReverseProxy().LoadFromMemory(
                [new RouteConfig { RouteId = "all", ClusterId = "silos", Match = new RouteMatch { Path = "{**rest}" } }],
                [new ClusterConfig
                {
                    ClusterId = "silos",
                    LoadBalancingPolicy = Yarp.ReverseProxy.LoadBalancing.LoadBalancingPolicies.FirstAlphabetical,
                    Destinations = silos.Select((url, i) => (url, i)).ToDictionary(d => $"silo-{d.i}", d => new DestinationConfig { Address = d.url }),
                }]);
        });

    private static async Task<WebApplication> Server(Action<WebApplication> map, Action<IServiceCollection>? services = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        services?.Invoke(builder.Services);
        var app = builder.Build();
        map(app);
        await app.StartAsync();
        return app;
    }

    private static string Url(WebApplication app) =>
        app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
}
