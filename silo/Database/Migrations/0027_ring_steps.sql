-- Ring strategies (a location's steps, then voicemail): which step answered, how long the caller waited for it, and
-- whether a missed caller left a message. Nullable or with a constant default: no table rewrite.
ALTER TABLE callmesh.calls
    ADD COLUMN answered_by_step integer,
    ADD COLUMN ring_seconds integer,
    ADD COLUMN voicemail boolean NOT NULL DEFAULT false;

-- Report measures of the ring: voicemails, and the wait of answered calls (its sum over the calls whose wait is known,
-- and their count, for the average). Rows written before count none; a rollup rebuild recomputes them from the calls.
ALTER TABLE callmesh.rollup_days
    ADD COLUMN voicemails bigint NOT NULL DEFAULT 0,
    ADD COLUMN ring_seconds bigint NOT NULL DEFAULT 0,
    ADD COLUMN ring_timed bigint NOT NULL DEFAULT 0;
ALTER TABLE callmesh.rollup_months
    ADD COLUMN voicemails bigint NOT NULL DEFAULT 0,
    ADD COLUMN ring_seconds bigint NOT NULL DEFAULT 0,
    ADD COLUMN ring_timed bigint NOT NULL DEFAULT 0;
ALTER TABLE callmesh.rollup_touches
    ADD COLUMN voicemails bigint NOT NULL DEFAULT 0,
    ADD COLUMN ring_seconds bigint NOT NULL DEFAULT 0,
    ADD COLUMN ring_timed bigint NOT NULL DEFAULT 0;
