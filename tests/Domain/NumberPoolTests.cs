using CallMesh.Common;
using CallMesh.Dni;
using CallMesh.Locations;
using CallMesh.Pools;
using CallMesh.Tests.Infrastructure;

namespace CallMesh.Tests.Domain;

/// <summary>The lease rules of number pools, on a real silo with the real journal and PostgreSQL.</summary>
public sealed class NumberPoolTests(GrainClusterFixture fixture) : IClassFixture<GrainClusterFixture>
{
    private readonly DniSetup _dni = new(fixture);

    [Fact]
    public async Task A_thousand_concurrent_sessions_on_fifty_numbers_never_share_one_and_overflow_is_counted()
    {
        var (tenant, pool, numbers, overflow) = await _dni.PoolAsync(size: 50);

        var answers = await Task.WhenAll(Enumerable.Range(0, 1000).Select(_ => Task.Run(() => _dni.Visit(tenant, pool, Guid.NewGuid()))));

        var swaps = answers.Select(a => Assert.Single(a.Swaps)).ToList();
        var leased = swaps.Where(s => !s.Overflow).Select(s => s.Number).ToList();
        Assert.Equal(50, leased.Count);
        Assert.Equal(numbers.Order(), leased.Distinct().Order());
        Assert.All(swaps.Where(s => s.Overflow), s => Assert.Equal(overflow, s.Number));
        Assert.Equal(950, swaps.Count(s => s.Overflow));

        Assert.Equal(50, await fixture.Database.Scalar<long>(
            "SELECT count(DISTINCT number) FROM callmesh.number_leases WHERE tenant_id = $1 AND kind = 'lease' AND released_at IS NULL", tenant));
        var load = await _dni.Grains.GetGrain<INumberPoolGrain>(TenantKey.For(tenant, pool)).Load();
        var health = await _dni.Service<PoolHealthQuery>().ComputeAsync(tenant, pool, load, PoolConfig.DefaultLeaseSeconds, DateTime.UtcNow.AddHours(-1));
        Assert.Equal((950L, 1000L, 50), (health.OverflowCount, health.Allocations, health.PeakConcurrentLeases));
        Assert.Equal(0.95, health.OverflowRate);
        // Every overflow visitor wanted a number too: demand is 1,000, and ceil(1000 × 1.25) + 1 numbers would have served them.
        Assert.Equal(1000, health.PeakDemand);
        Assert.Equal(1251, health.RecommendedSize);
    }

    [Fact]
    public async Task One_client_address_holds_at_most_its_share_of_a_pool_and_the_rest_of_its_visitors_get_the_overflow_number()
    {
        var (tenant, pool, numbers, overflow) = await _dni.PoolAsync(size: 40);   // default cap: 5% of 40 = 2

        // A script minting new visitors from one address: two numbers, then the overflow number.
        var flood = await Task.WhenAll(Enumerable.Range(0, 30).Select(_ => _dni.Visit(tenant, pool, Guid.NewGuid(), client: "203.0.113.9")));
        var neighbour = await _dni.Visit(tenant, pool, Guid.NewGuid(), client: "198.51.100.20");

        var swaps = flood.Select(a => Assert.Single(a.Swaps)).ToList();
        Assert.Equal(2, swaps.Count(s => !s.Overflow));
        Assert.All(swaps.Where(s => s.Overflow), s => Assert.Equal(overflow, s.Number));
        Assert.False(Assert.Single(neighbour.Swaps).Overflow);
        Assert.Equal(37, (await _dni.Grains.GetGrain<INumberPoolGrain>(TenantKey.For(tenant, pool)).Load()).Free);
    }

    [Fact]
    public async Task One_visitor_id_opens_at_most_twenty_sessions_a_minute_and_is_served_after_that_in_its_latest()
    {
        var (tenant, pool, _, _) = await _dni.PoolAsync(size: 3);
        var visitor = Guid.NewGuid();

        var answers = new List<Visitors.SessionAnswer>();
        for (var i = 0; i < 50; i++) answers.Add(await _dni.Visit(tenant, pool, visitor));

        Assert.Equal(Visitors.VisitorGrain.MaxNewSessionsPerMinute, await fixture.Database.Scalar<long>(
            "SELECT count(*) FROM callmesh.dni_sessions WHERE tenant_id = $1 AND visitor_id = $2", tenant, visitor));
        Assert.All(answers.Skip(Visitors.VisitorGrain.MaxNewSessionsPerMinute), a => Assert.Equal(answers[19].SessionId, a.SessionId));
        Assert.Single(answers.Select(a => a.Swaps[0].Number).Distinct());   // one number all along
    }

    [Fact]
    public async Task A_returning_visitor_gets_its_own_number_back_in_any_session()
    {
        var (tenant, pool, _, _) = await _dni.PoolAsync(size: 5);
        var visitor = Guid.NewGuid();

        var first = await _dni.Visit(tenant, pool, visitor);
        var sameSession = await _dni.Visit(tenant, pool, visitor, first.SessionId);
        var newSession = await _dni.Visit(tenant, pool, visitor);
        var someoneElse = await _dni.Visit(tenant, pool, Guid.NewGuid());

        Assert.Equal(first.SessionId, sameSession.SessionId);
        Assert.NotEqual(first.SessionId, newSession.SessionId);
        Assert.Equal(first.Swaps[0].Number, sameSession.Swaps[0].Number);
        Assert.Equal(first.Swaps[0].Number, newSession.Swaps[0].Number);
        Assert.NotEqual(first.Swaps[0].Number, someoneElse.Swaps[0].Number);
        Assert.Equal(1, await fixture.Database.Scalar<long>(
            "SELECT count(*) FROM callmesh.number_leases WHERE tenant_id = $1 AND visitor_id = $2", tenant, visitor));
    }

    [Fact]
    public async Task A_released_number_goes_to_the_back_of_the_line_and_the_history_knows_who_held_it()
    {
        var (tenant, pool, numbers, _) = await _dni.PoolAsync(size: 3, leaseSeconds: 1, idleGraceSeconds: 1);
        var first = Guid.NewGuid();
        var a = await _dni.Visit(tenant, pool, first);
        var whileHeld = DateTime.UtcNow;
        await Task.Delay(TimeSpan.FromSeconds(2.2));   // past both the minimum hold and the idle grace

        var b = await _dni.Visit(tenant, pool, Guid.NewGuid());
        var c = await _dni.Visit(tenant, pool, Guid.NewGuid());
        var last = Guid.NewGuid();
        var d = await _dni.Visit(tenant, pool, last);

        Assert.Equal([numbers[0], numbers[1], numbers[2], numbers[0]], new[] { a, b, c, d }.Select(x => x.Swaps[0].Number));
        var store = _dni.Service<DniStore>();
        var held = (await store.FindLastHoldsAsync(numbers[0], whileHeld)).First();
        Assert.Equal(first, held.VisitorId);
        Assert.True(held.ReleasedAt > whileHeld);
        Assert.Equal(last, (await store.FindLastHoldsAsync(numbers[0], DateTime.UtcNow)).First().VisitorId);
        // Between the two holds the number was free: its last holder's hold had ended.
        var between = (await store.FindLastHoldsAsync(numbers[0], whileHeld.AddSeconds(1.5))).First();
        Assert.Equal(first, between.VisitorId);
        Assert.True(between.ReleasedAt <= whileHeld.AddSeconds(1.5));
    }

    [Fact]
    public async Task Heartbeats_keep_a_lease_beyond_its_idle_grace()
    {
        // Wide margins: these tests share 2 cores with silo processes, and a delay may run long, never short.
        var (tenant, pool, numbers, overflow) = await _dni.PoolAsync(size: 1, leaseSeconds: 1, idleGraceSeconds: 4);
        var holder = Guid.NewGuid();
        var held = await _dni.Visit(tenant, pool, holder);
        await Task.Delay(TimeSpan.FromSeconds(1.5));
        Assert.NotNull(await _dni.Grains.GetGrain<Visitors.IVisitorGrain>(TenantKey.For(tenant, holder.ToString())).Heartbeat(held.SessionId));

        await Task.Delay(TimeSpan.FromSeconds(2.8));   // 4.3 s: without the heartbeat the hold ended at 4 s
        var whileExtended = await _dni.Visit(tenant, pool, Guid.NewGuid());
        await Task.Delay(TimeSpan.FromSeconds(1.7));   // 6 s: the heartbeat's grace (1.5 + 4) is over
        var afterwards = await _dni.Visit(tenant, pool, Guid.NewGuid());

        Assert.Equal((overflow, true), (whileExtended.Swaps[0].Number, whileExtended.Swaps[0].Overflow));
        Assert.Equal((numbers[0], false), (afterwards.Swaps[0].Number, afterwards.Swaps[0].Overflow));
    }

    [Fact]
    public async Task A_new_paid_click_is_a_new_touch_a_reload_is_not_and_test_sessions_are_marked()
    {
        var (tenant, pool, _, _) = await _dni.PoolAsync(size: 2);
        var visitor = Guid.NewGuid();

        var organic = await _dni.Visit(tenant, pool, visitor, referrer: "https://www.google.com/");
        await _dni.Visit(tenant, pool, visitor, organic.SessionId, url: Ad("AD1", "spring"));
        await _dni.Visit(tenant, pool, visitor, organic.SessionId, url: Ad("AD1", "spring"));
        await _dni.Visit(tenant, pool, visitor);   // a later direct session: not a touch
        var test = await _dni.Visit(tenant, pool, Guid.NewGuid(), url: "https://acme.example/?callmesh_test=1");

        var history = await _dni.History(tenant, visitor);
        Assert.Equal([("google", "organic", (string?)null), ("google", "cpc", "AD1")],
            history.Touches.Select(t => (t.Source, t.Medium, t.ClickIds.Gclid)));
        Assert.Equal(2, history.Sessions.Count);
        Assert.True(test.IsTest);
        Assert.True(await fixture.Database.Scalar<bool>("SELECT is_test FROM callmesh.dni_sessions WHERE session_id = $1", test.SessionId));
    }

    /// <summary>The grain keeps only each session's last click in memory; after a deactivation it rebuilds that from the rows.</summary>
    [Fact]
    public async Task A_visitor_back_from_deactivation_still_tells_a_reload_from_a_new_click()
    {
        var (tenant, pool, _, _) = await _dni.PoolAsync(size: 2);
        var visitor = Guid.NewGuid();
        var first = await _dni.Visit(tenant, pool, visitor, url: Ad("AD1", "spring"));
        await _dni.Visit(tenant, pool, visitor, first.SessionId, url: Ad("AD2", "spring"));

        await _dni.Grains.GetGrain<Orleans.Runtime.IManagementGrain>(0).ForceActivationCollection(TimeSpan.Zero);
        var reload = await _dni.Visit(tenant, pool, visitor, first.SessionId, url: Ad("AD2", "spring"));
        await _dni.Visit(tenant, pool, visitor, first.SessionId, url: Ad("AD3", "summer"));

        Assert.Equal(first.SessionId, reload.SessionId);
        var history = await _dni.History(tenant, visitor);
        Assert.Equal(["AD1", "AD2", "AD3"], history.Touches.Select(t => t.ClickIds.Gclid));
        Assert.Equal(["spring", "spring", "summer"], history.Touches.Select(t => t.Campaign));
    }

    [Fact]
    public async Task A_visitors_first_session_is_a_touch_even_when_direct_and_its_later_direct_ones_are_not()
    {
        var (tenant, pool, _, _) = await _dni.PoolAsync(size: 2);
        var visitor = Guid.NewGuid();

        await _dni.Visit(tenant, pool, visitor);
        // The later session finds the visitor restored from its rows, which must remember that first touch.
        await _dni.Grains.GetGrain<Orleans.Runtime.IManagementGrain>(0).ForceActivationCollection(TimeSpan.Zero);
        await _dni.Visit(tenant, pool, visitor);

        var history = await _dni.History(tenant, visitor);
        Assert.Equal(2, history.Sessions.Count);
        Assert.Equal([history.Sessions[0].SessionId], history.Touches.Select(t => t.SessionId));
    }

    /// <summary>A landing URL with a Google Ads click id and a campaign.</summary>
    private static string Ad(string gclid, string campaign) => $"https://acme.example/?gclid={gclid}&utm_campaign={campaign}";

    [Fact]
    public async Task Pool_numbers_must_be_this_tenants_and_free_of_other_uses()
    {
        var (tenant, pool, numbers, _) = await _dni.PoolAsync(size: 2);
        var second = _dni.Grains.GetGrain<INumberPoolGrain>(TenantKey.For(tenant, "other"));

        var taken = await second.Put(new PoolConfig(null, [numbers[0]], null, null, null));
        var notImported = await second.Put(new PoolConfig(null, DniSetup.NewNumbers(1), null, null, null));

        Assert.Equal(SaveOutcome.Invalid, taken.Outcome);
        Assert.Contains("used by pool 'web'", Assert.Single(taken.Errors["numbers[0]"]));
        Assert.Contains("import it first", Assert.Single(notImported.Errors["numbers[0]"]));
        Assert.Null(await second.Get());
        Assert.Equal(pool, await fixture.Database.Scalar<string>("SELECT pool_id FROM callmesh.tracking_numbers WHERE number = $1", numbers[0]));
    }

    [Fact]
    public async Task A_journal_entry_the_database_rejects_leaves_none_of_its_rows()
    {
        var (tenant, pool, numbers, _) = await _dni.PoolAsync(size: 1);
        var (visitor, session) = (Guid.NewGuid(), Guid.NewGuid());
        var now = DateTime.UtcNow;
        // The session row is valid; the lease row breaks the kind check. The batch has no explicit transaction, so this
        // fails if its statements were not one implicit transaction.
        var entry = new JournalEntry(
            [new SessionRow(session, tenant, visitor, "no-site", now, "https://example.com/", null, false)], [],
            [new LeaseRow(tenant, pool, numbers[0], (LeaseKind)99, visitor, session, null, now)], []);

        await Assert.ThrowsAsync<Npgsql.PostgresException>(() => _dni.Service<DniJournal>().WriteAsync(entry));

        Assert.Equal(0, await fixture.Database.Scalar<long>("SELECT count(*) FROM callmesh.dni_sessions WHERE session_id = $1", session));
        // The journal goes on after a failed batch: the same entry, mended, is written whole, and written again changes nothing.
        var mended = entry with { Leases = [entry.Leases[0] with { Kind = LeaseKind.Lease }] };
        Assert.Empty(await _dni.Service<DniJournal>().WriteAsync(mended));
        Assert.Empty(await _dni.Service<DniJournal>().WriteAsync(mended with { Leases = [] }));
        Assert.Equal(1, await fixture.Database.Scalar<long>("SELECT count(*) FROM callmesh.dni_sessions WHERE session_id = $1", session));
        Assert.Equal(visitor, (await _dni.Service<DniStore>().FindLastHoldsAsync(numbers[0], DateTime.UtcNow)).First().VisitorId);
    }

    [Fact]
    public async Task The_journal_takes_new_connections_when_its_own_are_cut()
    {
        var (tenant, _, _, _) = await _dni.PoolAsync(size: 1);
        var store = _dni.Service<DniJournal>();
        await store.WriteAsync(SessionEntry(tenant, Guid.NewGuid()));

        // As a database restart or a proxy's idle timeout would: the writers' connections die under them.
        var cut = await fixture.Database.Scalar<long>(
            """
            SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
             WHERE datname = current_database() AND query LIKE 'INSERT INTO callmesh.dni_sessions%'
            """);
        Assert.True(cut >= 1);

        // A batch on a cut connection fails (its callers are told, nothing is acknowledged); each writer fails at most once.
        var failures = 0;
        var written = new List<Guid>();
        while (written.Count < 12)
        {
            var id = Guid.NewGuid();
            try
            {
                await store.WriteAsync(SessionEntry(tenant, id));
                written.Add(id);
            }
            catch (Npgsql.NpgsqlException)
            {
                Assert.True(++failures <= 2, "a writer kept its cut connection");
            }
        }
        Assert.Equal(12, await fixture.Database.Scalar<long>("SELECT count(*) FROM callmesh.dni_sessions WHERE session_id = ANY($1)", written.ToArray()));
    }

    [Fact]
    public async Task Entries_behind_a_stalled_journal_transaction_are_written_while_it_waits()
    {
        var (tenant, pool, numbers, _) = await _dni.PoolAsync(size: 1);
        var store = _dni.Service<DniJournal>();

        // An open transaction holds a live lease of the number, so the journal's insert of another lease of it waits
        // for that transaction to end: a transaction stalled as behind a slow WAL flush, only for as long as we like.
        await using var blocker = new Npgsql.NpgsqlConnection(fixture.Database.ConnectionString);
        await blocker.OpenAsync();
        await using var blocking = await blocker.BeginTransactionAsync();
        await using (var insert = new Npgsql.NpgsqlCommand(
            """
            INSERT INTO callmesh.number_leases (tenant_id, pool_id, number, kind, visitor_id, session_id, leased_at)
            VALUES ($1, $2, $3, 'lease', gen_random_uuid(), gen_random_uuid(), now())
            """, blocker, blocking)
        { Parameters = { new() { Value = tenant }, new() { Value = pool }, new() { Value = numbers[0] } } })
            await insert.ExecuteNonQueryAsync();

        var (visitor, session) = (Guid.NewGuid(), Guid.NewGuid());
        var stalled = store.WriteAsync(new JournalEntry([], [],
            [new LeaseRow(tenant, pool, numbers[0], LeaseKind.Lease, visitor, session, null, DateTime.UtcNow)], []));
        await Task.Delay(TimeSpan.FromMilliseconds(200));
        Assert.False(stalled.IsCompleted);

        var behind = Enumerable.Range(0, 40).Select(_ => Guid.NewGuid()).ToList();
        // The helper's first batch may meet a connection another test of this class cut (The_journal_takes_new_connections…):
        // its callers are told, as the swap script is, and send again; the helper has a new connection by then.
        async Task WriteOnceMoreIfCut(Guid id)
        {
            try { await store.WriteAsync(SessionEntry(tenant, id)); }
            catch (Npgsql.PostgresException e) when (e.SqlState == "57P01") { await store.WriteAsync(SessionEntry(tenant, id)); }
        }
        await Task.WhenAll(behind.Select(WriteOnceMoreIfCut)).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.False(stalled.IsCompleted);
        Assert.Equal(40, await fixture.Database.Scalar<long>("SELECT count(*) FROM callmesh.dni_sessions WHERE session_id = ANY($1)", behind.ToArray()));

        // The other holder gives up: the stalled lease goes through, and is not refused.
        await blocking.RollbackAsync();
        Assert.Empty(await stalled.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal(visitor, (await _dni.Service<DniStore>().FindLastHoldsAsync(numbers[0], DateTime.UtcNow)).First().VisitorId);
    }

    [Fact]
    public async Task A_hold_the_database_knows_but_the_pool_does_not_is_never_leased_twice()
    {
        var (tenant, pool, numbers, _) = await _dni.PoolAsync(size: 2);
        // As if a previous activation of this pool journaled a lease after this activation restored.
        var stranger = Guid.NewGuid();
        await fixture.Database.Scalar<int>(
            """
            INSERT INTO callmesh.number_leases (tenant_id, pool_id, number, kind, visitor_id, session_id, leased_at)
            VALUES ($1, $2, $3, 'lease', $4, gen_random_uuid(), now() - interval '1 minute')
            """, tenant, pool, numbers[0], stranger);

        var answer = await _dni.Visit(tenant, pool, Guid.NewGuid());
        var next = await _dni.Visit(tenant, pool, Guid.NewGuid());

        Assert.Equal(numbers[1], answer.Swaps[0].Number);       // the pool offered numbers[0]; the journal refused it
        Assert.True(next.Swaps[0].Overflow);                       // and the pool now knows the stranger holds it
        Assert.Equal(stranger, (await _dni.Service<DniStore>().FindLastHoldsAsync(numbers[0], DateTime.UtcNow)).First().VisitorId);
    }

    /// <summary>A journal entry of one new session and nothing else: rows that never conflict.</summary>
    private static JournalEntry SessionEntry(string tenant, Guid sessionId) =>
        new([new SessionRow(sessionId, tenant, Guid.NewGuid(), "no-site", DateTime.UtcNow, "https://example.com/", null, false)], [], [], []);
}
