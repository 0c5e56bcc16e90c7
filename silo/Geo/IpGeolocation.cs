using System.Net;
using MaxMind.Db;

namespace CallMesh.Silo.Geo;

/// <summary>
/// Where a client address is, from an offline MaxMind-format city database (CALLMESH_GEO__IPDATABASE):
/// the DB-IP Lite city file that `./callmesh` fetches (flat <c>latitude</c>/<c>longitude</c>), or a
/// MaxMind GeoLite2/GeoIP2 City file (<c>location.latitude</c>/<c>location.longitude</c>).
/// Without a database, nobody is placed by address.
/// </summary>
public sealed class IpGeolocation : IDisposable
{
    private readonly Reader? _reader;

    public IpGeolocation(IConfiguration configuration, ILogger<IpGeolocation> logger)
    {
        var path = configuration["GEO:IPDATABASE"];
        if (string.IsNullOrEmpty(path) || !File.Exists(path))
        {
            logger.LogWarning("No IP geolocation database (GEO:IPDATABASE = {Path}): visitors are not placed by address", path);
            return;
        }
        // Memory-mapped: the pages are shared by the OS and only the ones looked up are read.
        _reader = new Reader(path, FileAccessMode.MemoryMapped);
        logger.LogInformation("IP geolocation from {Path} ({Type}, built {Built:yyyy-MM-dd})", path, _reader.Metadata.DatabaseType, _reader.Metadata.BuildDate);
    }

    public bool Enabled => _reader is not null;

    public bool TryLocate(IPAddress address, out double lat, out double lon)
    {
        (lat, lon) = (0, 0);
        if (_reader is null) return false;
        if (address.IsIPv4MappedToIPv6) address = address.MapToIPv4();
        Dictionary<string, object>? record;
        try
        {
            record = _reader.Find<Dictionary<string, object>>(address);
        }
        catch (ArgumentException)
        {
            return false;   // an IPv6 address in an IPv4-only database
        }
        if (record is null) return false;
        var point = record.TryGetValue("location", out var nested) && nested is Dictionary<string, object> location ? location : record;
        if (!TryNumber(point, "latitude", out lat) || !TryNumber(point, "longitude", out lon)) return false;
        return lat is >= -90 and <= 90 && lon is >= -180 and <= 180;
    }

    private static bool TryNumber(Dictionary<string, object> record, string key, out double value)
    {
        value = 0;
        if (!record.TryGetValue(key, out var raw)) return false;
        value = Convert.ToDouble(raw, System.Globalization.CultureInfo.InvariantCulture);
        return true;
    }

    public void Dispose() => _reader?.Dispose();
}
