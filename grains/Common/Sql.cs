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
}
