using System.Threading.Channels;

namespace CallMesh.Common;

/// <summary>
/// A queue that one loop takes in batches, each sent to PostgreSQL in one round trip or transaction. At moderate rates a
/// batch would carry one or two items, each paying its own round trip, and on this kind of machine waking the threads at
/// both ends costs more than the statements (docs/perf/inbound.md). So while items come together (the batch has company,
/// or the last one had), a batch of fewer than <c>enough</c> waits up to <c>linger</c> for more, and the item that makes
/// it enough ends the wait. A lone item goes at once: nobody pays the wait at a quiet hour.
/// </summary>
public sealed class BatchQueue<T>(TimeSpan linger, int enough, int max)
{
    // Not SingleReader, though it has one: that channel cannot count what it holds.
    private readonly Channel<T> _queue = Channel.CreateUnbounded<T>();
    private TaskCompletionSource? _company;
    private int _taken;
    private bool _together;

    /// <summary>Items waiting for the next batch.</summary>
    public int Count => _queue.Reader.Count;

    public void Add(T item)
    {
        _queue.Writer.TryWrite(item);   // unbounded and never completed: always taken
        if (Volatile.Read(ref _taken) + _queue.Reader.Count >= enough) Volatile.Read(ref _company)?.TrySetResult();
    }

    /// <summary>Fills the empty <paramref name="batch"/> with the next items (at most <c>max</c>), waiting for the first.</summary>
    public async Task NextAsync(List<T> batch)
    {
        while (batch.Count == 0)
        {
            await _queue.Reader.WaitToReadAsync();
            Take(batch);
        }
        if ((_together || batch.Count > 1) && batch.Count < Math.Min(enough, max))
        {
            var company = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _taken = batch.Count;
            // A full fence before the count is read, as Add reads the wait after writing: one of the two sees the other.
            Interlocked.Exchange(ref _company, company);
            if (batch.Count + _queue.Reader.Count < enough)
                await company.Task.WaitAsync(linger).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            Volatile.Write(ref _company, null);
            Take(batch);
        }
        _together = batch.Count > 1;
    }

    private void Take(List<T> batch)
    {
        while (batch.Count < max && _queue.Reader.TryRead(out var item)) batch.Add(item);
    }
}
