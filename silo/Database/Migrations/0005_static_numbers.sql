-- Static (offline / citation) numbers: what a call to one is attributed to.
ALTER TABLE callmesh.tracking_numbers
    ADD COLUMN medium   text NULL CHECK (medium IN ('gbp', 'citation', 'billboard', 'radio', 'tv', 'print', 'direct-mail', 'email', 'other')),
    ADD COLUMN label    text NULL,
    ADD COLUMN source   text NULL,
    ADD COLUMN campaign text NULL;
-- One number per static key of a location.
CREATE UNIQUE INDEX tracking_numbers_static_key ON callmesh.tracking_numbers (tenant_id, location_id, static_key) WHERE use_kind = 'static';
