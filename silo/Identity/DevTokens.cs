namespace CallMesh.Identity;

/// <summary>
/// Mints local development tokens, signed with the deployment's development key. Only a
/// deployment started with that key (./callmesh up) trusts them. `./callmesh token` mints the
/// same shape with openssl, so it works before anything is built.
/// </summary>
public static class DevTokens
{
    /// <summary>`token --key HEX --tenant T --role R [--locations a,b] [--markets m] [--sub S] [--hours H]`</summary>
    public static int RunCommand(string[] args)
    {
        var options = args.Chunk(2).Where(p => p.Length == 2).ToDictionary(p => p[0].TrimStart('-'), p => p[1]);
        string[] List(string name) => options.GetValueOrDefault(name)?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) ?? [];
        var role = options.GetValueOrDefault("role");
        if (!options.TryGetValue("key", out var key) || role is null || !Roles.All.Contains(role)
            || (role != Roles.PlatformAdmin && !options.ContainsKey("tenant")))
        {
            Console.Error.WriteLine($"usage: token --tenant T --role ({string.Join("|", Roles.All)}) [--locations a,b] [--markets m] [--sub S] [--hours H]");
            Console.Error.WriteLine("       (--tenant may be left out only for platform-admin)");
            return 2;
        }
        Console.WriteLine(UserTokens.Mint(key, options.GetValueOrDefault("tenant"), role, List("locations"), List("markets"),
            options.GetValueOrDefault("sub"), TimeSpan.FromHours(double.Parse(options.GetValueOrDefault("hours") ?? "12"))));
        return 0;
    }
}
