using CallMesh.Carriers;

namespace CallMesh.Tests.Calls;

/// <summary>Twilio's published request-validator vectors (twilio-csharp RequestValidatorTest) and realistic webhook forms.</summary>
public sealed class TwilioSignatureTests
{
    private static readonly Dictionary<string, string> Parameters = new()
    {
        ["CallSid"] = "CA1234567890ABCDE", ["Caller"] = "+14158675309", ["Digits"] = "1234", ["From"] = "+14158675309", ["To"] = "+18005551212",
    };

    [Theory]
    [InlineData("https://mycompany.com/myapp.php?foo=1&bar=2", "RSOYDt4T1cUTdK1PDd93/VVr8B8=")]
    [InlineData("https://MyCompany.com/myapp.php?foo=1&bar=2", "g9IN/x4Cft2g517EjYvEvM/W7LU=")]
    [InlineData("https://MyCompany.com:1234/myapp.php?foo=1&bar=2", "PCqOZm8cnu/L6+u5i5fuEd+Iac4=")]
    [InlineData("http://username:password@MyCompany.com/myapp.php?foo=1&bar=2", "PJ08CxXr7KLPjEQCTc8LkUSMwSM=")]
    [InlineData("https://mycompany.com:443/myapp.php?foo=1&bar=2", "kvajT1Ptam85bY51eRf/AJRuM3w=")]
    public void The_published_vectors_compute_and_validate(string url, string signature)
    {
        Assert.Equal(signature, TwilioSignature.Compute("12345", url, Parameters));
        Assert.True(TwilioSignature.IsValid("12345", url, Parameters, signature));
    }

    [Fact]
    public void A_url_is_accepted_with_and_without_its_default_port()
    {
        // Twilio signed http://MyCompany.com:80/…; we may see it without the port, and the other way round.
        Assert.True(TwilioSignature.IsValid("12345", "http://MyCompany.com/myapp.php?foo=1&bar=2", Parameters, "XY7AlKOKL6im4yWyX84gldUrtis="));
        Assert.True(TwilioSignature.IsValid("12345", "https://mycompany.com/myapp.php?foo=1&bar=2", Parameters, "kvajT1Ptam85bY51eRf/AJRuM3w="));
        Assert.True(TwilioSignature.IsValid("12345", "https://mycompany.com:443/myapp.php?foo=1&bar=2", Parameters, "RSOYDt4T1cUTdK1PDd93/VVr8B8="));
        Assert.True(TwilioSignature.IsValid("12345", "https://mycompany.com/myapp.php?foo=1&bar=2#rc=2", Parameters, "RSOYDt4T1cUTdK1PDd93/VVr8B8="));
    }

    [Fact]
    public void A_changed_parameter_url_or_token_fails()
    {
        const string url = "https://mycompany.com/myapp.php?foo=1&bar=2";
        const string good = "RSOYDt4T1cUTdK1PDd93/VVr8B8=";
        Assert.False(TwilioSignature.IsValid("12345", url, new Dictionary<string, string>(Parameters) { ["To"] = "+18005551213" }, good));
        Assert.False(TwilioSignature.IsValid("12345", url.Replace("foo=1", "foo=2"), Parameters, good));
        Assert.False(TwilioSignature.IsValid("54321", url, Parameters, good));
        Assert.False(TwilioSignature.IsValid("12345", url, Parameters, null));
        Assert.False(TwilioSignature.IsValid("12345", url, Parameters, ""));
    }

    [Fact]
    public void A_realistic_inbound_voice_webhook_and_a_status_callback_validate()
    {
        var inbound = new Dictionary<string, string>
        {
            ["AccountSid"] = "AC" + new string('0', 32), ["ApiVersion"] = "2010-04-01", ["CallSid"] = "CA" + new string('1', 32), ["CallStatus"] = "ringing",
            ["Called"] = "+15125550100", ["CalledCity"] = "AUSTIN", ["CalledCountry"] = "US", ["CalledState"] = "TX", ["CalledZip"] = "78701",
            ["Caller"] = "+15125550199", ["CallerCity"] = "AUSTIN", ["CallerCountry"] = "US", ["CallerState"] = "TX", ["CallerZip"] = "78745",
            ["Direction"] = "inbound", ["From"] = "+15125550199", ["FromCity"] = "AUSTIN", ["FromCountry"] = "US", ["FromState"] = "TX",
            ["FromZip"] = "78745", ["To"] = "+15125550100", ["ToCity"] = "AUSTIN", ["ToCountry"] = "US", ["ToState"] = "TX", ["ToZip"] = "78701",
        };
        Assert.True(TwilioSignature.IsValid("test_auth_token_123", "https://example.test/twilio/voice", inbound, "3BeEgrpnsZJYIdvF/lb8vmewLoI="));

        var status = System.Web.HttpUtility.ParseQueryString(
            "AccountSid=AC00000000000000000000000000000000&ApiVersion=2010-04-01&CallSid=CA11111111111111111111111111111111&CallStatus=completed&CallDuration=47&Duration=1&Direction=inbound&From=%2B15125550199&To=%2B15125550100&Called=%2B15125550100&Caller=%2B15125550199&Timestamp=Tue%2C+14+Jul+2026+15%3A04%3A05+%2B0000&CallbackSource=call-progress-events&SequenceNumber=0&SipResponseCode=200");
        var form = status.AllKeys.Select(k => new KeyValuePair<string, string>(k!, status[k]!));
        Assert.True(TwilioSignature.IsValid("test_auth_token_123", "https://calls.example.test/twilio/status?tenant=acme", form, "EIAzq9EOi5phIKZzXKTT/zyVNhk="));
    }
}
