-- Texts to tracking numbers are leads like calls (kind 'text'): in the calls table, attributed and counted apart.
ALTER TABLE callmesh.calls ADD COLUMN kind text NOT NULL DEFAULT 'call';
ALTER TABLE callmesh.rollup_days ADD COLUMN texts bigint NOT NULL DEFAULT 0;
ALTER TABLE callmesh.rollup_months ADD COLUMN texts bigint NOT NULL DEFAULT 0;
ALTER TABLE callmesh.rollup_touches ADD COLUMN texts bigint NOT NULL DEFAULT 0;
