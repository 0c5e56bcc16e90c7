-- call_keys is read by call id alone (a call's start, its uniqueness; retention deletes keys by the ids of the calls it
-- deletes). Its index by start time was never read, and every new call paid for it.
DROP INDEX callmesh.call_keys_by_start;
