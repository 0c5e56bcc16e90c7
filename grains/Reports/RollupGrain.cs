using CallMesh.Calls;
using CallMesh.Common;

namespace CallMesh.Reports;

/// <summary>
/// A location's rollups, in memory. The durable truth is the calls and spend tables: activation and
/// <see cref="Rebuild"/> read them, and every later change arrives as a notice from the call's grain or
/// from a spend import. Each call's last contribution is kept, so a changed call replaces its old one
/// (subtract, then add) instead of adding again.
/// </summary>
public sealed class RollupGrain(CallStore calls, SpendStore spendStore, RollupLoads loads) : Grain, IRollupGrain
{
    private readonly record struct BucketKey(DateOnly Day, string Source, string Medium, string? Campaign, string? Keyword);

    private readonly record struct SpendKey(DateOnly Day, string Source, string Campaign);

    private readonly Dictionary<string, CallContribution> _calls = [];
    private readonly Dictionary<BucketKey, Measures> _buckets = [];
    // Totals per day make the brand report (every location, totals only) a walk over days, not buckets.
    private readonly SortedDictionary<DateOnly, Measures> _days = [];
    private readonly Dictionary<SpendKey, decimal> _spend = [];
    // Dashboards ask for the same range again and again: the last answer holds until the next change.
    private (DateOnly From, DateOnly To, Measures Totals)? _lastTotals;

    private string _tenantId = "";
    private string? _locationId;   // null: the tenant's unassigned calls and spend

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        var (tenantId, id) = TenantKey.Parse(this.GetPrimaryKeyString());
        (_tenantId, _locationId) = (tenantId, id == IRollupGrain.Unassigned ? null : id);
        await Load();
    }

    private async Task Load()
    {
        var (rows, spend) = await loads.RunAsync(async () =>
        {
            var callsTask = calls.ForRollupAsync(_tenantId, _locationId);
            var spendTask = spendStore.ForLocationAsync(_tenantId, _locationId);
            return (await callsTask, await spendTask);
        });
        _calls.Clear(); _buckets.Clear(); _days.Clear(); _spend.Clear(); _lastTotals = null;
        foreach (var call in rows) Replace(Contributions.From(call));
        ApplySpend(spend);
    }

    public Task Record(CallContribution contribution)
    {
        Replace(contribution);
        return Task.CompletedTask;
    }

    private void Replace(CallContribution contribution)
    {
        if (_calls.TryGetValue(contribution.CallId, out var old))
        {
            if (old.Revision >= contribution.Revision) return;   // a late or repeated notice
            Add(old, -1);
        }
        _calls[contribution.CallId] = contribution;
        Add(contribution, +1);
    }

    private void Add(CallContribution call, int sign)
    {
        if (call.Measures.IsZero) return;
        var own = call.Touches[^1];
        var key = new BucketKey(call.Day, own.Source, own.Medium, own.Campaign, own.Keyword);
        Change(_buckets, key, call.Measures, sign);
        Change(_days, call.Day, call.Measures, sign);
    }

    private void Change<TKey>(IDictionary<TKey, Measures> sums, TKey key, Measures measures, int sign)
    {
        _lastTotals = null;
        var sum = sums.TryGetValue(key, out var current) ? current : Measures.Zero;
        sum = sign > 0 ? sum + measures : sum - measures;
        if (sum.IsZero) sums.Remove(key); else sums[key] = sum;
    }

    public Task ReplaceSpend(List<SpendEntry> spend)
    {
        ApplySpend(spend);
        return Task.CompletedTask;
    }

    private void ApplySpend(IEnumerable<SpendEntry> spend)
    {
        foreach (var entry in spend)
        {
            var key = new SpendKey(entry.Day, entry.Source, entry.Campaign);
            var previous = _spend.GetValueOrDefault(key);
            if (entry.Cost == 0) _spend.Remove(key); else _spend[key] = entry.Cost;
            Change(_days, entry.Day, new Measures { Spend = entry.Cost - previous }, +1);
        }
    }

    public async Task<RebuildResult> Rebuild()
    {
        var before = _buckets.ToDictionary();
        var spendBefore = _spend.ToDictionary();
        await Load();
        var changed = _buckets.Count(b => !before.TryGetValue(b.Key, out var old) || !old.SameAs(b.Value))
                      + before.Keys.Count(k => !_buckets.ContainsKey(k))
                      + _spend.Count(s => spendBefore.GetValueOrDefault(s.Key) != s.Value)
                      + spendBefore.Keys.Count(k => !_spend.ContainsKey(k));
        return new RebuildResult(_calls.Count, _buckets.Count, changed);
    }

    public Task<Measures> Totals(DateOnly from, DateOnly to)
    {
        if (_lastTotals is not { } last || last.From != from || last.To != to)
            _lastTotals = last = (from, to, Measures.Sum(_days.SkipWhile(d => d.Key < from).TakeWhile(d => d.Key <= to).Select(d => d.Value)));
        return Task.FromResult(last.Totals);
    }

    public Task<List<Bucket>> Buckets() => Task.FromResult(_buckets
        .Select(b => new Bucket(b.Key.Day, b.Key.Source, b.Key.Medium, b.Key.Campaign, b.Key.Keyword, b.Value)).ToList());

    public Task<List<ReportRow>> Report(ReportQuery query)
    {
        var rows = new Dictionary<(string Key, string? Source, string? Campaign), Measures>();
        void Add(string key, string? source, string? campaign, Measures measures) =>
            rows[(key, source, campaign)] = rows.TryGetValue((key, source, campaign), out var sum) ? sum + measures : measures;

        if (query.GroupBy == "day")
        {
            // A call belongs to one day whatever the model: days need no credit sharing.
            foreach (var (day, measures) in _days.Where(d => d.Key >= query.From && d.Key <= query.To))
                Add(day.ToString("yyyy-MM-dd"), null, null, measures);
        }
        else
        {
            foreach (var call in _calls.Values.Where(c => c.Day >= query.From && c.Day <= query.To && !c.Measures.IsZero))
            foreach (var (touch, share) in AttributionModels.Credit(call, query.Model, query.HalfLifeDays))
                switch (query.GroupBy)
                {
                    case "source": Add(touch.Source, touch.Source, null, share); break;
                    case "campaign": Add($"{touch.Source}/{touch.Campaign}", touch.Source, touch.Campaign ?? "", share); break;
                    default: Add(touch.Keyword ?? "", null, null, share); break;
                }
            // Spend is known per source and campaign, so it joins those rows (keyword rows have none).
            if (query.GroupBy is "source" or "campaign")
                foreach (var (key, cost) in _spend.Where(s => s.Key.Day >= query.From && s.Key.Day <= query.To))
                    if (query.GroupBy == "source") Add(key.Source, key.Source, null, new Measures { Spend = cost });
                    else Add($"{key.Source}/{key.Campaign}", key.Source, key.Campaign, new Measures { Spend = cost });
        }
        return Task.FromResult(rows.Select(r => new ReportRow(r.Key.Key, r.Key.Source, r.Key.Campaign, r.Value)).ToList());
    }
}
