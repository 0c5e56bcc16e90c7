-- Orleans ADO.NET clustering (membership) for PostgreSQL, written from
-- shared/orleans-adonet-postgres-contract.md §1-2. The provider reads its SQL from
-- orleans.orleansquery (unquoted names: PostgreSQL folds them to lower case).
CREATE SCHEMA IF NOT EXISTS orleans;

CREATE TABLE orleans.orleansquery (
    querykey  text PRIMARY KEY,
    querytext text NOT NULL
);

-- One version row per ClusterId (the provider calls it DeploymentId): the optimistic
-- concurrency token of that cluster's whole membership table.
CREATE TABLE orleans.membership_version (
    deployment_id text PRIMARY KEY,
    version       integer NOT NULL DEFAULT 0 CHECK (version >= 0),
    changed_at    timestamptz NOT NULL DEFAULT now()
);

-- One row per silo incarnation.
CREATE TABLE orleans.membership_member (
    deployment_id   text NOT NULL REFERENCES orleans.membership_version (deployment_id),
    address         text NOT NULL,
    port            integer NOT NULL,
    generation      integer NOT NULL,
    silo_name       text NOT NULL,
    host_name       text NOT NULL,
    status          integer NOT NULL,
    proxy_port      integer NOT NULL,
    suspect_times   text NULL,
    start_time      timestamptz NOT NULL,
    i_am_alive_time timestamptz NOT NULL,
    PRIMARY KEY (deployment_id, address, port, generation)
);

-- Locks the cluster's version row and tells whether it still holds p_version. The functions
-- below take this lock before they look at a member row: later statements in a READ COMMITTED
-- function see what other silos committed meanwhile, so a check and its write cannot interleave.
CREATE FUNCTION orleans.membership_lock_version(p_deployment_id text, p_version integer)
RETURNS boolean LANGUAGE plpgsql AS $fn$
DECLARE
    current_version integer;
BEGIN
    SELECT version INTO current_version FROM orleans.membership_version
     WHERE deployment_id = p_deployment_id FOR UPDATE;
    RETURN coalesce(current_version = p_version, false);   -- no version row: false
END
$fn$;

-- Insert a member and bump the version, only if the version still equals p_version.
CREATE FUNCTION orleans.membership_insert(
    p_deployment_id text, p_address text, p_port integer, p_generation integer,
    p_silo_name text, p_host_name text, p_status integer, p_proxy_port integer,
    p_start_time timestamptz, p_i_am_alive_time timestamptz, p_version integer)
RETURNS boolean LANGUAGE plpgsql AS $fn$
BEGIN
    IF NOT orleans.membership_lock_version(p_deployment_id, p_version) THEN
        RETURN false;
    END IF;
    INSERT INTO orleans.membership_member
        (deployment_id, address, port, generation, silo_name, host_name, status, proxy_port,
         suspect_times, start_time, i_am_alive_time)
    VALUES (p_deployment_id, p_address, p_port, p_generation, p_silo_name, p_host_name, p_status,
            p_proxy_port, NULL, p_start_time, p_i_am_alive_time)
    ON CONFLICT DO NOTHING;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    UPDATE orleans.membership_version SET version = version + 1, changed_at = now()
     WHERE deployment_id = p_deployment_id;
    RETURN true;
END
$fn$;

-- Update status, suspicions and heartbeat of a member and bump the version, only if the
-- version still equals p_version and the member exists.
CREATE FUNCTION orleans.membership_update(
    p_deployment_id text, p_address text, p_port integer, p_generation integer,
    p_status integer, p_suspect_times text, p_i_am_alive_time timestamptz, p_version integer)
RETURNS boolean LANGUAGE plpgsql AS $fn$
BEGIN
    IF NOT orleans.membership_lock_version(p_deployment_id, p_version) THEN
        RETURN false;
    END IF;
    UPDATE orleans.membership_member
       SET status = p_status, suspect_times = p_suspect_times, i_am_alive_time = p_i_am_alive_time
     WHERE deployment_id = p_deployment_id AND address = p_address
       AND port = p_port AND generation = p_generation;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    UPDATE orleans.membership_version SET version = version + 1, changed_at = now()
     WHERE deployment_id = p_deployment_id;
    RETURN true;
END
$fn$;

INSERT INTO orleans.orleansquery (querykey, querytext) VALUES
('InsertMembershipVersionKey', $q$
WITH created AS (
    INSERT INTO orleans.membership_version (deployment_id) VALUES (@DeploymentId)
    ON CONFLICT (deployment_id) DO NOTHING
    RETURNING 1)
SELECT EXISTS (SELECT 1 FROM created) AS created;
$q$),
('MembershipReadAllKey', $q$
SELECT v.version AS Version, m.address AS Address, m.port AS Port, m.generation AS Generation,
       m.silo_name AS SiloName, m.host_name AS HostName, m.status AS Status, m.proxy_port AS ProxyPort,
       m.suspect_times AS SuspectTimes, m.start_time AS StartTime, m.i_am_alive_time AS IAmAliveTime
  FROM orleans.membership_version v
  LEFT JOIN orleans.membership_member m ON m.deployment_id = v.deployment_id
 WHERE v.deployment_id = @DeploymentId;
$q$),
('MembershipReadRowKey', $q$
SELECT v.version AS Version, m.address AS Address, m.port AS Port, m.generation AS Generation,
       m.silo_name AS SiloName, m.host_name AS HostName, m.status AS Status, m.proxy_port AS ProxyPort,
       m.suspect_times AS SuspectTimes, m.start_time AS StartTime, m.i_am_alive_time AS IAmAliveTime
  FROM orleans.membership_version v
  LEFT JOIN orleans.membership_member m
         ON m.deployment_id = v.deployment_id AND m.address = @Address
        AND m.port = @Port AND m.generation = @Generation
 WHERE v.deployment_id = @DeploymentId;
$q$),
('InsertMembershipKey', $q$
SELECT orleans.membership_insert(@DeploymentId, @Address, @Port, @Generation, @SiloName, @HostName,
                                 @Status, @ProxyPort, @StartTime, @IAmAliveTime, @Version) AS inserted;
$q$),
('UpdateMembershipKey', $q$
SELECT orleans.membership_update(@DeploymentId, @Address, @Port, @Generation, @Status,
                                 @SuspectTimes, @IAmAliveTime, @Version) AS updated;
$q$),
('UpdateIAmAlivetimeKey', $q$
UPDATE orleans.membership_member SET i_am_alive_time = @IAmAliveTime
 WHERE deployment_id = @DeploymentId AND address = @Address AND port = @Port AND generation = @Generation;
$q$),
('GatewaysQueryKey', $q$
SELECT address AS Address, proxy_port AS ProxyPort, generation AS Generation
  FROM orleans.membership_member
 WHERE deployment_id = @DeploymentId AND status = @Status AND proxy_port > 0;
$q$),
('DeleteMembershipTableEntriesKey', $q$
DELETE FROM orleans.membership_member WHERE deployment_id = @DeploymentId;
DELETE FROM orleans.membership_version WHERE deployment_id = @DeploymentId;
$q$),
-- Both cleanup texts delete Dead (6) rows only; Active rows are never removed.
('CleanupDefunctSiloEntriesKey', $q$
DELETE FROM orleans.membership_member
 WHERE deployment_id = @DeploymentId AND status = 6
   AND i_am_alive_time < @IAmAliveTime AND start_time < @IAmAliveTime;
$q$),
('CleanupDefunctSiloEntryKey', $q$
DELETE FROM orleans.membership_member
 WHERE deployment_id = @DeploymentId AND address = @Address AND port = @Port
   AND generation = @Generation AND status = 6
   AND start_time = @StartTime AND i_am_alive_time = @IAmAliveTime
   AND suspect_times IS NOT DISTINCT FROM @SuspectTimes;
$q$);
