using Npgsql;

namespace CallMesh.Common;

public static class Sql
{
    /// <summary>One statement of an <see cref="NpgsqlBatch"/>, with its positional parameters ($1, $2, …) in order.</summary>
    public static NpgsqlBatchCommand Command(string sql, params object[] parameters)
    {
        var command = new NpgsqlBatchCommand(sql);
        foreach (var p in parameters) command.Parameters.Add(new NpgsqlParameter { Value = p });
        return command;
    }

    /// <summary>One statement on <paramref name="connection"/> (in its transaction, if any), with positional parameters.</summary>
    public static NpgsqlCommand Command(NpgsqlConnection connection, string sql, params object[] parameters)
    {
        var command = new NpgsqlCommand(sql, connection);
        foreach (var p in parameters) command.Parameters.Add(new NpgsqlParameter { Value = p });
        return command;
    }
}
