using System.Text.Json;
using System.Text.Json.Serialization;

namespace CallMesh.Silo.Hosting;

/// <summary>
/// Keeps NUL characters, which PostgreSQL refuses in text, out of every request before a statement sees them. Refused
/// by PostgreSQL instead, a NUL is not only a 400: when it arrives in the execution that auto-prepares a statement on a
/// pooled connection, Npgsql 10.0.3 loses its place on that connection and the next command there fails with
/// "Received unexpected backend message DataRow" (a 500 to an innocent request). So queries, JSON strings (values and
/// keys) and forms are checked here; headers and paths Kestrel already refuses.
/// </summary>
public static class StorableText
{
    public const string Title = "The request holds a NUL character, which cannot be stored.";

    public static bool Holds(string? text) => text is not null && text.Contains('\0');

    /// <summary>A decoded query value with a NUL is written <c>%00</c> in the raw query (Kestrel refuses a raw NUL).</summary>
    public static Task RefuseNulInQuery(HttpContext http, Func<Task> next) =>
        http.Request.QueryString.Value?.Contains("%00", StringComparison.Ordinal) == true
            ? ProblemResponses.WriteAsync(http, StatusCodes.Status400BadRequest, "malformed-request", Title, null)
            : next();

    public static bool Holds(IFormCollection form) =>
        form.Any(field => Holds(field.Key) || field.Value.Any(Holds));

    /// <summary>Every string a JSON body binds to; a NUL is a JsonException, which the API answers as a 400.</summary>
    public sealed class JsonConverter : JsonConverter<string>
    {
        public override string? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            Checked(reader.GetString());

        public override void Write(Utf8JsonWriter writer, string value, JsonSerializerOptions options) => writer.WriteStringValue(value);

        public override string ReadAsPropertyName(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            Checked(reader.GetString())!;

        public override void WriteAsPropertyName(Utf8JsonWriter writer, string value, JsonSerializerOptions options) =>
            writer.WritePropertyName(value);

        private static string? Checked(string? text) => Holds(text) ? throw new JsonException(Title) : text;
    }
}
