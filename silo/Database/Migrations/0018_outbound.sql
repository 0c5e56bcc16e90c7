-- Conversions out (docs/outbound.md): destinations per tenant, a transactional outbox of call events with one delivery
-- per matching destination, each attempt logged, and a ledger of the conversions the ad-platform files have carried.

-- Every click id of the call's touch (gclid stays in its own column, where exports and the calls API read it).
ALTER TABLE callmesh.calls ADD COLUMN click_ids jsonb NULL;

CREATE TABLE callmesh.destinations (
    tenant_id        text NOT NULL,
    destination_id   text NOT NULL UNIQUE,           -- dst_ + 24 hex: the dispatcher's grain key
    kind             text NOT NULL,                  -- webhook | googleAds | microsoftAds | ga4 | meta
    name             text NOT NULL,
    url              text NULL,                      -- where events go (webhook, ga4 and meta endpoints)
    events           text[] NOT NULL,
    filters          jsonb NOT NULL DEFAULT '{}',    -- locations, sources, firstTimeOnly, minDurationSeconds
    settings         jsonb NOT NULL DEFAULT '{}',    -- the kind's own, shown to brand admins
    credentials      jsonb NOT NULL DEFAULT '{}',    -- write-only: signing secrets, API secrets, access tokens
    feed_token_hash  bytea NULL UNIQUE,              -- SHA-256 of the scheduled-fetch token (ad-platform files)
    state            text NOT NULL DEFAULT 'active', -- active | paused | disabled
    state_reason     text NULL,
    state_changed_at timestamptz NULL,
    failing_since    timestamptz NULL,               -- the first failed attempt since the last success
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, destination_id)
);

-- Whether a destination's filters let a call's event through. The duration filter waits for the call to end, so it
-- does not hold back call.started.
CREATE FUNCTION callmesh.destination_accepts(filters jsonb, event_type text, location_id text, source text,
                                             first_time boolean, duration integer) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $fn$
    SELECT (NOT filters ? 'locations' OR location_id IN (SELECT jsonb_array_elements_text(filters->'locations')))
       AND (NOT filters ? 'sources' OR source IN (SELECT jsonb_array_elements_text(filters->'sources')))
       AND (NOT coalesce((filters->>'firstTimeOnly')::boolean, false) OR first_time)
       AND (event_type = 'call.started' OR NOT filters ? 'minDurationSeconds'
            OR duration >= (filters->>'minDurationSeconds')::integer)
$fn$;

-- An event, written in the transaction of the call change it reports, only when some destination wants it.
CREATE TABLE callmesh.outbox_events (
    seq          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,   -- delivery order
    event_id     text NOT NULL UNIQUE,                               -- evt_ + 32 hex: webhook-id, receivers dedupe on it
    tenant_id    text NOT NULL,
    call_id      text NOT NULL,
    type         text NOT NULL,
    occurred_at  timestamptz NOT NULL,
    payload      json NOT NULL                                       -- the call resource as the calls API returns it (json keeps its order)
);
CREATE INDEX outbox_events_by_call ON callmesh.outbox_events (tenant_id, call_id);

CREATE TABLE callmesh.deliveries (
    destination_id   text NOT NULL REFERENCES callmesh.destinations (destination_id) ON DELETE CASCADE,
    seq              bigint NOT NULL REFERENCES callmesh.outbox_events (seq) ON DELETE CASCADE,
    call_id          text NOT NULL,
    state            text NOT NULL DEFAULT 'pending',   -- pending | delivered | dead
    attempts         integer NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    first_attempt_at timestamptz NULL,
    last_status      integer NULL,
    last_error       text NULL,
    delivered_at     timestamptz NULL,
    PRIMARY KEY (destination_id, seq)
);
-- What the dispatcher reads: a destination's unfinished deliveries in order.
CREATE INDEX deliveries_pending ON callmesh.deliveries (destination_id, seq) WHERE state = 'pending';
CREATE INDEX deliveries_due ON callmesh.deliveries (destination_id, next_attempt_at) WHERE state = 'pending';

CREATE TABLE callmesh.delivery_attempts (
    destination_id text NOT NULL,
    seq            bigint NOT NULL,
    attempt        integer NOT NULL,
    at             timestamptz NOT NULL,
    status         integer NULL,          -- the receiver's HTTP status; null when it never answered
    latency_ms     integer NOT NULL,
    error          text NULL,
    response       text NULL,             -- the first 500 characters of the receiver's answer
    PRIMARY KEY (destination_id, seq, attempt),
    FOREIGN KEY (destination_id, seq) REFERENCES callmesh.deliveries (destination_id, seq) ON DELETE CASCADE
);

-- A conversion an ad-platform file carried: its time and value stay what they were the first time, so a file fetched
-- again repeats the row exactly (the platform ignores it) and a later value change goes out as an adjustment.
CREATE TABLE callmesh.conversion_ledger (
    tenant_id        text NOT NULL,
    platform         text NOT NULL,        -- googleAds | googleAdsCalls | microsoftAds
    call_id          text NOT NULL,
    conversion_name  text NOT NULL,
    conversion_time  timestamptz NOT NULL,
    value            numeric(14, 2) NULL,
    first_sent_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, platform, call_id, conversion_name)
);

-- A static number may be a Google Ads call asset's business number: calls forwarded by Google land on it, and their
-- conversions go back in Google's call-conversions file.
ALTER TABLE callmesh.tracking_numbers DROP CONSTRAINT tracking_numbers_medium_check;
ALTER TABLE callmesh.tracking_numbers ADD CONSTRAINT tracking_numbers_medium_check
    CHECK (medium IN ('gbp', 'citation', 'billboard', 'radio', 'tv', 'print', 'direct-mail', 'email', 'google-ads-call', 'other'));
