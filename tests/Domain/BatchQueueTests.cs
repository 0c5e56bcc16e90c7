using CallMesh.Common;

namespace CallMesh.Tests.Domain;

/// <summary>The batches the call writer and the call starts' reads send to PostgreSQL: who waits for company, and how long.</summary>
public sealed class BatchQueueTests
{
    private static readonly TimeSpan Prompt = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task A_lone_item_goes_at_once_and_items_that_come_together_wait_for_enough_company()
    {
        var queue = new BatchQueue<int>(TimeSpan.FromHours(1), enough: 3, max: 10);
        var batch = new List<int>();

        // Alone: taken without the hour's wait.
        queue.Add(1);
        await queue.NextAsync(batch).WaitAsync(Prompt);
        Assert.Equal([1], batch);

        // Two together: they wait for a third, which ends the wait.
        batch.Clear();
        queue.Add(2);
        queue.Add(3);
        var next = queue.NextAsync(batch);
        await Task.Delay(200);
        Assert.False(next.IsCompleted);
        queue.Add(4);
        await next.WaitAsync(Prompt);
        Assert.Equal([2, 3, 4], batch);

        // After a batch with company, even one item waits (more are likely on their way), and the item that makes enough ends it.
        batch.Clear();
        queue.Add(5);
        next = queue.NextAsync(batch);
        await Task.Delay(200);
        Assert.False(next.IsCompleted);
        queue.Add(6);
        queue.Add(7);
        await next.WaitAsync(Prompt);
        Assert.Equal([5, 6, 7], batch);
    }

    [Fact]
    public async Task A_wait_for_company_ends_after_the_linger_and_a_batch_never_exceeds_its_maximum()
    {
        var queue = new BatchQueue<int>(TimeSpan.FromMilliseconds(50), enough: 100, max: 4);
        var batch = new List<int>();
        queue.Add(1);
        queue.Add(2);
        await queue.NextAsync(batch).WaitAsync(Prompt);
        Assert.Equal([1, 2], batch);

        foreach (var i in Enumerable.Range(10, 6)) queue.Add(i);
        batch.Clear();
        await queue.NextAsync(batch).WaitAsync(Prompt);
        Assert.Equal([10, 11, 12, 13], batch);
        batch.Clear();
        await queue.NextAsync(batch).WaitAsync(Prompt);
        Assert.Equal([14, 15], batch);
        Assert.Equal(0, queue.Count);
    }
}
