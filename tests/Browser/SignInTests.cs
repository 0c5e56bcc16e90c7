using System.Net;
using System.Security.Cryptography;
using System.Text.Json;
using CallMesh.Silo.Demo;
using CallMesh.Tests.Api;
using CallMesh.Tests.Infrastructure;
using Microsoft.Playwright;

namespace CallMesh.Tests.Browser;

/// <summary>
/// The demo brand behind a gateway with company sign-in against a real OpenID Connect provider (npm oidc-provider), whose
/// tokens live 5 s so that refreshes happen within a test; and Debian's chromium.
/// </summary>
public sealed class SignInFixture : IAsyncLifetime
{
    public const int TokenSeconds = 5;
    private IPlaywright _playwright = null!;
    public TestDatabase Database { get; } = new();
    public ProcessCluster Cluster { get; private set; } = null!;
    public OidcProvider Provider { get; private set; } = null!;
    public IBrowser Browser { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        await Database.InitializeAsync();
        var providerPort = Ports.Free();
        var secret = Convert.ToHexString(RandomNumberGenerator.GetBytes(16));
        var silo = new Dictionary<string, string> { ["CALLMESH_AUTH__SESSIONSIGNINGKEYHEX"] = Convert.ToHexString(RandomNumberGenerator.GetBytes(32)) };
        var gateway = new Dictionary<string, string>(silo)
        {
            ["CALLMESH_OIDC__AUTHORITY"] = $"http://127.0.0.1:{providerPort}",
            ["CALLMESH_OIDC__CLIENTID"] = "callmesh-dashboard",
            ["CALLMESH_OIDC__CLIENTSECRET"] = secret,
            ["CALLMESH_OIDC__SCOPES"] = "openid profile offline_access callmesh",
            // The directory's own words: a group for the brand's admins and one for Katy's staff; CallMesh role names pass.
            ["CALLMESH_OIDC__ROLECLAIM"] = "callmesh_role",
            ["CALLMESH_OIDC__ROLEMAP"] = "Bluebonnet Admins=brand-admin; katy-staff=location-manager",
        };
        Cluster = await ProcessCluster.StartAsync(Database.ConnectionString, silos: 1, gatewaySettings: gateway, siloSettings: silo);
        await DemoSeeder.SeedAsync(Cluster.Http, Cluster.SigningKeyHex, Repo.DemoBrandFile);
        var dashboard = new Uri(Cluster.Http.BaseAddress!, "/dashboard/").ToString();
        Provider = await OidcProvider.StartAsync(providerPort, "callmesh-dashboard", secret, dashboard + "signin-oidc", dashboard,
            new Dictionary<string, object>
            {
                ["ann"] = new { name = "Ann Admin", tenant = "bluebonnet", callmesh_role = new[] { "Bluebonnet Admins", "Everyone" } },
                ["kim"] = new { name = "Kim Katy", tenant = "bluebonnet", callmesh_role = new[] { "katy-staff" }, locations = new[] { "katy" } },
                ["nora"] = new { name = "Nora Nobody", tenant = "bluebonnet", callmesh_role = new[] { "Everyone" } },
                ["rita"] = new { name = "Rita Regional", tenant = "bluebonnet", callmesh_role = "brand-admin" },
            }, TokenSeconds);
        // The gateway reaches the provider: its first challenge reads the provider's metadata and redirects there.
        using (var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = Cluster.Http.BaseAddress, Timeout = TimeSpan.FromSeconds(60) })
        using (var challenge = await http.GetAsync("/dashboard/sign-in"))
            Assert.True(challenge.StatusCode == HttpStatusCode.Redirect && challenge.Headers.Location!.ToString().StartsWith(Provider.Issuer),
                $"the gateway's sign-in did not redirect to the provider: {(int)challenge.StatusCode} {challenge.Headers.Location}\n{Cluster.Logs()}");
        _playwright = await Playwright.CreateAsync();
        Browser = await Chromium.LaunchAsync(_playwright);
    }

    public async Task DisposeAsync()
    {
        await Browser.DisposeAsync();
        _playwright.Dispose();
        await Provider.DisposeAsync();
        await Cluster.DisposeAsync();
        await Database.DisposeAsync();
    }
}

[Collection(ProcessTests.Name)]
public sealed class SignInTests(SignInFixture fixture) : IClassFixture<SignInFixture>
{
    private string Dashboard => new Uri(fixture.Cluster.Http.BaseAddress!, "/dashboard/").ToString();

    /// <summary>A fresh browser profile signs in through the provider's own login page and lands on the dashboard.</summary>
    private async Task<(IBrowserContext Context, IPage Page)> SignInAsync(string account)
    {
        var context = await fixture.Browser.NewContextAsync();
        var page = await context.NewPageAsync();
        var errors = new List<string>();
        page.Console += (_, m) => { if (m.Type == "error") errors.Add($"{m.Text} ({m.Location})"); };
        await page.GotoAsync(Dashboard);
        await page.Locator("#company-sign-in").WaitForAsync();
        await Accessibility.AssertNoSeriousViolationsAsync(page, "company sign-in");
        await page.GetByText("Sign in with your company account").ClickAsync();
        try
        {
            await page.WaitForURLAsync(url => url.StartsWith(fixture.Provider.Issuer));
        }
        catch (TimeoutException)
        {
            // Say where the browser ended up instead, and what the gateway logged (a first sign-in once timed out in CI).
            var body = await page.EvaluateAsync<string>("() => document.body?.innerText?.slice(0, 500) ?? ''");
            Assert.Fail($"sign-in never reached the provider: at {page.Url}: {body}\n{fixture.Cluster.Logs()}");
        }
        await page.Locator("input[name=login]").FillAsync(account);
        await page.Locator("input[name=password]").FillAsync("any");
        await page.Locator("button[type=submit]").ClickAsync();
        await page.WaitForURLAsync(url => url.StartsWith(Dashboard));
        await page.WaitForFunctionAsync("() => !document.getElementById('app').hidden || !document.getElementById('no-access').hidden");
        return (context, page);
    }

    private static Task<JsonElement> FetchAsync(IPage page, string path, bool sessionHeader = true) => page.EvaluateAsync<JsonElement>(
        """
        async ([path, header]) => {
          const response = await fetch(path, { headers: header ? { "X-CallMesh-Session": "1" } : {} });
          return { status: response.status, body: await response.text() };
        }
        """, new object[] { path, sessionHeader });

    /// <summary>Waits for the page's next finished load; an error it shows instead fails the test with its text.</summary>
    private static async Task WaitLoadedAsync(IPage page, int after = 0)
    {
        await page.WaitForFunctionAsync($"() => Number(document.body.dataset.loaded ?? 0) > {after} || !document.getElementById('error').hidden");
        Assert.Equal("", await page.Locator("#error").TextContentAsync());
    }

    [Fact]
    public async Task A_brand_admin_signs_in_with_the_company_account_and_the_session_stays_out_of_page_script()
    {
        var (context, page) = await SignInAsync("ann");
        await using var _ = context;
        await WaitLoadedAsync(page);
        // The directory's group gave the role; the claims came from the provider, not from anything the page holds.
        Assert.Equal("Ann Admin · brand-admin · bluebonnet", await page.Locator("#who").TextContentAsync());
        Assert.True(await page.Locator("#markets tbody tr").CountAsync() >= 2);
        Assert.True(await page.Locator("#report tbody tr").CountAsync() >= 4);

        // The session is an http-only, secure, same-site cookie for this origin only; no token is in page storage.
        var cookies = (await context.CookiesAsync()).Where(c => c.Name.StartsWith("__Host-callmesh-session")).ToList();
        Assert.NotEmpty(cookies);
        Assert.All(cookies, c =>
        {
            Assert.True(c.HttpOnly);
            Assert.True(c.Secure);
            Assert.Equal(SameSiteAttribute.Lax, c.SameSite);
            Assert.Equal("/", c.Path);
        });
        Assert.DoesNotContain("callmesh-session", await page.EvaluateAsync<string>("document.cookie"));
        Assert.Equal(0, await page.EvaluateAsync<int>("sessionStorage.length + localStorage.length"));

        // The cookie alone opens nothing: an API call without the session header (what a cross-site form could send) is 401.
        var bare = await FetchAsync(page, "/v1/tenants/bluebonnet/locations", sessionHeader: false);
        Assert.Equal(401, bare.GetProperty("status").GetInt32());
        var withHeader = await FetchAsync(page, "/v1/tenants/bluebonnet/locations");
        Assert.Equal(200, withHeader.GetProperty("status").GetInt32());
        // And the session is no way into another tenant.
        var other = await FetchAsync(page, "/v1/tenants/other-brand/locations");
        Assert.Contains(other.GetProperty("status").GetInt32(), new[] { 403, 404 });
    }

    [Fact]
    public async Task A_location_manager_from_a_directory_group_sees_only_their_location()
    {
        var (context, page) = await SignInAsync("kim");
        await using var _ = context;
        await WaitLoadedAsync(page);
        Assert.Equal("Kim Katy · location-manager of katy · bluebonnet", await page.Locator("#who").TextContentAsync());
        var rows = await page.Locator("#report tbody tr").EvaluateAllAsync<string[]>("rows => rows.map(r => r.dataset.location)");
        Assert.Equal(["katy"], rows);

        // What the dashboard's API calls answer is scoped by the silo: another location's calls and report are not theirs.
        var report = JsonDocument.Parse((await FetchAsync(page, "/v1/tenants/bluebonnet/reports/locations")).GetProperty("body").GetString()!);
        Assert.All(report.RootElement.GetProperty("items").EnumerateArray(), i => Assert.Equal("katy", i.GetProperty("location").GetString()));
        var austin = await FetchAsync(page, "/v1/tenants/bluebonnet/locations/austin-downtown/report");
        Assert.Contains(austin.GetProperty("status").GetInt32(), new[] { 403, 404 });
        var calls = JsonDocument.Parse((await FetchAsync(page, "/v1/tenants/bluebonnet/calls?location=austin-downtown")).GetProperty("body").GetString()!);
        Assert.Empty(calls.RootElement.GetProperty("items").EnumerateArray());
    }

    [Fact]
    public async Task A_user_without_a_CallMesh_role_gets_a_clear_page_and_no_data()
    {
        var (context, page) = await SignInAsync("nora");
        await using var _ = context;
        Assert.True(await page.Locator("#no-access").IsVisibleAsync());
        Assert.Equal("Nora Nobody", await page.Locator("#no-access-user").TextContentAsync());
        await Accessibility.AssertNoSeriousViolationsAsync(page, "no access");
        Assert.False(await page.Locator("#app").IsVisibleAsync());
        var locations = await FetchAsync(page, "/v1/tenants/bluebonnet/locations");
        Assert.Equal(403, locations.GetProperty("status").GetInt32());
        Assert.Contains("no-callmesh-role", locations.GetProperty("body").GetString());
    }

    [Fact]
    public async Task Refresh_keeps_a_session_maps_a_role_taken_away_at_the_next_refresh_and_sign_out_ends_it()
    {
        var (context, page) = await SignInAsync("rita");
        await using var _ = context;
        await WaitLoadedAsync(page);
        string SessionCookie(IReadOnlyList<BrowserContextCookiesResult> cookies) =>
            string.Concat(cookies.Where(c => c.Name.StartsWith("__Host-callmesh-session")).OrderBy(c => c.Name).Select(c => c.Value));
        var first = SessionCookie(await context.CookiesAsync());

        // Past the provider's token lifetime, the next request refreshes at the provider and renews the cookie.
        await Task.Delay(TimeSpan.FromSeconds(SignInFixture.TokenSeconds + 1));
        var loaded = int.Parse(await page.EvaluateAsync<string>("document.body.dataset.loaded"));
        await page.Locator("#filters button[type=submit]").ClickAsync();
        await WaitLoadedAsync(page, loaded);
        Assert.True(await page.Locator("#app").IsVisibleAsync());
        Assert.NotEqual(first, SessionCookie(await context.CookiesAsync()));

        // The directory takes the role away: within one token lifetime the dashboard says so and the API refuses.
        await fixture.Provider.SetClaimsAsync("rita", new { name = "Rita Regional", tenant = "bluebonnet" });
        await Task.Delay(TimeSpan.FromSeconds(SignInFixture.TokenSeconds + 1));
        await page.Locator("#filters button[type=submit]").ClickAsync();
        await page.Locator("#no-access").WaitForAsync();
        Assert.Equal(403, (await FetchAsync(page, "/v1/tenants/bluebonnet/locations")).GetProperty("status").GetInt32());

        // Sign-out ends the session here and at the provider, which brings the user back to the sign-in page.
        await page.Locator("#no-access-sign-out").ClickAsync();
        await page.WaitForURLAsync(url => url.StartsWith(fixture.Provider.Issuer));
        var confirm = page.Locator("button[autofocus], button[type=submit]").First;
        await confirm.ClickAsync();
        await page.WaitForURLAsync(url => url.StartsWith(Dashboard));
        await page.Locator("#company-sign-in").WaitForAsync();
        Assert.DoesNotContain(await context.CookiesAsync(), c => c.Name.StartsWith("__Host-callmesh-session"));
        Assert.Equal(401, (await FetchAsync(page, "/v1/tenants/bluebonnet/locations")).GetProperty("status").GetInt32());
    }
}
