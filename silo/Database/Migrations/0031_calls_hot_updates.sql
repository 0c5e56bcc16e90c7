-- A call's row is replaced two or three times in the seconds after it is written (the dial's result, the caller's end).
-- PostgreSQL can keep such an update on the row's page and leave every index alone (a HOT update) only when no indexed
-- column changes, nor any column a partial index's predicate reads, and the page has room. The call-back list's index
-- read answered and ended_at, which every call's end changes, so each update added an entry to all six indexes. It now
-- reads one stored column that changes only when a call ends missed or is handled. (Adding it rewrites the table once.)
ALTER TABLE callmesh.calls ADD COLUMN awaits_call_back boolean
    GENERATED ALWAYS AS (NOT answered AND ended_at IS NOT NULL AND NOT is_test AND coalesce(follow_up, 'open') <> 'handled') STORED;
DROP INDEX callmesh.calls_follow_ups;
CREATE INDEX calls_follow_ups ON callmesh.calls (tenant_id, started_at, call_id) WHERE awaits_call_back;

-- The room: a page is filled to 70 % by new calls, the rest kept for their updates (existing partitions on new pages).
DO $$
DECLARE part regclass;
BEGIN
    FOR part IN SELECT inhrelid::regclass FROM pg_inherits WHERE inhparent = 'callmesh.calls'::regclass LOOP
        EXECUTE format('ALTER TABLE %s SET (fillfactor = 70)', part);
    END LOOP;
END
$$;

-- As in 0013 (and run as its owner, as 0023 made it), with the room, and naming the columns it moves (a generated column
-- is computed, never inserted).
CREATE OR REPLACE FUNCTION callmesh.ensure_call_partitions(first_month date, last_month date) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    m date := date_trunc('month', first_month)::date;
    created integer := 0;
    part text;
    columns text;
BEGIN
    SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum) INTO columns FROM pg_attribute
     WHERE attrelid = 'callmesh.calls'::regclass AND attnum > 0 AND NOT attisdropped AND attgenerated = '';
    WHILE m <= last_month LOOP
        part := 'calls_' || to_char(m, 'YYYY_MM');
        IF to_regclass('callmesh.' || part) IS NULL THEN
            CREATE TEMP TABLE waiting_calls ON COMMIT DROP AS
                WITH moved AS (DELETE FROM callmesh.calls_default
                                WHERE started_at >= (m::timestamp AT TIME ZONE 'UTC')
                                  AND started_at < ((m + interval '1 month')::timestamp AT TIME ZONE 'UTC') RETURNING *)
                SELECT * FROM moved;
            EXECUTE format('CREATE TABLE callmesh.%I PARTITION OF callmesh.calls FOR VALUES FROM (%L) TO (%L) WITH (fillfactor = 70)',
                           part, (m::timestamp AT TIME ZONE 'UTC'), ((m + interval '1 month')::timestamp AT TIME ZONE 'UTC'));
            EXECUTE format('INSERT INTO callmesh.calls (%s) SELECT %s FROM waiting_calls', columns, columns);
            DROP TABLE waiting_calls;
            created := created + 1;
        END IF;
        m := (m + interval '1 month')::date;
    END LOOP;
    RETURN created;
END
$fn$;
