-- CallMesh's own tables live in schema callmesh, beside the Orleans tables.
CREATE SCHEMA IF NOT EXISTS callmesh;

-- Who changed which configuration, and when: brand admins ask "who moved this location's
-- forward number?". Written by the API after the owning grain accepted the change.
CREATE TABLE callmesh.config_audit (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id   text NOT NULL,
    entity      text NOT NULL,
    entity_id   text NOT NULL,
    actor       text NOT NULL,
    changed_at  timestamptz NOT NULL DEFAULT now(),
    body        jsonb NOT NULL
);
CREATE INDEX config_audit_by_entity ON callmesh.config_audit (tenant_id, entity, entity_id, changed_at DESC);
