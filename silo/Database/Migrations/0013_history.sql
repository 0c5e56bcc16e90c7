-- Years of history at constant cost (docs/history.md): calls partitioned by month, rollups persisted as buckets,
-- background jobs, per-tenant retention and erasure.

-- ── Calls, partitioned by the month they started ────────────────────────────────────────────────────────────
-- A partitioned table's unique keys must hold the partition key, so call ids are kept unique (and findable
-- without knowing when the call started) by callmesh.call_keys: one small row per call, written first.
CREATE TABLE callmesh.call_keys (
    call_id     text PRIMARY KEY,
    tenant_id   text NOT NULL,
    started_at  timestamptz NOT NULL
);
CREATE INDEX call_keys_by_start ON callmesh.call_keys (started_at);

ALTER TABLE callmesh.calls RENAME TO calls_unpartitioned;
CREATE TABLE callmesh.calls (LIKE callmesh.calls_unpartitioned INCLUDING DEFAULTS INCLUDING CONSTRAINTS)
    PARTITION BY RANGE (started_at);
ALTER TABLE callmesh.calls ADD PRIMARY KEY (call_id, started_at);
-- Anything outside the months made ahead lands here rather than failing; ensure_call_partitions moves it out.
CREATE TABLE callmesh.calls_default PARTITION OF callmesh.calls DEFAULT;

-- Creates the monthly partitions from first_month to last_month that are missing (rows of those months waiting
-- in the default partition move into their own). Answers how many it created.
CREATE FUNCTION callmesh.ensure_call_partitions(first_month date, last_month date) RETURNS integer
LANGUAGE plpgsql AS $fn$
DECLARE
    m date := date_trunc('month', first_month)::date;
    created integer := 0;
    part text;
BEGIN
    WHILE m <= last_month LOOP
        part := 'calls_' || to_char(m, 'YYYY_MM');
        IF to_regclass('callmesh.' || part) IS NULL THEN
            CREATE TEMP TABLE waiting_calls ON COMMIT DROP AS
                WITH moved AS (DELETE FROM callmesh.calls_default
                                WHERE started_at >= (m::timestamp AT TIME ZONE 'UTC')
                                  AND started_at < ((m + interval '1 month')::timestamp AT TIME ZONE 'UTC') RETURNING *)
                SELECT * FROM moved;
            EXECUTE format('CREATE TABLE callmesh.%I PARTITION OF callmesh.calls FOR VALUES FROM (%L) TO (%L)',
                           part, (m::timestamp AT TIME ZONE 'UTC'), ((m + interval '1 month')::timestamp AT TIME ZONE 'UTC'));
            INSERT INTO callmesh.calls SELECT * FROM waiting_calls;
            DROP TABLE waiting_calls;
            created := created + 1;
        END IF;
        m := (m + interval '1 month')::date;
    END LOOP;
    RETURN created;
END
$fn$;

SELECT callmesh.ensure_call_partitions(
    LEAST(COALESCE((SELECT min(started_at) FROM callmesh.calls_unpartitioned)::date, current_date), current_date),
    (current_date + interval '3 months')::date);

INSERT INTO callmesh.calls SELECT * FROM callmesh.calls_unpartitioned;
INSERT INTO callmesh.call_keys (call_id, tenant_id, started_at) SELECT call_id, tenant_id, started_at FROM callmesh.calls_unpartitioned;
DROP TABLE callmesh.calls_unpartitioned;

-- Indexes on the parent are made on every partition, present and future.
CREATE INDEX calls_by_tenant_time ON callmesh.calls (tenant_id, started_at DESC, call_id DESC);
CREATE INDEX calls_by_location_time ON callmesh.calls (tenant_id, location_id, started_at DESC, call_id DESC);
CREATE INDEX calls_by_caller ON callmesh.calls (caller, started_at);
CREATE INDEX calls_by_location_day ON callmesh.calls (tenant_id, location_id, local_day);

-- ── Rollups ────────────────────────────────────────────────────────────────────────────────────────────────
-- Every call adds its measures here in the transaction that writes it (minus what its previous revision added),
-- so reports read buckets, never calls. location_id '' holds calls of no location.
-- Measures: counts are numeric because attribution models credit fractions of a call.

-- A location's day: what the brand, market and location totals read.
CREATE TABLE callmesh.rollup_days (
    tenant_id         text NOT NULL,
    location_id       text NOT NULL,
    day               date NOT NULL,
    calls             numeric NOT NULL DEFAULT 0,
    answered          numeric NOT NULL DEFAULT 0,
    missed            numeric NOT NULL DEFAULT 0,
    first_time        numeric NOT NULL DEFAULT 0,
    qualified         numeric NOT NULL DEFAULT 0,
    revenue           numeric NOT NULL DEFAULT 0,
    duration_seconds  numeric NOT NULL DEFAULT 0,
    sales             numeric NOT NULL DEFAULT 0,
    appointments      numeric NOT NULL DEFAULT 0,
    quotes            numeric NOT NULL DEFAULT 0,
    inquiries         numeric NOT NULL DEFAULT 0,
    spam              numeric NOT NULL DEFAULT 0,
    other_outcomes    numeric NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, location_id, day)
);

-- A location's day by the touch credited: model 'whole' holds calls with one touch (every model credits it
-- alike), each model's own rows hold its shares of calls with several touches. A report under model M reads
-- 'whole' and M. campaign and keyword '' when there is none.
CREATE TABLE callmesh.rollup_touches (
    tenant_id         text NOT NULL,
    location_id       text NOT NULL,
    day               date NOT NULL,
    model             text NOT NULL,
    source            text NOT NULL,
    medium            text NOT NULL,
    campaign          text NOT NULL,
    keyword           text NOT NULL,
    calls             numeric NOT NULL DEFAULT 0,
    answered          numeric NOT NULL DEFAULT 0,
    missed            numeric NOT NULL DEFAULT 0,
    first_time        numeric NOT NULL DEFAULT 0,
    qualified         numeric NOT NULL DEFAULT 0,
    revenue           numeric NOT NULL DEFAULT 0,
    duration_seconds  numeric NOT NULL DEFAULT 0,
    sales             numeric NOT NULL DEFAULT 0,
    appointments      numeric NOT NULL DEFAULT 0,
    quotes            numeric NOT NULL DEFAULT 0,
    inquiries         numeric NOT NULL DEFAULT 0,
    spam              numeric NOT NULL DEFAULT 0,
    other_outcomes    numeric NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, location_id, day, model, source, medium, campaign, keyword)
);

-- What the tenant's rollups reflect: the rules version the last rebuild applied to history (new calls always
-- use the rules of their day), and the first day whose calls are all still kept (retention deletes before it;
-- a rebuild leaves older days' buckets alone).
CREATE TABLE callmesh.rollup_state (
    tenant_id        text PRIMARY KEY,
    rules_version    integer NOT NULL DEFAULT 0,
    rebuilt_at       timestamptz NULL,
    calls_kept_from  date NULL
);

-- ── Jobs ───────────────────────────────────────────────────────────────────────────────────────────────────
-- Long work a brand admin starts (a rollup rebuild): resumable from its cursor by any silo after a silo loss.
CREATE TABLE callmesh.jobs (
    job_id       uuid PRIMARY KEY,
    tenant_id    text NOT NULL,
    kind         text NOT NULL CHECK (kind IN ('rollup-rebuild')),
    state        text NOT NULL CHECK (state IN ('queued', 'running', 'done', 'failed')),
    total        integer NOT NULL DEFAULT 0,     -- units of work (locations)
    done         integer NOT NULL DEFAULT 0,
    cursor       text NULL,                      -- the last unit finished
    detail       jsonb NOT NULL DEFAULT '{}',
    error        text NULL,
    created_by   text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    finished_at  timestamptz NULL
);
CREATE INDEX jobs_unfinished ON callmesh.jobs (updated_at) WHERE state IN ('queued', 'running');
CREATE INDEX jobs_by_tenant ON callmesh.jobs (tenant_id, created_at DESC);

-- ── Retention ──────────────────────────────────────────────────────────────────────────────────────────────
-- Months of calls and lease history a tenant keeps (none set: kept until the deployment's default says otherwise).
CREATE TABLE callmesh.retention (
    tenant_id    text PRIMARY KEY,
    call_months  integer NOT NULL CHECK (call_months BETWEEN 1 AND 240),
    updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX number_leases_by_release ON callmesh.number_leases (released_at) WHERE released_at IS NOT NULL;

-- Rollups were kept in memory until now: every tenant with calls gets a rebuild job, which the silos' job watcher
-- starts once they run.
INSERT INTO callmesh.jobs (job_id, tenant_id, kind, state, created_by)
SELECT gen_random_uuid(), tenant_id, 'rollup-rebuild', 'queued', 'migration 0013' FROM (SELECT DISTINCT tenant_id FROM callmesh.call_keys) t;
