-- The dispatcher's question, "which due deliveries are the oldest unfinished one of their call", answered by walking
-- the pending ones in order and probing each call's earliest: no sort of the whole backlog per batch.
CREATE INDEX deliveries_pending_by_call ON callmesh.deliveries (destination_id, call_id, seq) WHERE state = 'pending';
