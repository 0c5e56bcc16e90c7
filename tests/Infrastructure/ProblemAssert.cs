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
        Assert.Equal((int)status, problem.GetProperty("status").GetInt32());
        return problem;
    }
}
