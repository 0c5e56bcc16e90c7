namespace CallMesh.Locations;

/// <summary>A location page pattern: a URL path where <c>*</c> stands for any run of characters ("/locations/austin/*").</summary>
public static class PagePattern
{
    /// <summary>A trailing slash does not matter: "/locations/austin/" is the page "/locations/austin".</summary>
    public static bool Matches(string pattern, string path) =>
        Match(pattern.AsSpan(), (path.Length > 1 ? path.TrimEnd('/') : path).AsSpan()) || Match(pattern.AsSpan(), path.AsSpan());

    private static bool Match(ReadOnlySpan<char> pattern, ReadOnlySpan<char> path)
    {
        var star = pattern.IndexOf('*');
        if (star < 0) return pattern.Equals(path, StringComparison.OrdinalIgnoreCase);
        if (!path.StartsWith(pattern[..star], StringComparison.OrdinalIgnoreCase)) return false;
        var rest = pattern[(star + 1)..];
        for (var i = star; i <= path.Length; i++)
            if (Match(rest, path[i..])) return true;
        return false;
    }
}

/// <summary>Distances on the earth's surface (haversine, mean radius 3958.8 miles).</summary>
public static class GreatCircle
{
    public static double Miles(double lat1, double lon1, double lat2, double lon2)
    {
        static double Rad(double degrees) => degrees * Math.PI / 180;
        var dLat = Rad(lat2 - lat1);
        var dLon = Rad(lon2 - lon1);
        var a = Math.Pow(Math.Sin(dLat / 2), 2) + Math.Cos(Rad(lat1)) * Math.Cos(Rad(lat2)) * Math.Pow(Math.Sin(dLon / 2), 2);
        return 2 * 3958.8 * Math.Asin(Math.Min(1, Math.Sqrt(a)));
    }
}
