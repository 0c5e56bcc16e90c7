-- What the voice webhook needs to route a call lives in every silo's memory (RoutingSnapshot): carrier accounts,
-- tracking numbers, blocked callers, tenants' and locations' configuration. A change to any of them tells every
-- listening silo at commit, so each reloads its copy within milliseconds instead of asking on every call.
-- The version tells a silo (every 30 s, in case a notice was missed) and the gateway (asking a silo for its copy)
-- whether anything changed at all; a rolled-back change only costs one needless reload.
CREATE SEQUENCE callmesh.routing_version;

CREATE FUNCTION callmesh.notify_routing_changed() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    PERFORM nextval('callmesh.routing_version');
    PERFORM pg_notify('callmesh_routing', '');
    RETURN NULL;
END
$fn$;

CREATE TRIGGER routing_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON callmesh.carrier_accounts
    FOR EACH STATEMENT EXECUTE FUNCTION callmesh.notify_routing_changed();
CREATE TRIGGER routing_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON callmesh.tracking_numbers
    FOR EACH STATEMENT EXECUTE FUNCTION callmesh.notify_routing_changed();
CREATE TRIGGER routing_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON callmesh.blocked_callers
    FOR EACH STATEMENT EXECUTE FUNCTION callmesh.notify_routing_changed();
-- Grain state is written by visitors on the DNI path too: only tenants' and locations' rows tell.
CREATE TRIGGER routing_changed AFTER INSERT OR UPDATE ON orleans.grain_state
    FOR EACH ROW WHEN (NEW.state_name IN ('tenant', 'location')) EXECUTE FUNCTION callmesh.notify_routing_changed();
