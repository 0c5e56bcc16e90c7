-- Each silo's routing snapshot read every tracking number on every reload: with 480,000 numbers (many brands) one reload
-- cost a silo 2 s of CPU, and a brand's set-up reloads once a second. A reload now reads the numbers changed since the
-- previous one (with a margin, silo/Calls/RoutingSnapshot.cs), found by when they changed. An update that does not say
-- when it changed a number is stamped now, so no writer can forget to.
CREATE FUNCTION callmesh.stamp_number_change() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    IF NEW.updated_at IS NOT DISTINCT FROM OLD.updated_at THEN
        NEW.updated_at := now();
    END IF;
    RETURN NEW;
END
$fn$;

CREATE TRIGGER number_changed BEFORE UPDATE ON callmesh.tracking_numbers
    FOR EACH ROW EXECUTE FUNCTION callmesh.stamp_number_change();

CREATE INDEX tracking_numbers_by_change ON callmesh.tracking_numbers (updated_at);
