-- Late calls (docs/attribution.md): a call after the visit is matched to the number's last holder, unless the
-- number changed hands too soon for that to be safe. What the match needs of each hold, and what it decided.

-- The holder's last sign of life (written with the release): a late call's delay is counted from it.
ALTER TABLE callmesh.number_leases ADD COLUMN last_seen_at timestamptz NULL;
-- The pool lent this number before it had rested (every rested number was taken): a late call of the
-- previous holder may reach this one.
ALTER TABLE callmesh.number_leases ADD COLUMN early_reuse boolean NOT NULL DEFAULT false;

-- How sure the credit is: live | afterRelease | ambiguous | overflow | static | callerHistory | none.
-- Rows written before this migration get what their number kind and session said.
ALTER TABLE callmesh.calls ADD COLUMN match text NULL;
UPDATE callmesh.calls SET match = CASE
    WHEN number_kind = 'static' THEN 'static'
    WHEN number_kind = 'overflow' THEN 'overflow'
    WHEN session_id IS NOT NULL THEN 'live'
    ELSE 'none' END;
ALTER TABLE callmesh.calls ALTER COLUMN match SET NOT NULL;
ALTER TABLE callmesh.calls ADD CONSTRAINT calls_match_kind
    CHECK (match IN ('live', 'afterRelease', 'ambiguous', 'overflow', 'static', 'callerHistory', 'none'));
ALTER TABLE callmesh.calls ADD COLUMN seconds_since_release double precision NULL;
-- An ambiguous call keeps every hold it might belong to, for review: [{visitorId, sessionId, leasedAt, releasedAt}].
ALTER TABLE callmesh.calls ADD COLUMN match_candidates jsonb NULL;
