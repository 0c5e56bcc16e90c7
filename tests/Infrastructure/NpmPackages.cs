namespace CallMesh.Tests.Infrastructure;

/// <summary>Pinned npm packages a test tool needs (its package.json in the repository), installed once per checkout.</summary>
public static class NpmPackages
{
    // Two test classes may ask for one directory at once (each has its own fixture): two npm installs into one
    // node_modules fail each other (ENOTEMPTY on a fresh checkout), so one waits for the other.
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, SemaphoreSlim> Installs = new();

    /// <summary>Installs the packages of packageJson into directory unless that very package.json is installed there.</summary>
    public static async Task InstallAsync(string packageJson, string directory, string probePackage)
    {
        var gate = Installs.GetOrAdd(Path.GetFullPath(directory), _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync();
        try { await InstallOnceAsync(packageJson, directory, probePackage); }
        finally { gate.Release(); }
    }

    private static async Task InstallOnceAsync(string packageJson, string directory, string probePackage)
    {
        var installed = Path.Combine(directory, "package.json");
        if (File.Exists(installed) && File.ReadAllText(installed) == File.ReadAllText(packageJson)
            && Directory.Exists(Path.Combine(directory, "node_modules", probePackage))) return;
        Directory.CreateDirectory(directory);
        File.Copy(packageJson, installed, overwrite: true);
        var (exit, output, error) = await Processes.RunAsync("npm", ["install", "--no-audit", "--no-fund", "--no-package-lock"], directory);
        Assert.True(exit == 0, $"npm install in {directory} failed: {output}{error}");
    }
}
