-- Reports: each call's reporting day and touch path (what rollups and attribution models read),
-- a revision that orders a call's saves, and the tenant's imported daily ad spend.

ALTER TABLE callmesh.calls
    ADD COLUMN local_day date NULL,                       -- the call's day in its location's time zone (UTC without one)
    ADD COLUMN touches   jsonb NOT NULL DEFAULT '[]',     -- the visitor's touches up to the call, oldest first
    ADD COLUMN revision  integer NOT NULL DEFAULT 0;      -- +1 per save of the call's record
UPDATE callmesh.calls SET local_day = (started_at AT TIME ZONE 'UTC')::date WHERE local_day IS NULL;
ALTER TABLE callmesh.calls ALTER COLUMN local_day SET NOT NULL;
CREATE INDEX calls_by_location_day ON callmesh.calls (tenant_id, location_id, local_day);

-- A day of spend on a source and campaign, for a location or ('' ) for the brand as a whole.
-- Re-importing a (day, location, source, campaign) replaces its cost.
CREATE TABLE callmesh.spend (
    tenant_id    text NOT NULL,
    day          date NOT NULL,
    location_id  text NOT NULL DEFAULT '',
    source       text NOT NULL,
    campaign     text NOT NULL DEFAULT '',
    cost         numeric(14, 2) NOT NULL CHECK (cost >= 0),
    currency     text NOT NULL,
    imported_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, location_id, day, source, campaign)
);
