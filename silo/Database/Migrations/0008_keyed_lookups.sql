-- Hot lookups go by their own key (a caller's number, a visitor id) rather than tenant first. A tenant that is
-- new to a big table has no statistics yet, so PostgreSQL guesses it has one row and may walk any tenant-first
-- index, reading every row of that tenant per lookup. Keyed on the caller or visitor, there is nothing to guess.
DROP INDEX callmesh.calls_by_caller;
CREATE INDEX calls_by_caller ON callmesh.calls (caller, started_at);
DROP INDEX callmesh.number_leases_by_visitor;
CREATE INDEX number_leases_by_visitor ON callmesh.number_leases (visitor_id) WHERE released_at IS NULL;
