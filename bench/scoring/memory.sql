-- bench/scoring/memory.sql — a model with 1,000 rules over 100 event types
-- (a quarter with a LIKE condition, a quarter with a comparison, a quarter
-- with a jsonb condition; every fifth capped per day, every 50th once) on
-- one tracked table, to measure the configuration cache of a backend.
\set ON_ERROR_STOP on
SET client_min_messages = warning;
CREATE EXTENSION mql_score;
CREATE SCHEMA bench_mem;
CREATE TABLE bench_mem.events (
	id bigserial PRIMARY KEY,
	contact_id bigint,
	created_at timestamptz,
	kind text,
	path text,
	duration_s int,
	props jsonb
);
INSERT INTO mql_score.models (name, half_life) VALUES ('big', '30 days');
INSERT INTO mql_score.stages (model, name, position, min_score) VALUES
	('big', 'subscriber', 1, 0), ('big', 'lead', 2, 10), ('big', 'mql', 3, 100),
	('big', 'sql', 4, NULL), ('big', 'customer', 5, NULL);
SELECT mql_score.track('bench_mem.events', 'contact_id', 'created_at', 'kind', model => 'big');
INSERT INTO mql_score.rules (model, event_type, points, condition, max_per_day, once)
SELECT 'big', 'type_' || i % 100, 1 + i % 7,
       CASE i % 4
           WHEN 1 THEN format('path LIKE %L', '/section-' || i || '/%')
           WHEN 2 THEN format('duration_s >= %s', i % 120)
           WHEN 3 THEN format('props ->> ''utm_source'' = %L', 'source-' || i % 10)
       END,
       CASE WHEN i % 5 = 0 AND i % 50 <> 0 THEN 1 + i % 10 END,
       i % 50 = 0
FROM generate_series(1, 1000) AS i;
