using System.Diagnostics;

namespace CallMesh.Bench;

/// <summary>Runs <c>./callmesh</c> itself, as an operator would, to cause a fault or change how the cluster runs.</summary>
public static class CallmeshScript
{
    public static async Task RunAsync(string script, params string[] args)
    {
        // Its output (db start prints the connection string, password and all) is not the bench's to show.
        using var process = Process.Start(new ProcessStartInfo("bash", [script, .. args]) { RedirectStandardError = true, RedirectStandardOutput = true })!;
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = await process.StandardError.ReadToEndAsync();
        await output;
        await process.WaitForExitAsync();
        if (process.ExitCode != 0) throw new InvalidOperationException($"callmesh {string.Join(' ', args)}: {errors}");
    }
}
