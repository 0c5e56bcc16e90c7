using CallMesh.Locations;

namespace CallMesh.Tests.Domain;

public sealed class LocationRulesTests
{
    private static Dictionary<string, string[]> ErrorsOf(LocationConfig config) => LocationRules.Validate(config).ToDictionary();

    private static readonly LocationConfig Valid = TenantAndLocationGrainTests.Austin();

    [Fact]
    public void A_complete_location_is_valid() => Assert.Empty(ErrorsOf(Valid));

    [Theory]
    [InlineData("5125550101", "must be an E.164 number such as +15125550100.")]      // no country code
    [InlineData("+1 512 555 0101", "must be an E.164 number such as +15125550100.")] // formatted
    [InlineData("+15121230101", "is not a valid phone number for its region.")]      // 512-123: no such exchange
    [InlineData("+999123456789", "is not a phone number.")]                         // no such country code
    public void Phone_numbers_must_be_valid_E164(string number, string message)
    {
        var errors = ErrorsOf(Valid with { NapPhone = number });

        Assert.Equal([message], errors["napPhone"]);
    }

    [Fact]
    public void Time_zones_must_be_IANA_ids()
    {
        Assert.Contains("timeZone", ErrorsOf(Valid with { TimeZone = "Central Standard Time" }).Keys);
        Assert.Contains("timeZone", ErrorsOf(Valid with { TimeZone = "america/chicago" }).Keys);
        Assert.Empty(ErrorsOf(Valid with { TimeZone = "America/Indiana/Indianapolis" }));
    }

    [Fact]
    public void Business_hours_name_the_broken_interval()
    {
        var errors = ErrorsOf(Valid with
        {
            BusinessHours = [new("mon", "08:00", "17:00"), new("mon", "16:00", "18:00"), new("funday", "9", "25:00"), new("tue", "22:00", "02:00")],
        });

        Assert.Equal(["businessHours[1]", "businessHours[2].close", "businessHours[2].day", "businessHours[2].open", "businessHours[3].close"],
            errors.Keys.Order());
    }

    [Fact]
    public void Coordinates_radius_market_and_page_patterns_are_checked()
    {
        var errors = ErrorsOf(Valid with
        {
            Geo = new GeoPoint(95, null),
            ServiceRadiusMiles = 0,
            Market = "Central TX",
            PagePatterns = ["locations/austin", "/ok/*"],
        });

        Assert.Equal(["geo.lat", "geo.lon", "market", "pagePatterns[0]", "serviceRadiusMiles"], errors.Keys.Order());
    }

    [Fact]
    public void A_missing_address_and_numbers_are_named()
    {
        var errors = ErrorsOf(Valid with { Address = Valid.Address! with { PostalCode = " ", Country = "USA" }, ForwardTo = null, Name = null });

        Assert.Equal(["address.country", "address.postalCode", "forwardTo", "name"], errors.Keys.Order());
    }
}
