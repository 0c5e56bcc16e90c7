using System.Xml.Linq;
using Microsoft.AspNetCore.DataProtection.Repositories;
using Npgsql;

namespace CallMesh.Silo.Database;

/// <summary>
/// Data Protection's key ring in callmesh.data_protection_keys, so every silo opens what any silo sealed. Each key is
/// written once (Data Protection never changes a stored key; it adds new ones and revocations). Read a few times a day.
/// </summary>
public sealed class PostgresKeyRepository(NpgsqlDataSource database) : IXmlRepository
{
    public IReadOnlyCollection<XElement> GetAllElements()
    {
        using var command = database.CreateCommand("SELECT xml FROM callmesh.data_protection_keys ORDER BY created_at, friendly_name");
        using var reader = command.ExecuteReader();
        var elements = new List<XElement>();
        while (reader.Read()) elements.Add(XElement.Parse(reader.GetString(0)));
        return elements;
    }

    public void StoreElement(XElement element, string friendlyName)
    {
        using var command = database.CreateCommand(
            "INSERT INTO callmesh.data_protection_keys (friendly_name, xml) VALUES ($1, $2) ON CONFLICT (friendly_name) DO NOTHING");
        command.Parameters.Add(new() { Value = friendlyName });
        command.Parameters.Add(new() { Value = element.ToString(SaveOptions.DisableFormatting) });
        command.ExecuteNonQuery();
    }
}
