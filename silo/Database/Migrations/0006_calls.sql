-- Calls: carrier accounts (whose webhooks we trust), one row per call (the list, exports and
-- rollup rebuilds read it; the CallGrain writes it), and the tenant's API keys for integrations.

-- A carrier account (Twilio/SignalWire AccountSid) belongs to one tenant. The auth token signs its
-- webhooks; it is never returned by the API or logged.
CREATE TABLE callmesh.carrier_accounts (
    account_sid  text PRIMARY KEY,
    tenant_id    text NOT NULL,
    carrier      text NOT NULL CHECK (carrier IN ('twilio', 'signalwire')),
    auth_token   text NOT NULL,
    updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX carrier_accounts_by_tenant ON callmesh.carrier_accounts (tenant_id);

CREATE TABLE callmesh.calls (
    call_id              text PRIMARY KEY,            -- the carrier's CallSid of the inbound leg
    tenant_id            text NOT NULL,
    location_id          text NULL,
    account_sid          text NOT NULL,
    tracking_number      text NOT NULL,
    number_kind          text NOT NULL CHECK (number_kind IN ('pool', 'static', 'overflow', 'unassigned', 'unknown')),
    pool_id              text NULL,
    static_key           text NULL,
    caller               text NOT NULL,
    started_at           timestamptz NOT NULL,
    ended_at             timestamptz NULL,
    status               text NOT NULL,               -- the inbound leg's last status (ringing … completed)
    answered             boolean NOT NULL DEFAULT false,
    duration_seconds     integer NOT NULL DEFAULT 0,  -- the whole inbound call
    talk_seconds         integer NOT NULL DEFAULT 0,  -- the forwarded (dialed) leg
    recording_url        text NULL,
    route                text NOT NULL,               -- open | after-hours | fail-safe | blocked | not-in-service
    routing              jsonb NOT NULL,              -- the answer given to the carrier (CallRouting)
    source               text NOT NULL,
    medium               text NOT NULL,
    campaign             text NULL,
    keyword              text NULL,
    gclid                text NULL,
    landing_page         text NULL,
    visitor_id           uuid NULL,
    session_id           uuid NULL,
    is_test              boolean NOT NULL DEFAULT false,
    first_time           boolean NOT NULL,            -- first call of this caller to the tenant
    first_time_location  boolean NOT NULL,            -- … to this location
    days_since_previous  double precision NULL,       -- since this caller's previous call to the tenant
    within_hours         boolean NOT NULL,
    qualified            boolean NOT NULL DEFAULT false,
    met_rules            text[] NOT NULL DEFAULT '{}',
    outcome              text NULL,
    value                numeric(14, 2) NULL,
    currency             text NULL,
    outcome_external_id  text NULL,
    applied_events       text[] NOT NULL DEFAULT '{}', -- carrier deliveries already applied (dedupe keys)
    updated_at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX calls_by_tenant_time ON callmesh.calls (tenant_id, started_at DESC, call_id DESC);
CREATE INDEX calls_by_location_time ON callmesh.calls (tenant_id, location_id, started_at DESC, call_id DESC);
CREATE INDEX calls_by_caller ON callmesh.calls (tenant_id, caller, started_at);

-- Integration keys: "cmk_<id>_<secret>"; only a SHA-256 of the secret is kept.
CREATE TABLE callmesh.api_keys (
    key_id       text PRIMARY KEY,
    tenant_id    text NOT NULL,
    name         text NOT NULL,
    scopes       text[] NOT NULL,
    secret_hash  bytea NOT NULL,
    created_by   text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    revoked_at   timestamptz NULL
);
CREATE INDEX api_keys_by_tenant ON callmesh.api_keys (tenant_id);
