-- A location's month: the sum of its day rows (spend included), kept by the same writes. A brand report over 90 days
-- reads two or three months and the days at the range's ends instead of 90 day rows per location (docs/history.md).
CREATE TABLE callmesh.rollup_months (LIKE callmesh.rollup_days INCLUDING DEFAULTS);
ALTER TABLE callmesh.rollup_months RENAME COLUMN day TO month;   -- the month's first day
ALTER TABLE callmesh.rollup_months ADD PRIMARY KEY (tenant_id, location_id, month);
INSERT INTO callmesh.rollup_months
SELECT tenant_id, location_id, date_trunc('month', day)::date, sum(calls), sum(answered), sum(missed), sum(first_time), sum(qualified),
       sum(revenue), sum(duration_seconds), sum(sales), sum(appointments), sum(quotes), sum(inquiries), sum(spam), sum(other_outcomes), sum(spend)
  FROM callmesh.rollup_days GROUP BY 1, 2, 3;
