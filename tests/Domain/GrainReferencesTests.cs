using CallMesh.Calls;
using CallMesh.Common;
using CallMesh.Tests.Infrastructure;
using CallMesh.Visitors;
using Microsoft.Extensions.DependencyInjection;

namespace CallMesh.Tests.Domain;

public sealed class GrainReferencesTests(GrainClusterFixture fixture) : IClassFixture<GrainClusterFixture>
{
    private GrainReferences References => fixture.Cluster.GetSiloServiceProvider().GetRequiredService<GrainReferences>();

    [Fact]
    public void A_new_reference_names_the_same_grain_as_GetGrain()
    {
        var visitor = TenantKey.For("acme", Guid.NewGuid().ToString());
        var call = TenantKey.For("acme", "CA" + Guid.NewGuid().ToString("N"));

        // Twice each: the second comes from the types resolved by the first.
        for (var i = 0; i < 2; i++)
        {
            Assert.Equal(fixture.Grains.GetGrain<IVisitorGrain>(visitor).GetGrainId(), References.New<IVisitorGrain>(visitor).GetGrainId());
            Assert.Equal(fixture.Grains.GetGrain<ICallGrain>(call).GetGrainId(), References.New<ICallGrain>(call).GetGrainId());
        }
        Assert.NotEqual(References.New<IVisitorGrain>(visitor).GetGrainId(), References.New<IVisitorGrain>(visitor + "x").GetGrainId());
    }
}
