namespace CallMesh.Common;

/// <summary>
/// The key of a grain that belongs to one tenant: "{tenant}/{id}" (locations, pools, visitors).
/// Ids are slugs or GUIDs and never contain '/', so the first slash separates the two.
/// </summary>
public static class TenantKey
{
    public static string For(string tenantId, string id) => $"{tenantId}/{id}";

    public static (string TenantId, string Id) Parse(string key)
    {
        var slash = key.IndexOf('/');
        return (key[..slash], key[(slash + 1)..]);
    }
}
