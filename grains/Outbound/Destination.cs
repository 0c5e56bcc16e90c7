using System.Text.Json.Serialization;

namespace CallMesh.Outbound;

/// <summary>
/// The kinds of destination: pushed through the outbox (webhook, ga4, meta, email alerts) or pulled as files (googleAds,
/// microsoftAds).
/// </summary>
public static class DestinationKinds
{
    public const string Webhook = "webhook", GoogleAds = "googleAds", MicrosoftAds = "microsoftAds", Ga4 = "ga4", Meta = "meta", Email = "email";

    public static readonly string[] All = [Webhook, GoogleAds, MicrosoftAds, Ga4, Meta, Email];

    /// <summary>Kinds the outbox sends to; the others are files the ad platform fetches.</summary>
    public static bool IsPushed(string kind) => kind is Webhook or Ga4 or Meta or Email;

    /// <summary>Kinds sent to an HTTPS address (an email destination has addressees instead).</summary>
    public static bool HasUrl(string kind) => kind is Webhook or Ga4 or Meta;
}

public static class DestinationStates
{
    public const string Active = "active", Paused = "paused", Disabled = "disabled";
}

/// <summary>Which calls' events a destination gets; an absent filter lets everything through.</summary>
public sealed record DestinationFilters(
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] List<string>? Locations = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] List<string>? Sources = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] bool? FirstTimeOnly = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] int? MinDurationSeconds = null);

/// <summary>
/// A kind's own settings, shown to brand admins: conversion names (Google Ads, Microsoft Ads), the GA4 measurement id and
/// event name, the Meta dataset, event name and test code; an email destination's addressees (<c>To</c>); the value of a
/// conversion whose call has no revenue, and its
/// currency (the tenant's).
/// </summary>
public sealed record DestinationSettings(
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? ConversionName = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? CallConversionName = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? MeasurementId = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? DatasetId = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? EventName = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? TestEventCode = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] decimal? DefaultValue = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Currency = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] List<string>? To = null);

/// <summary>A webhook signing secret; an old one stays valid (signed with) until it expires.</summary>
public sealed record SigningSecret(string Secret, DateTime? ExpiresAt);

/// <summary>What a destination signs or authenticates with: never returned after it is set.</summary>
public sealed record DestinationCredentials(List<SigningSecret>? Secrets = null, string? ApiSecret = null, string? AccessToken = null)
{
    /// <summary>
    /// The secrets to sign with at <paramref name="now"/>: any old one not yet expired, then the current one. Old first,
    /// because some verifiers (the StandardWebhooks NuGet package 1.1.2) check only the first signature: a receiver using one
    /// keeps its old secret until the overlap ends, then takes the new one.
    /// </summary>
    public IEnumerable<string> SigningSecrets(DateTime now) =>
        (Secrets ?? []).Where(s => s.ExpiresAt is null || s.ExpiresAt > now).Reverse().Select(s => s.Secret);
}

public sealed record Destination(string TenantId, string Id, string Kind, string Name, string? Url, List<string> Events,
    DestinationFilters Filters, DestinationSettings Settings, DestinationCredentials Credentials, string State, string? StateReason,
    DateTime? StateChangedAt, DateTime? FailingSince, DateTime CreatedAt, DateTime UpdatedAt, bool HasFeedToken);
