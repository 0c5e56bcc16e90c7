-- The statement that queues a call's events runs in every call change's transaction: it must cost next to nothing.

-- No foreign key from a delivery to its destination: checking it takes a share lock on the destination's row in every
-- call's transaction, and many transactions sharing one row's lock make PostgreSQL build multixacts for it. Deleting a
-- destination deletes its deliveries itself (DestinationStore.DeleteAsync).
ALTER TABLE callmesh.deliveries DROP CONSTRAINT deliveries_destination_id_fkey;

-- The filter as one expression (no subqueries), so PostgreSQL inlines it into the statement that queues each event
-- instead of planning the function's body again on every call.
CREATE OR REPLACE FUNCTION callmesh.destination_accepts(filters jsonb, event_type text, location_id text, source text,
                                                        first_time boolean, duration integer) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $fn$
    SELECT (NOT filters ? 'locations' OR coalesce(filters->'locations' ? location_id, false))
       AND (NOT filters ? 'sources' OR coalesce(filters->'sources' ? source, false))
       AND (NOT coalesce((filters->>'firstTimeOnly')::boolean, false) OR first_time)
       AND (event_type = 'call.started' OR NOT filters ? 'minDurationSeconds'
            OR duration >= (filters->>'minDurationSeconds')::integer)
$fn$;

-- An event's id is its sequence number with a random tag (evt_<seq>_<tag>, OutboxStore.EventId): found by its seq, so no
-- unique index on random text to update on every insert.
ALTER TABLE callmesh.outbox_events ADD COLUMN tag integer NOT NULL DEFAULT (floor(random() * 2147483647))::integer;
ALTER TABLE callmesh.outbox_events DROP COLUMN event_id;
-- The watcher finds a due delivery through deliveries_pending (a destination's oldest pending one is due unless its
-- receiver is failing): one index fewer to update per delivery.
DROP INDEX callmesh.deliveries_due;

-- A replay starts a delivery over; an attempt in flight when it did must not record over it (the dispatcher records only
-- attempts of the generation it read).
ALTER TABLE callmesh.deliveries ADD COLUMN generation integer NOT NULL DEFAULT 0;
-- Each generation numbers its attempts from 1; the log keeps them all.
ALTER TABLE callmesh.delivery_attempts ADD COLUMN generation integer NOT NULL DEFAULT 0;
ALTER TABLE callmesh.delivery_attempts DROP CONSTRAINT delivery_attempts_pkey;
ALTER TABLE callmesh.delivery_attempts ADD PRIMARY KEY (destination_id, seq, generation, attempt);

-- A queue: every delivery is inserted, updated once or twice and left. Vacuum and analyze it by the thousand rows, not
-- by a fraction of its size, so that dead index entries do not pile up ahead of the pending ones and the planner knows
-- how many are pending (a plan made from an empty table's statistics read every pending row for each one).
ALTER TABLE callmesh.deliveries SET (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 2000,
                                     autovacuum_analyze_scale_factor = 0, autovacuum_analyze_threshold = 2000);
