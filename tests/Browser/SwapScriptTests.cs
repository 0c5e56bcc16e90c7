using System.Text.RegularExpressions;
using CallMesh.Tests.Api;
using CallMesh.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Playwright;

namespace CallMesh.Tests.Browser;

/// <summary>
/// The swap script in a real browser (Debian's chromium, driven by Playwright) on a brand's page
/// served from another origin than the gateway, against a real cluster with the demo brand.
/// </summary>
[Collection(ProcessTests.Name)]
public sealed class SwapScriptTests(ApiFixture fixture) : IClassFixture<ApiFixture>, IAsyncLifetime
{
    private static readonly string[] Untouchable = ["script[type='application/ld+json']", "#microdata", "#noswap", "#field", "#notes", "#tpl", "#other", "head style"];

    private WebApplication _site = null!;
    private string _origin = null!;
    private IPlaywright _playwright = null!;
    private IBrowser _browser = null!;

    public async Task InitializeAsync()
    {
        var port = Ports.Free();
        _origin = $"http://127.0.0.1:{port}";
        var html = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Browser", "location-page.html"))
            .Replace("{{GATEWAY}}", fixture.Cluster.Gateway.ToString().TrimEnd('/'));
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls(_origin);
        _site = builder.Build();
        _site.MapGet("/locations/{**page}", () => Results.Content(html, "text/html; charset=utf-8"));
        var allLocations = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Browser", "all-locations.html"))
            .Replace("{{GATEWAY}}", fixture.Cluster.Gateway.ToString().TrimEnd('/'));
        _site.MapGet("/all-locations", () => Results.Content(allLocations, "text/html; charset=utf-8"));
        await _site.StartAsync();

        _playwright = await Playwright.CreateAsync();
        _browser = await Chromium.LaunchAsync(_playwright);
    }

    public async Task DisposeAsync()
    {
        await _browser.DisposeAsync();
        _playwright.Dispose();
        await _site.DisposeAsync();
    }

    /// <summary>The DOM as the browser builds it from the page source, with no script run: the reference for "unchanged".</summary>
    private async Task<Dictionary<string, string>> UntouchedDom(string path)
    {
        await using var context = await _browser.NewContextAsync(new() { JavaScriptEnabled = false });
        var page = await context.NewPageAsync();
        await page.GotoAsync(_origin + path);
        return await OuterHtml(page);
    }

    private static async Task<Dictionary<string, string>> OuterHtml(IPage page)
    {
        var result = new Dictionary<string, string>();
        foreach (var selector in Untouchable) result[selector] = await page.Locator(selector).EvaluateAsync<string>("e => e.outerHTML");
        return result;
    }

    [Fact]
    public async Task Visible_numbers_are_swapped_in_their_own_format_and_the_canonical_NAP_stays_byte_for_byte()
    {
        const string path = "/locations/austin-downtown?gclid=BROWSER1";
        var reference = await UntouchedDom(path);
        await using var context = await _browser.NewContextAsync();
        var page = await context.NewPageAsync();
        var allocations = 0;
        page.Request += (_, request) =>
        {
            if (request.Method == "POST" && request.Url.Contains("/v1/dni/sessions?")) Interlocked.Increment(ref allocations);
        };

        await page.GotoAsync(_origin + path);
        await page.WaitForFunctionAsync("() => document.querySelector('#main-link').textContent !== '(512) 555-0101'");

        var number = (await page.GetAttributeAsync("#main-link", "href"))!["tel:".Length..];
        Assert.Matches(@"^\+1512555011\d$", number);
        var last4 = number[^4..];
        Assert.Equal($"(512) 555-{last4}", await page.TextContentAsync("#main-link"));
        Assert.Equal($"Or text-free dial 512.555.{last4} any time.", await page.TextContentAsync("#dotted"));
        Assert.Equal($"International: +1 512 555 {last4}", await page.TextContentAsync("#plus"));
        Assert.Equal($"Compact 512555{last4}", await page.TextContentAsync("#compact"));
        Assert.Equal($"Brand line: 1-512-555-{last4}", await page.TextContentAsync("#brand"));   // Austin's page: Austin's number, the line's own format

        var swapped = await OuterHtml(page);   // JSON-LD, microdata, no-swap, form fields, template, style, other numbers
        foreach (var (selector, html) in reference) Assert.True(html == swapped[selector], $"{selector} changed:\n{html}\n{swapped[selector]}");
        // With scripting on, a browser keeps <noscript> as raw text: it must still be the source's.
        Assert.Equal("Call 512-555-0101", await page.Locator("#ns").EvaluateAsync<string>("e => e.textContent"));
        Assert.Equal(1, allocations);

        // A single-page app adds content later and asks for a re-scan: same number, no new allocation.
        await page.EvaluateAsync("""
            () => { const p = document.createElement('p'); p.id = 'late'; p.textContent = 'Call (512) 555-0101 today';
                    document.querySelector('#spa').appendChild(p); return CallMesh.swap(document.querySelector('#spa')); }
            """);
        Assert.Equal($"Call (512) 555-{last4} today", await page.TextContentAsync("#late"));
        Assert.Equal(number, await page.EvaluateAsync<string>("() => CallMesh.getNumbers().then(s => s.swaps['+15125550101'].number)"));

        // A second page view in the same session reuses the stored assignment: no allocation request.
        await page.GotoAsync(_origin + "/locations/austin-downtown/services");
        await page.WaitForFunctionAsync("() => document.querySelector('#main-link').textContent !== '(512) 555-0101'");
        Assert.Equal($"(512) 555-{last4}", await page.TextContentAsync("#main-link"));
        Assert.Equal(1, allocations);
    }

    [Fact]
    public async Task Refused_by_an_outage_the_page_keeps_its_own_numbers_and_the_script_asks_again_later()
    {
        await using var context = await _browser.NewContextAsync();
        await context.Clock.InstallAsync();
        var page = await context.NewPageAsync();
        var refusals = 0;
        // The answer every silo gives while PostgreSQL is down (CallsAlwaysRingTests): once, then the real gateway.
        await page.RouteAsync("**/v1/dni/sessions?*", async route =>
        {
            if (Interlocked.Increment(ref refusals) > 1) { await route.ContinueAsync(); return; }
            await route.FulfillAsync(new()
            {
                Status = 503, ContentType = "application/problem+json", Headers = new Dictionary<string, string> { ["Retry-After"] = "1" },
                Body = """{"status":503,"code":"temporarily-unavailable"}""",
            });
        });

        await page.GotoAsync(_origin + "/locations/austin-downtown");
        await page.WaitForFunctionAsync("() => CallMesh !== undefined");
        await page.Clock.RunForAsync(1000);
        Assert.Equal(1, refusals);
        Assert.Equal("(512) 555-0101", await page.TextContentAsync("#main-link"));   // the location's own number rings the location

        await page.Clock.FastForwardAsync("00:06");
        await page.WaitForFunctionAsync("() => document.querySelector('#main-link').textContent !== '(512) 555-0101'");
        Assert.Equal(2, refusals);
        Assert.Matches(new Regex(@"^tel:\+1512555011\d$"), (await page.GetAttributeAsync("#main-link", "href"))!);
    }

    [Fact]
    public async Task A_new_visitor_gets_a_different_number_and_a_test_session_is_flagged()
    {
        await using var first = await _browser.NewContextAsync();
        await using var second = await _browser.NewContextAsync();
        var a = await first.NewPageAsync();
        var b = await second.NewPageAsync();

        await a.GotoAsync(_origin + "/locations/austin-downtown");
        await b.GotoAsync(_origin + "/locations/austin-downtown?callmesh_test=1");
        foreach (var page in new[] { a, b })
            await page.WaitForFunctionAsync("() => document.querySelector('#main-link').textContent !== '(512) 555-0101'");

        Assert.NotEqual(await a.GetAttributeAsync("#main-link", "href"), await b.GetAttributeAsync("#main-link", "href"));
        var testVisitor = await b.EvaluateAsync<string>("() => CallMesh.getNumbers().then(s => s.visitorId)");
        Assert.True(await fixture.Database.Scalar<bool>(
            "SELECT bool_and(is_test) FROM callmesh.dni_sessions WHERE visitor_id = $1", Guid.Parse(testVisitor)));
        Assert.Matches(new Regex(@"^tel:\+1512555011\d$"), (await a.GetAttributeAsync("#main-link", "href"))!);
    }

    [Fact]
    public async Task On_an_all_locations_page_each_locations_number_is_swapped_from_its_own_pool()
    {
        using var demo = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Repo.DemoBrandFile));
        var poolOf = demo.RootElement.GetProperty("pools").EnumerateArray().ToDictionary(
            p => p.TryGetProperty("location", out var l) && l.ValueKind == System.Text.Json.JsonValueKind.String ? l.GetString()! : "(brand)",
            p => p.GetProperty("numbers").EnumerateArray().Select(n => n.GetString()!).ToHashSet());
        await using var context = await _browser.NewContextAsync();
        var page = await context.NewPageAsync();

        await page.GotoAsync(_origin + "/all-locations");
        await page.WaitForFunctionAsync("() => !document.querySelector('#brand').textContent.includes('800-555-0100')");

        foreach (var location in new[] { "austin-downtown", "plano", "katy" })
        {
            var number = (await page.GetAttributeAsync($"#{location} a", "href"))!["tel:".Length..];
            Assert.True(poolOf[location].Contains(number), $"{location} shows {number}, which is not from its pool");
            var digits = number[2..];   // +1AAANNNXXXX → AAANNNXXXX, shown in the page's own format
            var expected = location == "plano" ? $"{digits[..3]}-{digits[3..6]}-{digits[6..]}" : $"({digits[..3]}) {digits[3..6]}-{digits[6..]}";
            Assert.Equal(expected, await page.TextContentAsync($"#{location} a"));
        }
        var brand = Regex.Match((await page.TextContentAsync("#brand"))!, @"1-(\d{3})-(\d{3})-(\d{4})");
        Assert.Contains($"+1{brand.Groups[1]}{brand.Groups[2]}{brand.Groups[3]}", poolOf["(brand)"]);
    }
}
