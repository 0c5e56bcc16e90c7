-- A location's day carries its spend (cents), kept equal to the sum of callmesh.spend for that day by every import and
-- rebuild, so the brand and market reports read one table (docs/history.md).
ALTER TABLE callmesh.rollup_days ADD COLUMN spend bigint NOT NULL DEFAULT 0;
INSERT INTO callmesh.rollup_days AS r (tenant_id, location_id, day, spend)
SELECT tenant_id, location_id, day, round(sum(cost) * 100)::bigint FROM callmesh.spend GROUP BY tenant_id, location_id, day
ON CONFLICT (tenant_id, location_id, day) DO UPDATE SET spend = EXCLUDED.spend;
