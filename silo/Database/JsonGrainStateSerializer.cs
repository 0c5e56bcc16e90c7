using System.Text.Json;
using Orleans.Storage;

namespace CallMesh.Silo.Database;

/// <summary>
/// Stores grain state as plain UTF-8 JSON of its properties, without .NET type names, so
/// renaming or moving a state class does not orphan what is already stored (Orleans' default
/// Newtonsoft serializer writes "$type": "Namespace.Class, Assembly"). The declared state type
/// is always known on read, so no type information is needed in the payload.
/// </summary>
public sealed class JsonGrainStateSerializer : IGrainStorageSerializer
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web);

    public BinaryData Serialize<T>(T? input) => BinaryData.FromObjectAsJson(input, Options);

    public T Deserialize<T>(BinaryData input) => input.ToObjectFromJson<T>(Options)!;
}
