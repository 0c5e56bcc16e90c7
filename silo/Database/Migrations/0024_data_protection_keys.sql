-- Data Protection's key ring (silo/Database/PostgresKeyRepository.cs): the keys that seal carrier auth tokens and
-- destinations' credentials, each encrypted with the certificate of CALLMESH_DATA_PROTECTION_DIR.
CREATE TABLE callmesh.data_protection_keys (
    friendly_name text PRIMARY KEY,
    xml           text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now()
);
