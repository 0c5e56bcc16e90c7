-- The services' rights: data, never schema (docs/security.md#database-roles). The migrator's role owns every table and
-- function; the silos log in as a role that is a member of callmesh_app, which may read and write rows and nothing more.
-- Creating it needs CREATEROLE once (or a DBA makes it first: CREATE ROLE callmesh_app NOLOGIN). Silos of two databases
-- on one server share it: its rights are granted per database, here.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'callmesh_app') THEN
        CREATE ROLE callmesh_app NOLOGIN;
    END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
    NULL;   -- another database's migrator made it at the same moment
END
$$;

GRANT USAGE ON SCHEMA callmesh, orleans TO callmesh_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA callmesh, orleans TO callmesh_app;
GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA callmesh, orleans TO callmesh_app;
-- Tables later migrations (and the partition functions below) create get the same rights.
ALTER DEFAULT PRIVILEGES IN SCHEMA callmesh GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO callmesh_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA orleans GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO callmesh_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA callmesh GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO callmesh_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA orleans GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO callmesh_app;
-- The migration journal is the migrator's alone.
REVOKE INSERT, UPDATE, DELETE ON callmesh.schema_versions FROM callmesh_app;

-- Retention makes next months' call partitions and drops expired ones at run time: the two functions below do that with
-- their owner's rights, and nothing else; search_path is pinned so a caller cannot slip its own objects in.
ALTER FUNCTION callmesh.ensure_call_partitions(date, date) SECURITY DEFINER SET search_path = pg_catalog, pg_temp;

CREATE FUNCTION callmesh.drop_call_partition(partition_name text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
    IF partition_name !~ '^calls_[0-9]{4}_[0-9]{2}$' OR NOT EXISTS (
        SELECT FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
         WHERE i.inhparent = 'callmesh.calls'::regclass AND c.relname = partition_name) THEN
        RAISE EXCEPTION 'not a monthly partition of callmesh.calls: %', partition_name USING ERRCODE = 'invalid_parameter_value';
    END IF;
    EXECUTE format('ALTER TABLE callmesh.calls DETACH PARTITION callmesh.%I', partition_name);
    EXECUTE format('DROP TABLE callmesh.%I', partition_name);
END
$fn$;
REVOKE EXECUTE ON FUNCTION callmesh.ensure_call_partitions(date, date), callmesh.drop_call_partition(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION callmesh.ensure_call_partitions(date, date), callmesh.drop_call_partition(text) TO callmesh_app;
