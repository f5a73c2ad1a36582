-- Reading functions in a BI tool's parallel plan: score_of and stage_of
-- evaluated by parallel workers (and the leader) over many leads give the
-- same answers as a serial plan.
SET search_path = public, mql_score;
INSERT INTO models (name, half_life) VALUES ('par', '3650 days');
INSERT INTO stages (model, name, position, min_score) VALUES ('par', 'lead', 1, 0), ('par', 'mql', 2, 20);
INSERT INTO rules (model, event_type, points) VALUES ('par', 'visit', 5), ('par', 'demo', 30);
CREATE TABLE par_events (contact bigint, at timestamptz, kind text);
CREATE INDEX ON par_events (contact);
SELECT track('par_events', 'contact', 'at', 'kind', model => 'par');
INSERT INTO par_events
SELECT g % 20000, timestamptz '2026-11-01' + (g % 97) * interval '1 hour', CASE WHEN g % 7 = 0 THEN 'demo' ELSE 'visit' END
FROM generate_series(1, 60000) g;
CREATE TABLE bi_leads AS SELECT g AS id FROM generate_series(1, 100000) g;
ANALYZE bi_leads;

-- the serial answer
SET max_parallel_workers_per_gather = 0;
SELECT count(*) AS above_one, count(*) FILTER (WHERE stage_of(id, 'par') = 'mql') AS mqls
FROM bi_leads WHERE score_of(id, 'par', '2026-12-01') > 1;

-- the issue's reproduction: a parallel plan over 100k lead ids
SET max_parallel_workers_per_gather = 2;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
EXPLAIN (COSTS OFF)
SELECT count(*) FROM bi_leads WHERE score_of(id, 'par', '2026-12-01') > 1;
SELECT count(*) AS above_one, count(*) FILTER (WHERE stage_of(id, 'par') = 'mql') AS mqls
FROM bi_leads WHERE score_of(id, 'par', '2026-12-01') > 1;
-- workers really ran it (not only the leader)
SET parallel_leader_participation = off;
SELECT count(*) AS above_one FROM bi_leads WHERE score_of(id, 'par', '2026-12-01') > 1;
RESET parallel_leader_participation;
-- the leads view in a parallel plan too
SELECT count(*) AS mqls FROM leads WHERE model = 'par' AND stage = 'mql';
RESET max_parallel_workers_per_gather;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;

-- a rule edit committed meanwhile is seen by the next serial read (the
-- cache a parallel query built from its own snapshot is not kept)
UPDATE rules SET points = 6 WHERE model = 'par' AND event_type = 'visit';
CALL rescore('par', 100000);
SELECT round(score_of(1::bigint, 'par', '2026-12-01')::numeric, 6) AS score_after_edit,
       round((SELECT sum(CASE kind WHEN 'demo' THEN 30 ELSE 6 END * 0.5 ^ (extract(epoch FROM timestamptz '2026-12-01' - at) / (3650 * 86400)))
              FROM par_events WHERE contact = 1)::numeric, 6) AS by_hand;

SELECT untrack('par_events', 'par');
DROP TABLE par_events, bi_leads;
DELETE FROM models WHERE name = 'par';
