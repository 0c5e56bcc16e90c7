-- Marking a carrier account verified (0025) changes nothing a silo routes by: only a change of the columns the routing
-- copy holds tells the silos to reload it (each reload reads every tracking number of every tenant).
DROP TRIGGER routing_changed ON callmesh.carrier_accounts;
CREATE TRIGGER routing_changed AFTER INSERT OR DELETE OR TRUNCATE OR UPDATE OF account_sid, tenant_id, carrier, auth_token
    ON callmesh.carrier_accounts FOR EACH STATEMENT EXECUTE FUNCTION callmesh.notify_routing_changed();
