-- decayed_sum and decayed_union: exactness, precision on long spans,
-- parallel and partitionwise plans exercising the combine function.
SET search_path = mql_score, public;
SET extra_float_digits = 0;
SET timezone = 'UTC';
SELECT setseed(0.2026);

-- the catalog: combine functions and a real SQL transition type
SELECT a.aggfnoid::regprocedure AS aggregate, a.aggtransfn, a.aggcombinefn,
       a.aggtranstype::regtype, a.aggserialfn = 0 AS no_serialfn, p.proparallel
FROM pg_aggregate a JOIN pg_proc p ON p.oid = a.aggfnoid
WHERE p.pronamespace = 'mql_score'::regnamespace ORDER BY 1;

-- small exact cases; NULL arguments are skipped like sum() does
SELECT decayed_sum(p, t, '1 day') AS two_rows
FROM (VALUES (1.0, '2026-01-01 00:00:00+00'::timestamptz), (2, '2026-01-02 00:00:00+00')) v(p, t);
SELECT decayed_sum(p, t, '1 day') AS with_nulls
FROM (VALUES (4.0, '2026-01-01 00:00:00+00'::timestamptz), (NULL, '2026-01-05 00:00:00+00'),
             (8, NULL), (2, '2026-01-02 00:00:00+00')) v(p, t);
SELECT decayed_sum(p, t, h) AS null_half_life_skipped
FROM (VALUES (4.0, '2026-01-01 00:00:00+00'::timestamptz, interval '1 day'), (100, '2026-01-01', NULL)) v(p, t, h);
SELECT decayed_sum(p, t, '1 day') IS NULL AS empty_is_null,
       decayed_union(decayed(p, t, '1 day')) IS NULL AS union_empty_is_null
FROM (VALUES (1.0, '2026-01-01'::timestamptz)) v(p, t) WHERE false;
SELECT decayed_sum(p, t, '1 day') IS NULL AS all_null_is_null
FROM (VALUES (NULL::float8, '2026-01-01'::timestamptz)) v(p, t);

-- order of rows does not matter
SELECT abs(value_at(decayed_sum(p, t, '1 day' ORDER BY t), '2026-01-04')
           - value_at(decayed_sum(p, t, '1 day' ORDER BY t DESC), '2026-01-04')) < 1e-15 AS order_free
FROM (VALUES (1.0, '2026-01-01 00:00:00+00'::timestamptz), (2, '2026-01-03'), (-4, '2026-01-02')) v(p, t);

-- randomized: equal to an independent plain-SQL computation, per group
CREATE TEMP TABLE ev AS
SELECT (random() * 50)::int AS lead,
       (ARRAY[1, 3, 5, 8, 15, 40, -20])[1 + (random() * 6)::int]::float8 AS points,
       '2026-01-01'::timestamptz + random() * interval '180 days' AS at
FROM generate_series(1, 50000);
WITH agg AS (
  SELECT lead, value_at(decayed_sum(points, at, '30 days'), '2026-07-01') AS ours,
         sum(points * power(0.5, extract(epoch FROM '2026-07-01'::timestamptz - at) / extract(epoch FROM interval '30 days'))) AS plain,
         sum(abs(points) * power(0.5, extract(epoch FROM '2026-07-01'::timestamptz - at) / extract(epoch FROM interval '30 days'))) AS magnitude
  FROM ev GROUP BY lead)
SELECT count(*) AS groups, max(abs(ours - plain) / magnitude) < 1e-12 AS matches_plain_sql FROM agg;

-- decayed_union of per-week partials equals one decayed_sum over the rows
CREATE TEMP TABLE weekly AS
SELECT lead, date_trunc('week', at) AS week, decayed_sum(points, at, '30 days') AS d
FROM ev GROUP BY 1, 2;
WITH r AS (
  SELECT w.lead, value_at(decayed_union(w.d), '2026-07-01') AS rolled,
         (SELECT value_at(decayed_sum(points, at, '30 days'), '2026-07-01') FROM ev WHERE ev.lead = w.lead) AS direct,
         (SELECT sum(abs(points) * 0.5 ^ (extract(epoch FROM '2026-07-01'::timestamptz - at) / 2592000)) FROM ev WHERE ev.lead = w.lead) AS magnitude
  FROM weekly w GROUP BY w.lead)
SELECT count(*) AS leads, max(abs(rolled - direct) / magnitude) < 1e-12 AS rollup_matches FROM r;

-- precision on long spans, against a reference whose float8 terms are summed
-- exactly in numeric
-- 10 years of hourly-ish events with a 1-hour half-life, in time order and shuffled
CREATE TEMP TABLE decade AS
SELECT (1 + random() * 99)::float8 AS points,
       '2016-01-01'::timestamptz + g * interval '1 hour' + random() * interval '50 minutes' AS at
FROM generate_series(0, 87600) g;
WITH ref AS (
  SELECT max(at) AS t0 FROM decade),
r AS (
  SELECT (SELECT value_at(decayed_sum(points, at, '1 hour' ORDER BY at), t0) FROM decade) AS ordered,
         (SELECT value_at(decayed_sum(points, at, '1 hour' ORDER BY random()), t0) FROM decade) AS shuffled,
         -- (terms older than 1000 half-lives are below 2^-1000 and left out: power() raises on underflow)
         (SELECT sum((points * power(0.5, extract(epoch FROM t0 - at)::float8 / 3600))::numeric)
          FROM decade WHERE at > t0 - interval '1000 hours') AS exact
  FROM ref)
SELECT abs(ordered - exact::float8) / exact::float8 < 1e-12 AS ten_years_ordered_ok,
       abs(shuffled - exact::float8) / exact::float8 < 1e-12 AS ten_years_shuffled_ok
FROM r;
-- 1M events with a 7-day half-life
CREATE TEMP TABLE million AS
SELECT (ARRAY[1, 3, 5, 8, 15, 40])[1 + (random() * 5)::int]::float8 AS points,
       '2026-01-01'::timestamptz + random() * interval '365 days' AS at
FROM generate_series(1, 1000000);
WITH ref AS (SELECT max(at) AS t0 FROM million),
r AS (
  SELECT (SELECT value_at(decayed_sum(points, at, '7 days' ORDER BY at), t0) FROM million) AS ordered,
         (SELECT value_at(decayed_sum(points, at, '7 days'), t0) FROM million) AS heap_order,
         (SELECT sum((points * power(0.5, extract(epoch FROM t0 - at)::float8 / 604800))::numeric) FROM million) AS exact
  FROM ref)
SELECT abs(ordered - exact::float8) / exact::float8 < 1e-12 AS million_ordered_ok,
       abs(heap_order - exact::float8) / exact::float8 < 1e-12 AS million_heap_order_ok
FROM r;

-- forced parallel plan: Partial Aggregate in workers, combined by the leader
ANALYZE million;
CREATE TEMP TABLE serial_result AS
SELECT value_at(decayed_sum(points, at, '7 days'), '2027-01-01') AS v FROM million;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
-- temp tables are never scanned in parallel: use a regular table
CREATE TABLE million_shared AS SELECT * FROM million;
ANALYZE million_shared;
EXPLAIN (COSTS OFF) SELECT decayed_sum(points, at, '7 days') FROM million_shared;
SELECT abs(value_at(decayed_sum(points, at, '7 days'), '2027-01-01') - (SELECT v FROM serial_result))
       / (SELECT v FROM serial_result) < 1e-12 AS parallel_equals_serial
FROM million_shared;
EXPLAIN (COSTS OFF) SELECT decayed_union(d) FROM (SELECT decayed(points, at, '7 days') AS d FROM million_shared) s;
SELECT abs(value_at(decayed_union(decayed(points, at, '7 days')), '2027-01-01') - (SELECT v FROM serial_result))
       / (SELECT v FROM serial_result) < 1e-12 AS parallel_union_equals_serial
FROM million_shared;
RESET parallel_setup_cost; RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size; RESET max_parallel_workers_per_gather;
DROP TABLE million_shared;

-- partitionwise aggregation: a partial aggregate per partition, then combine
CREATE TABLE ev_part (lead int, points float8, at timestamptz) PARTITION BY RANGE (at);
CREATE TABLE ev_part_q1 PARTITION OF ev_part FOR VALUES FROM ('2026-01-01') TO ('2026-04-01');
CREATE TABLE ev_part_q2 PARTITION OF ev_part FOR VALUES FROM ('2026-04-01') TO ('2026-07-01');
CREATE TABLE ev_part_q3 PARTITION OF ev_part FOR VALUES FROM ('2026-07-01') TO ('2026-10-01');
INSERT INTO ev_part SELECT * FROM ev;
ANALYZE ev_part;
SET enable_partitionwise_aggregate = on;
SET max_parallel_workers_per_gather = 0;
EXPLAIN (COSTS OFF) SELECT lead, decayed_sum(points, at, '30 days') FROM ev_part GROUP BY lead;
WITH pw AS (SELECT lead, value_at(decayed_sum(points, at, '30 days'), '2026-07-01') AS v FROM ev_part GROUP BY lead),
     s AS (SELECT lead, value_at(decayed_sum(points, at, '30 days'), '2026-07-01') AS v,
                  sum(abs(points) * 0.5 ^ (extract(epoch FROM '2026-07-01'::timestamptz - at) / 2592000)) AS magnitude
           FROM ev GROUP BY lead)
SELECT count(*) AS groups, max(abs(pw.v - s.v) / s.magnitude) < 1e-12 AS partitionwise_equals_serial
FROM pw JOIN s USING (lead);
RESET enable_partitionwise_aggregate; RESET max_parallel_workers_per_gather;
DROP TABLE ev_part;

-- as a window aggregate: the running decayed score of one lead
SELECT t::date AS day, value_at(decayed_sum(p, t, '1 day') OVER (ORDER BY t), t) AS running
FROM (VALUES (8.0, '2026-01-01 00:00:00+00'::timestamptz), (8, '2026-01-02'), (8, '2026-01-03'), (0, '2026-01-05')) v(p, t)
ORDER BY t;

-- errors
\set VERBOSITY default
SELECT decayed_sum(p, t, h) FROM (VALUES (1.0, '2026-01-01'::timestamptz, interval '1 day'), (1, '2026-01-02', '2 days')) v(p, t, h);
SELECT decayed_sum(p, t, '1 day') FROM (VALUES ('NaN'::float8, '2026-01-01'::timestamptz)) v(p, t);
SELECT decayed_sum(p, t, '1 day') FROM (VALUES ('-Infinity'::float8, '2026-01-01'::timestamptz)) v(p, t);
SELECT decayed_sum(p, t, '1 day') FROM (VALUES (1.0, 'infinity'::timestamptz)) v(p, t);
SELECT decayed_sum(p, t, '0') FROM (VALUES (1.0, '2026-01-01'::timestamptz)) v(p, t);
SELECT decayed_union(d) FROM (VALUES (decayed(1, '2026-01-01', '1 day')), (decayed(1, '2026-01-01', '1 week'))) v(d);
SELECT decayed_sum_trans(NULL, 1, '2026-01-01', '1 day');
\set VERBOSITY sqlstate
SELECT decayed_sum(p, t, h) FROM (VALUES (1.0, '2026-01-01'::timestamptz, interval '1 day'), (1, '2026-01-02', '2 days')) v(p, t, h);
SELECT decayed_sum(p, t, '1 day') FROM (VALUES ('NaN'::float8, '2026-01-01'::timestamptz)) v(p, t);
SELECT decayed_sum(p, t, '1 day') FROM (VALUES (1.0, 'infinity'::timestamptz)) v(p, t);
\set VERBOSITY default
