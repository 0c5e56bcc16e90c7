using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace CallMesh.Tests.Infrastructure;

public static class ProblemAssert
{
    /// <summary>An RFC 7807 answer with this status and our stable code; returns the problem.</summary>
    public static async Task<JsonElement> Is(HttpResponseMessage response, HttpStatusCode status, string code)
    {
        Assert.Equal(status, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(code, problem.GetProperty("code").GetString());
        // The silo and the gateway name each kind alike (ProblemResponses), so the type follows from the code.
        Assert.Equal(ProblemResponses.TypeBase + code, problem.GetProperty("type").GetString());
        Assert.Equal((int)status, problem.GetProperty("status").GetInt32());
        return problem;
    }

    /// <summary>A validation problem that names <paramref name="field"/> among its errors.</summary>
    public static async Task<JsonElement> Is(HttpResponseMessage response, HttpStatusCode status, string code, string field)
    {
        var problem = await Is(response, status, code);
        var errors = problem.GetProperty("errors").EnumerateObject().Select(e => e.Name).ToList();
        Assert.True(errors.Contains(field), $"expected an error for {field}, got {string.Join(", ", errors)}");
        return problem;
    }
}
