-- Orleans ADO.NET grain persistence for PostgreSQL, written from
-- shared/orleans-adonet-postgres-contract.md §3. One row per (service, state name, grain key).
CREATE TABLE orleans.grain_state (
    service_id      text NOT NULL,
    state_name      text NOT NULL,
    grain_type_hash integer NOT NULL,
    grain_id_hash   integer NOT NULL,
    grain_id_n0     bigint NOT NULL,
    grain_id_n1     bigint NOT NULL,
    grain_id_ext    text NULL,
    payload         bytea NULL,          -- NULL: cleared (a tombstone that keeps the version)
    version         integer NOT NULL,    -- the etag, from 1
    modified_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT grain_state_natural_key
        UNIQUE NULLS NOT DISTINCT (service_id, state_name, grain_id_n0, grain_id_n1, grain_id_ext)
);
-- The provider's hashes may collide: they only narrow the scan, the full key is always compared.
CREATE INDEX grain_state_lookup ON orleans.grain_state (grain_id_hash, grain_type_hash);

INSERT INTO orleans.orleansquery (querykey, querytext) VALUES
('ReadFromStorageKey', $q$
SELECT payload AS PayloadBinary, version AS Version
  FROM orleans.grain_state
 WHERE grain_id_hash = @GrainIdHash AND grain_type_hash = @GrainTypeHash
   AND service_id = @ServiceId AND state_name = @GrainTypeString
   AND grain_id_n0 = @GrainIdN0 AND grain_id_n1 = @GrainIdN1
   AND grain_id_ext IS NOT DISTINCT FROM @GrainIdExtensionString;
$q$),
-- With an etag: update in place if it still matches. Without one: insert version 1 unless
-- the row exists. A conflict returns no row, which the provider reads as a stale write.
('WriteToStorageKey', $q$
WITH updated AS (
    UPDATE orleans.grain_state
       SET payload = @PayloadBinary, version = version + 1, modified_at = now()
     WHERE @GrainStateVersion IS NOT NULL
       AND grain_id_hash = @GrainIdHash AND grain_type_hash = @GrainTypeHash
       AND service_id = @ServiceId AND state_name = @GrainTypeString
       AND grain_id_n0 = @GrainIdN0 AND grain_id_n1 = @GrainIdN1
       AND grain_id_ext IS NOT DISTINCT FROM @GrainIdExtensionString
       AND version = @GrainStateVersion
    RETURNING version),
inserted AS (
    INSERT INTO orleans.grain_state (service_id, state_name, grain_type_hash, grain_id_hash,
                                     grain_id_n0, grain_id_n1, grain_id_ext, payload, version)
    SELECT @ServiceId, @GrainTypeString, @GrainTypeHash, @GrainIdHash,
           @GrainIdN0, @GrainIdN1, @GrainIdExtensionString, @PayloadBinary, 1
     WHERE @GrainStateVersion IS NULL
    ON CONFLICT DO NOTHING
    RETURNING version)
SELECT version AS NewGrainStateVersion FROM updated
UNION ALL
SELECT version FROM inserted;
$q$),
('ClearStorageKey', $q$
UPDATE orleans.grain_state
   SET payload = NULL, version = version + 1, modified_at = now()
 WHERE grain_id_hash = @GrainIdHash AND grain_type_hash = @GrainTypeHash
   AND service_id = @ServiceId AND state_name = @GrainTypeString
   AND grain_id_n0 = @GrainIdN0 AND grain_id_n1 = @GrainIdN1
   AND grain_id_ext IS NOT DISTINCT FROM @GrainIdExtensionString
   AND version = @GrainStateVersion
RETURNING version AS NewGrainStateVersion;
$q$),
('DeleteStorageKey', $q$
DELETE FROM orleans.grain_state
 WHERE grain_id_hash = @GrainIdHash AND grain_type_hash = @GrainTypeHash
   AND service_id = @ServiceId AND state_name = @GrainTypeString
   AND grain_id_n0 = @GrainIdN0 AND grain_id_n1 = @GrainIdN1
   AND grain_id_ext IS NOT DISTINCT FROM @GrainIdExtensionString
   AND version = @GrainStateVersion
RETURNING version + 1 AS NewGrainStateVersion;
$q$);
