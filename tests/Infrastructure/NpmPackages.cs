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
        // The marker is written only after an install finished: a run killed (or failed) half-way installs again.
        var marker = Path.Combine(directory, ".installed");
        var wanted = File.ReadAllText(packageJson);
        if (File.Exists(marker) && File.ReadAllText(marker) == wanted && Directory.Exists(Path.Combine(directory, "node_modules", probePackage))) return;
        Directory.CreateDirectory(directory);
        File.Delete(marker);
        // npm does not repair a node_modules that an interrupted install left half-written: start from none.
        if (Directory.Exists(Path.Combine(directory, "node_modules"))) Directory.Delete(Path.Combine(directory, "node_modules"), recursive: true);
        File.Copy(packageJson, Path.Combine(directory, "package.json"), overwrite: true);
        var (exit, output, error) = await Processes.RunAsync("npm", ["install", "--no-audit", "--no-fund", "--no-package-lock"], directory);
        Assert.True(exit == 0, $"npm install in {directory} failed: {output}{error}");
        File.WriteAllText(marker, wanted);
    }
}
