-- bench/scoring/generate.sql — write the benchmark's events once into a
-- file (server-side COPY TO :file, in the data directory): :events
-- events over :leads leads in the last 180 days, in time order (as an
-- export from a web analytics tool arrives).  Each timed run COPYs FROM it.
--   psql -v events=1000000 -v leads=100000 -v file=/abs/path -f generate.sql
\set ON_ERROR_STOP on
SET max_parallel_workers_per_gather = 0;	-- one stream of random(): reproducible
SELECT setseed(0.4242);
COPY (
	SELECT contact_id, created_at,
	       bench.event_kind(r) AS kind, bench.event_path(r, s) AS path,
	       bench.event_duration(r, u) AS duration_s, bench.event_props(s, i) AS props
	FROM (
		SELECT i,
		       1 + floor(random() * 10000)::int AS r,
		       1 + floor(random() * 100)::int AS s,
		       random() AS u,
		       -- 0.3% anonymous; active leads are few (low ids): lead 1 has ~450 events, the median lead ~7
		       CASE WHEN random() < 0.003 THEN NULL
		            ELSE least(:leads, 1 + floor(:leads * random() ^ 1.5))::bigint END AS contact_id,
		       now() - random() * interval '180 days' AS created_at
		FROM generate_series(1, :events) AS i
	) g
	ORDER BY created_at
) TO :'file';
