-- A tenant's blocked callers, read with the caller's call history in one round trip when a call arrives
-- (they were CallerGrain state before; that state is copied here and dropped).
CREATE TABLE callmesh.blocked_callers (
    tenant_id   text NOT NULL,
    caller      text NOT NULL,
    reason      text NULL,
    blocked_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, caller)
);

INSERT INTO callmesh.blocked_callers (tenant_id, caller, reason, blocked_at)
SELECT split_part(grain_id_ext, '/', 1), substr(grain_id_ext, strpos(grain_id_ext, '/') + 1),
       convert_from(payload, 'UTF8')::jsonb ->> 'blockedReason', modified_at
  FROM orleans.grain_state
 WHERE state_name = 'caller' AND payload IS NOT NULL
   AND (convert_from(payload, 'UTF8')::jsonb ->> 'blocked')::boolean
ON CONFLICT DO NOTHING;

DELETE FROM orleans.grain_state WHERE state_name = 'caller';
