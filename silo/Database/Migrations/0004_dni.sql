-- Dynamic number insertion: the tracking-number directory, visitor sessions and touches, and
-- the lease history that answers "which visitor held number N at time T" for call attribution.
CREATE EXTENSION IF NOT EXISTS btree_gist;

-- Every tracking number CallMesh knows, and its one current use. The primary key is what makes
-- "a number belongs to at most one tenant" true across the whole deployment.
CREATE TABLE callmesh.tracking_numbers (
    number       text PRIMARY KEY,              -- E.164
    tenant_id    text NOT NULL,
    carrier      text NOT NULL,
    account_sid  text NULL,
    use_kind     text NOT NULL DEFAULT 'unassigned' CHECK (use_kind IN ('unassigned', 'pool', 'overflow', 'static')),
    pool_id      text NULL,
    location_id  text NULL,
    static_key   text NULL,
    imported_at  timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX tracking_numbers_by_tenant ON callmesh.tracking_numbers (tenant_id, use_kind);

CREATE TABLE callmesh.dni_sessions (
    session_id   uuid PRIMARY KEY,
    tenant_id    text NOT NULL,
    visitor_id   uuid NOT NULL,
    site_key     text NOT NULL,
    started_at   timestamptz NOT NULL,
    landing_url  text NOT NULL,
    referrer     text NULL,
    is_test      boolean NOT NULL DEFAULT false
);
CREATE INDEX dni_sessions_by_visitor ON callmesh.dni_sessions (tenant_id, visitor_id, started_at);

-- A touch: a visit from a marketing source (a new session from a source, or a new paid click).
CREATE TABLE callmesh.touchpoints (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id    text NOT NULL,
    visitor_id   uuid NOT NULL,
    session_id   uuid NOT NULL,
    at           timestamptz NOT NULL,
    source       text NOT NULL,
    medium       text NOT NULL,
    campaign     text NULL,
    keyword      text NULL,
    gclid        text NULL,
    gbraid       text NULL,
    wbraid       text NULL,
    msclkid      text NULL,
    fbclid       text NULL,
    landing_page text NOT NULL,
    referrer     text NULL,
    decided_by   text NOT NULL                   -- which classification rule set the source
);
CREATE INDEX touchpoints_by_visitor ON callmesh.touchpoints (tenant_id, visitor_id, at);

-- One row per continuous hold of a pool number by a visitor (kind 'lease'), and one per
-- allocation answered with the overflow number (kind 'overflow', zero length).
CREATE TABLE callmesh.number_leases (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id    text NOT NULL,
    pool_id      text NOT NULL,
    number       text NOT NULL,
    kind         text NOT NULL CHECK (kind IN ('lease', 'overflow')),
    visitor_id   uuid NOT NULL,
    session_id   uuid NOT NULL,
    location_id  text NULL,
    leased_at    timestamptz NOT NULL,
    released_at  timestamptz NULL,                -- NULL while held
    -- The database itself refuses two overlapping holds of one number, whatever a silo believes.
    CONSTRAINT number_leases_no_double_lease
        EXCLUDE USING gist (number WITH =, tstzrange(leased_at, released_at) WITH &&) WHERE (kind = 'lease')
);
CREATE INDEX number_leases_by_number ON callmesh.number_leases (number, leased_at DESC);
CREATE INDEX number_leases_live_by_pool ON callmesh.number_leases (tenant_id, pool_id) WHERE released_at IS NULL AND kind = 'lease';
CREATE INDEX number_leases_by_pool_time ON callmesh.number_leases (tenant_id, pool_id, leased_at);
CREATE INDEX number_leases_by_visitor ON callmesh.number_leases (tenant_id, visitor_id) WHERE released_at IS NULL;
