namespace CallMesh.Tests.Infrastructure;

/// <summary>Pinned npm packages a test tool needs (its package.json in the repository), installed once per checkout.</summary>
public static class NpmPackages
{
    /// <summary>Installs the packages of packageJson into directory unless that very package.json is installed there.</summary>
    public static async Task InstallAsync(string packageJson, string directory, string probePackage)
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
