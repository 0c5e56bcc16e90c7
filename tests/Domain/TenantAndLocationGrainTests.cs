using CallMesh.Common;
using CallMesh.Locations;
using CallMesh.Tenants;
using CallMesh.Tests.Infrastructure;

namespace CallMesh.Tests.Domain;

public sealed class TenantAndLocationGrainTests(GrainClusterFixture fixture) : IClassFixture<GrainClusterFixture>
{
    private static readonly TenantConfig Brand = new("Acme Home Services", "America/Chicago", "USD",
        new ConversionRules(RequireAnswered: true, MinDurationSeconds: 60));

    public static LocationConfig Austin(string? market = "central-tx") => new(
        "Acme – Austin", new PostalAddress("401 Congress Ave", "Austin", "TX", "78701", "US"),
        "+15125550101", "+17375550101", "America/Chicago",
        [new OpeningHours("mon", "08:00", "12:00"), new OpeningHours("mon", "13:00", "17:30"), new OpeningHours("sat", "09:00", "24:00")],
        null, new GeoPoint(30.2669, -97.7428), 15, market, ["/locations/austin/*"]);

    private async Task<string> NewTenant()
    {
        var id = $"t-{Guid.NewGuid():N}"[..12];
        Assert.Equal(SaveOutcome.Created, (await fixture.Grains.GetGrain<ITenantGrain>(id).Put(Brand)).Outcome);
        return id;
    }

    [Fact]
    public async Task A_location_is_stored_and_indexed_in_its_tenant_with_its_market()
    {
        var tenant = await NewTenant();
        var grain = fixture.Grains.GetGrain<ILocationGrain>(TenantKey.For(tenant, "austin"));

        Assert.Equal(SaveOutcome.Created, (await grain.Put(Austin())).Outcome);
        Assert.Equal(SaveOutcome.Updated, (await grain.Put(Austin("texas"))).Outcome);

        var stored = await grain.Get();
        Assert.Equal("+15125550101", stored!.Config.NapPhone);
        Assert.Equal(3, stored.Config.BusinessHours!.Count);
        var indexed = Assert.Single(await fixture.Grains.GetGrain<ITenantGrain>(tenant).ListLocations());
        Assert.Equal(("austin", "texas", "+15125550101", 30.2669, 15.0),
            (indexed.LocationId, indexed.Market, indexed.NapPhone, indexed.Lat, indexed.ServiceRadiusMiles));
        Assert.Equal(["/locations/austin/*"], indexed.PagePatterns!);
    }

    [Fact]
    public async Task A_location_of_an_unknown_tenant_is_refused_and_nothing_is_stored()
    {
        var grain = fixture.Grains.GetGrain<ILocationGrain>(TenantKey.For("no-such-tenant", "austin"));

        Assert.Equal(SaveOutcome.NotFound, (await grain.Put(Austin())).Outcome);
        Assert.Null(await grain.Get());
    }

    [Fact]
    public async Task An_invalid_change_keeps_the_stored_location()
    {
        var tenant = await NewTenant();
        var grain = fixture.Grains.GetGrain<ILocationGrain>(TenantKey.For(tenant, "austin"));
        await grain.Put(Austin());

        var result = await grain.Put(Austin() with { ForwardTo = "+1512555", Market = "Central TX" });

        Assert.Equal(SaveOutcome.Invalid, result.Outcome);
        Assert.Equal(["forwardTo", "market"], result.Errors.Keys.Order());
        Assert.Equal("central-tx", (await grain.Get())!.Config.Market);
        Assert.Equal("+17375550101", (await grain.Get())!.Config.ForwardTo);
    }

    [Fact]
    public async Task Tenant_settings_are_validated_by_the_grain()
    {
        var grain = fixture.Grains.GetGrain<ITenantGrain>("bad-tenant");

        var result = await grain.Put(new TenantConfig("", "Central Standard Time", "usd",
            new ConversionRules(MinDurationSeconds: -1, Outcomes: ["sale", "maybe"]), CallerHistoryDays: 0));

        Assert.Equal(SaveOutcome.Invalid, result.Outcome);
        Assert.Equal(["callerHistoryDays", "currency", "defaultConversionRules.minDurationSeconds", "defaultConversionRules.outcomes[1]", "name", "timeZone"],
            result.Errors.Keys.Order());
        Assert.Null(await grain.Get());
    }
}
