namespace CallMesh.Reports;

/// <summary>
/// How many rollups of this silo read their calls at once. A brand report over a thousand cold locations
/// activates a thousand rollups together; unbounded, their reads would take every pooled connection (and
/// time out waiting for one) while the webhooks and DNI sessions of the same silo wait too.
/// </summary>
public sealed class RollupLoads
{
    private readonly SemaphoreSlim _slots = new(8);

    public async Task<T> RunAsync<T>(Func<Task<T>> load)
    {
        await _slots.WaitAsync();
        try { return await load(); }
        finally { _slots.Release(); }
    }
}
