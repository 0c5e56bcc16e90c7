namespace CallMesh.Locations;

/// <summary>A location page pattern: a URL path where <c>*</c> stands for any run of characters ("/locations/austin/*").</summary>
public static class PagePattern
{
    /// <summary>Stars a pattern may hold: a page needs one or two; the matcher's work grows with each.</summary>
    public const int MaxStars = 4;

    /// <summary>A trailing slash does not matter: "/locations/austin/" is the page "/locations/austin".</summary>
    public static bool Matches(string pattern, string path) =>
        Match(pattern.AsSpan(), (path.Length > 1 ? path.TrimEnd('/') : path).AsSpan()) || Match(pattern.AsSpan(), path.AsSpan());

    /// <summary>
    /// Without backtracking: the text before the first star must begin the path, the text after the last star must end it,
    /// and each piece between stars is found at its leftmost place after the one before (the leftmost place leaves the
    /// most room for the rest, so it never needs undoing). One scan of the path per piece, whatever the path holds.
    /// </summary>
    private static bool Match(ReadOnlySpan<char> pattern, ReadOnlySpan<char> path)
    {
        var first = pattern.IndexOf('*');
        if (first < 0) return pattern.Equals(path, StringComparison.OrdinalIgnoreCase);
        var last = pattern.LastIndexOf('*');
        var head = pattern[..first];
        var tail = pattern[(last + 1)..];
        if (head.Length + tail.Length > path.Length
            || !path.StartsWith(head, StringComparison.OrdinalIgnoreCase) || !path.EndsWith(tail, StringComparison.OrdinalIgnoreCase))
            return false;
        var rest = path[head.Length..(path.Length - tail.Length)];
        var middle = first == last ? [] : pattern[(first + 1)..last];
        while (!middle.IsEmpty)
        {
            var star = middle.IndexOf('*');
            var piece = star < 0 ? middle : middle[..star];
            middle = star < 0 ? [] : middle[(star + 1)..];
            if (piece.IsEmpty) continue;
            var at = rest.IndexOf(piece, StringComparison.OrdinalIgnoreCase);
            if (at < 0) return false;
            rest = rest[(at + piece.Length)..];
        }
        return true;
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
