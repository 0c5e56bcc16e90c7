namespace CallMesh.Tests.Infrastructure;

/// <summary>Paths of the built silo and gateway, in the configuration the tests were built with.</summary>
public static class Repo
{
    public static string Root { get; } = FindRoot();

    // The tests run from tests/bin/<Configuration>/net10.0.
    private static string Configuration => new DirectoryInfo(Path.TrimEndingDirectorySeparator(AppContext.BaseDirectory)).Parent!.Name;

    public static string SiloDll => Path.Combine(Root, "silo", "bin", Configuration, "net10.0", "CallMesh.Silo.dll");

    public static string GatewayDll => Path.Combine(Root, "gateway", "bin", Configuration, "net10.0", "CallMesh.Gateway.dll");

    public static string DemoBrandFile => Path.Combine(Root, "silo", "Demo", "demo-brand.json");

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "CallMesh.sln"))) return dir.FullName;
        throw new InvalidOperationException("CallMesh.sln not found above " + AppContext.BaseDirectory);
    }
}
