using System.Diagnostics;
using System.Net.Http.Json;

namespace CallMesh.Tests.Infrastructure;

/// <summary>
/// A real OpenID Connect provider on loopback (npm oidc-provider, tests/Browser/oidc/provider.mjs) with one confidential
/// client and accounts whose claims a test can change while it runs. Its packages are installed once under
/// .callmesh/tools/oidc-provider (CALLMESH_OIDC_TOOLS names another folder).
/// </summary>
public sealed class OidcProvider : IAsyncDisposable
{
    private static readonly string Script = Path.Combine(Repo.Root, "tests", "Browser", "oidc", "provider.mjs");
    private readonly Process _process;
    private readonly HttpClient _http;

    public string Issuer { get; }

    private OidcProvider(Process process, string issuer)
    {
        _process = process;
        Issuer = issuer;
        _http = new HttpClient { BaseAddress = new Uri(issuer) };
    }

    public static async Task<OidcProvider> StartAsync(int port, string clientId, string clientSecret, string redirectUri, string postLogoutRedirectUri,
        IReadOnlyDictionary<string, object> accounts, int tokenSeconds)
    {
        var tools = Environment.GetEnvironmentVariable("CALLMESH_OIDC_TOOLS") ?? Path.Combine(Repo.Root, ".callmesh", "tools", "oidc-provider");
        await NpmPackages.InstallAsync(Path.Combine(Repo.Root, "tests", "Browser", "oidc", "package.json"), tools, "oidc-provider");
        var info = new ProcessStartInfo("node", [Script]) { RedirectStandardOutput = true, RedirectStandardError = true };
        info.Environment["PORT"] = port.ToString();
        info.Environment["CLIENT_ID"] = clientId;
        info.Environment["CLIENT_SECRET"] = clientSecret;
        info.Environment["REDIRECT_URIS"] = redirectUri;
        info.Environment["POST_LOGOUT_REDIRECT_URIS"] = postLogoutRedirectUri;
        info.Environment["ACCOUNTS"] = System.Text.Json.JsonSerializer.Serialize(accounts);
        info.Environment["TOKEN_TTL"] = tokenSeconds.ToString();
        info.Environment["CALLMESH_OIDC_TOOLS"] = tools;
        var process = Process.Start(info)!;
        var listening = new TaskCompletionSource();
        var output = new System.Text.StringBuilder();
        process.OutputDataReceived += (_, e) =>
        {
            lock (output) output.AppendLine(e.Data);
            if (e.Data?.Contains("listening on") == true) listening.TrySetResult();
        };
        process.ErrorDataReceived += (_, e) => { lock (output) output.AppendLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        if (await Task.WhenAny(listening.Task, process.WaitForExitAsync(), Task.Delay(TimeSpan.FromSeconds(30))) != listening.Task)
        {
            if (!process.HasExited) process.Kill();
            lock (output) Assert.Fail($"the OIDC provider did not start: {output}");
        }
        return new OidcProvider(process, $"http://127.0.0.1:{port}");
    }

    /// <summary>Replaces an account's claims in the provider's directory (a role granted or taken away).</summary>
    public async Task SetClaimsAsync(string account, object claims)
    {
        using var response = await _http.PutAsJsonAsync($"/test/accounts/{Uri.EscapeDataString(account)}", claims);
        response.EnsureSuccessStatusCode();
    }

    public async ValueTask DisposeAsync()
    {
        _http.Dispose();
        if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        await _process.WaitForExitAsync();
        _process.Dispose();
    }
}
