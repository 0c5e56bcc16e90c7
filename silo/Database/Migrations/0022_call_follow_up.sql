-- Where a location is with calling a missed caller back: open (null), calledBack, handled (PATCH …/calls/{id}).
ALTER TABLE callmesh.calls ADD COLUMN follow_up text;

-- The call-back list (GET …/calls/follow-ups): missed calls not yet handled, oldest first. A partial index holds only
-- those, so the list costs what is on it. Built while call rows wait in the silos' journals (calls still ring).
CREATE INDEX calls_follow_ups ON callmesh.calls (tenant_id, started_at, call_id)
    WHERE NOT answered AND ended_at IS NOT NULL AND NOT is_test AND coalesce(follow_up, 'open') <> 'handled';
