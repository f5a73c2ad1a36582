#!/usr/bin/env bash
# bench/funnel.sh — the funnel family against the SQL a DBA would write.
#
# Loads a stage_history of LEADS leads (default 1,000,000) with 3 to 7 moves
# each (about 5 per lead: 5,000,000 rows) into one model of five stages —
# forward moves, skips, recycles, repeats and a few merges (to_stage NULL)
# — then times each of funnel, conversion (with and without `within`),
# stage_flow, stage_times, lead_velocity and stage_episodes side by side
# with a hand-written query computing the same rows (stages written as
# literals, no checks, no plpgsql), checks that both give the same rows
# (md5 of their text), and prints the medians and the ratio
# function / hand-written (target: at most 1.2).
#
#   bench/funnel.sh                      # as root on Debian 12
#   LEADS=100000 RUNS=1 bench/funnel.sh  # smoke run
#
# It builds and installs the extension privately (DESTDIR + Debian's
# extension_destdir), never into the system directory, and runs on a
# throwaway cluster (pg_virtualenv).
set -euo pipefail
BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
MQL_ROOT=$(cd "$BENCH_DIR/.." && pwd)
PG_MAJOR=15
PG_CONFIG=/usr/lib/postgresql/$PG_MAJOR/bin/pg_config
export PATH="/usr/lib/postgresql/$PG_MAJOR/bin:$PATH"
LEADS=${LEADS:-1000000}
RUNS=${RUNS:-3}
# the period every function is asked about (the history spans the 800 days
# before now)
SINCE="'2025-06-01 00:00+02'::timestamptz"
UNTIL="'2026-06-01 00:00+02'::timestamptz"

if [ "${1:-}" != --in-cluster ]; then
	make -s -C "$MQL_ROOT" PG_CONFIG="$PG_CONFIG" >/dev/null
	install_dir=$(mktemp -d /tmp/mql_funnel_bench.XXXXXX)
	chmod 755 "$install_dir"
	trap 'rm -rf "$install_dir"' EXIT
	make -s -C "$MQL_ROOT" install DESTDIR="$install_dir" PG_CONFIG="$PG_CONFIG" >/dev/null
	echo "== mql_score $(git -C "$MQL_ROOT" describe --always --dirty 2>/dev/null || echo '(no git)') installed privately in $install_dir"
	echo "== machine: $(nproc) vCPUs, $(awk '/MemTotal/ {printf "%.0f GB", $2 / 1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
	start=$SECONDS
	LEADS=$LEADS RUNS=$RUNS pg_virtualenv -t -v "$PG_MAJOR" \
		-o "extension_destdir=$install_dir" \
		-o shared_buffers=2GB -o work_mem=256MB -o maintenance_work_mem=512MB \
		-o max_wal_size=16GB -o checkpoint_timeout=1h -o autovacuum=off \
		-o max_parallel_workers_per_gather=0 \
		bash "${BASH_SOURCE[0]}" --in-cluster
	echo "== finished in $((SECONDS - start)) s"
	exit 0
fi

psql_q() { psql -X -q -v ON_ERROR_STOP=1 "$@"; }

echo "== loading $LEADS leads into stage_history"
t0=$SECONDS
psql_q <<SQL
SET client_min_messages = warning;
CREATE EXTENSION mql_score;
INSERT INTO mql_score.models (name) VALUES ('b');
INSERT INTO mql_score.stages (model, name, position) VALUES
	('b', 'lead', 1), ('b', 'mql', 2), ('b', 'sql', 3), ('b', 'opportunity', 4), ('b', 'customer', 5);
-- lead l makes n moves, the k-th around base + 10k days, mostly to stage k
-- (k - 1 or k - 2 for a recycle or demotion, k + 1 for a skip), 2% to no stage
INSERT INTO mql_score.stage_history (model, lead, from_stage, to_stage, score, cause, at)
SELECT 'b', l::text, NULL,
       CASE WHEN random() < 0.02 THEN NULL
            ELSE (ARRAY['lead', 'mql', 'sql', 'opportunity', 'customer'])
                 [greatest(1, least(5, k - floor(random() * 2.2)::int + (random() < 0.1)::int))] END,
       0, (ARRAY['event', 'promote', 'manual', 'recycle'])[1 + floor(random() * 4)::int],
       b.base + (k * 10 + random() * 10) * interval '1 day'
FROM generate_series(1, $LEADS) l
CROSS JOIN LATERAL (SELECT now() - (100 + 0 * l + random() * 700) * interval '1 day' AS base,
                           3 + floor(random() * 5 + 0 * l)::int AS n) b
CROSS JOIN LATERAL generate_series(1, b.n) k
WHERE b.base + (k * 10 + 10) * interval '1 day' < now();
VACUUM ANALYZE mql_score.stage_history;
SQL
rows=$(psql_q -At -c "SELECT count(*) FROM mql_score.stage_history")
echo "   $rows rows in $((SECONDS - t0)) s ($(psql_q -At -c "SELECT pg_size_pretty(pg_total_relation_size('mql_score.stage_history'))") with indexes)"

echo "== timing ($RUNS runs each, alternating; median ms)"
psql_q <<SQL
SET TimeZone = 'Europe/Berlin';
-- Runs q and its hand-written twin alternately; medians, and whether both
-- produced the same rows.
CREATE FUNCTION pg_temp.side_by_side(label text, q text, hand text, runs int)
RETURNS TABLE(what text, function_ms numeric, hand_ms numeric, ratio numeric, same_rows boolean)
LANGUAGE plpgsql AS \$\$
DECLARE
	t timestamptz;
	a float8[] := '{}';
	b float8[] := '{}';
	da text;
	db text;
BEGIN
	FOR i IN 1..runs LOOP
		t := clock_timestamp();
		EXECUTE 'SELECT md5(string_agg(x::text, ''|'')) FROM (' || q || ') x' INTO da;
		a := a || extract(epoch FROM clock_timestamp() - t) * 1000;
		t := clock_timestamp();
		EXECUTE 'SELECT md5(string_agg(x::text, ''|'')) FROM (' || hand || ') x' INTO db;
		b := b || extract(epoch FROM clock_timestamp() - t) * 1000;
	END LOOP;
	what := label;
	function_ms := round((SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY v) FROM unnest(a) v)::numeric, 0);
	hand_ms := round((SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY v) FROM unnest(b) v)::numeric, 0);
	ratio := round(function_ms / nullif(hand_ms, 0), 2);
	same_rows := da IS NOT DISTINCT FROM db;
	RETURN NEXT;
END \$\$;


SELECT * FROM pg_temp.side_by_side('funnel',
\$q\$SELECT * FROM mql_score.funnel('b', $SINCE, $UNTIL)\$q\$,
\$q\$WITH per_lead AS (
	SELECT min(h.at) AS first_at, max(s.position) AS top
	FROM mql_score.stage_history h JOIN mql_score.stages s ON s.model = h.model AND s.name = h.to_stage
	WHERE h.model = 'b' GROUP BY h.lead
), tops AS (
	SELECT top, count(*) AS n FROM per_lead WHERE first_at >= $SINCE AND first_at < $UNTIL GROUP BY top
), counts AS (
	SELECT s.name AS stage, s.position, coalesce(sum(t.n), 0)::bigint AS reached
	FROM mql_score.stages s LEFT JOIN tops t ON t.top >= s.position
	WHERE s.model = 'b' GROUP BY s.name, s.position
)
SELECT stage, position, reached, reached::float8 / nullif(first_value(reached) OVER w, 0),
       reached::float8 / nullif(lag(reached) OVER w, 0)
FROM counts WINDOW w AS (ORDER BY position) ORDER BY position\$q\$, $RUNS);

SELECT * FROM pg_temp.side_by_side('conversion mql->sql, by month',
\$q\$SELECT * FROM mql_score.conversion('b', 'mql', 'sql', $SINCE, $UNTIL)\$q\$,
\$q\$WITH entries AS (
	SELECT DISTINCT ON (lead) lead, at, id FROM mql_score.stage_history
	WHERE model = 'b' AND to_stage = 'mql' ORDER BY lead, at, id
), cohort AS (
	SELECT * FROM entries WHERE at >= $SINCE AND at < $UNTIL
), reach AS (
	SELECT c.lead, min(h.at) AS at FROM cohort c
	JOIN mql_score.stage_history h ON h.model = 'b' AND h.lead = c.lead AND (h.at, h.id) > (c.at, c.id)
	WHERE h.to_stage IN ('sql', 'opportunity', 'customer') GROUP BY c.lead
)
SELECT date_trunc('month', c.at) AS cohort, count(*), count(r.at), 0::bigint,
       count(r.at)::float8 / nullif(count(*), 0),
       percentile_cont(0.5) WITHIN GROUP (ORDER BY r.at - c.at),
       percentile_cont(0.9) WITHIN GROUP (ORDER BY r.at - c.at)
FROM cohort c LEFT JOIN reach r ON r.lead = c.lead
GROUP BY ROLLUP (1) ORDER BY 1 NULLS LAST\$q\$, $RUNS);

SELECT * FROM pg_temp.side_by_side('conversion mql->sql within 30 days, by week',
\$q\$SELECT * FROM mql_score.conversion('b', 'mql', 'sql', $SINCE, $UNTIL, '30 days', 'week')\$q\$,
\$q\$WITH entries AS (
	SELECT DISTINCT ON (lead) lead, at, id FROM mql_score.stage_history
	WHERE model = 'b' AND to_stage = 'mql' ORDER BY lead, at, id
), cohort AS (
	SELECT * FROM entries WHERE at >= $SINCE AND at < $UNTIL
), reach AS (
	SELECT c.lead, min(h.at) AS at FROM cohort c
	JOIN mql_score.stage_history h ON h.model = 'b' AND h.lead = c.lead AND (h.at, h.id) > (c.at, c.id)
	WHERE h.to_stage IN ('sql', 'opportunity', 'customer') GROUP BY c.lead
), judged AS (
	SELECT date_trunc('week', c.at) AS cohort, r.at - c.at AS took,
	       coalesce(r.at <= c.at + interval '30 days', false) AS won,
	       c.at + interval '30 days' > now() AS young
	FROM cohort c LEFT JOIN reach r ON r.lead = c.lead
)
SELECT cohort, count(*), count(*) FILTER (WHERE won), count(*) FILTER (WHERE NOT won AND young),
       (count(*) FILTER (WHERE won))::float8 / nullif(count(*) FILTER (WHERE won OR NOT young), 0),
       percentile_cont(0.5) WITHIN GROUP (ORDER BY took) FILTER (WHERE won),
       percentile_cont(0.9) WITHIN GROUP (ORDER BY took) FILTER (WHERE won)
FROM judged GROUP BY ROLLUP (cohort) ORDER BY cohort NULLS LAST\$q\$, $RUNS);

SELECT * FROM pg_temp.side_by_side('stage_flow by month',
\$q\$SELECT * FROM mql_score.stage_flow('b', $SINCE, $UNTIL)\$q\$,
\$q\$WITH episodes AS (
	SELECT to_stage AS stage, at AS entered_at, lead(at) OVER (PARTITION BY lead ORDER BY at, id) AS left_at
	FROM (SELECT lead, to_stage, at, id,
	             lag(to_stage) OVER (PARTITION BY lead ORDER BY at, id) AS before
	      FROM mql_score.stage_history WHERE model = 'b') m
	WHERE to_stage IS DISTINCT FROM before
), periods AS (
	SELECT p AS period, p + interval '1 month' AS period_end
	FROM generate_series(date_trunc('month', $SINCE), $UNTIL - interval '1 microsecond', interval '1 month') p
), ins AS (
	SELECT stage, date_trunc('month', entered_at) AS period, count(*) AS n FROM episodes GROUP BY 1, 2
), outs AS (
	SELECT stage, date_trunc('month', left_at) AS period, count(*) AS n FROM episodes WHERE left_at IS NOT NULL GROUP BY 1, 2
), flows AS (
	SELECT p.period, s.name AS stage, s.position,
	       coalesce(i.n, 0) AS entered, coalesce(o.n, 0) AS left_,
	       (SELECT coalesce(sum(n), 0) FROM ins WHERE ins.stage = s.name AND ins.period < p.period)
	     - (SELECT coalesce(sum(n), 0) FROM outs WHERE outs.stage = s.name AND outs.period < p.period) AS at_start
	FROM periods p CROSS JOIN mql_score.stages s
	LEFT JOIN ins i ON i.stage = s.name AND i.period = p.period
	LEFT JOIN outs o ON o.stage = s.name AND o.period = p.period
	WHERE s.model = 'b'
)
SELECT period, stage, position, at_start::bigint, entered::bigint, left_::bigint, (at_start + entered - left_)::bigint
FROM flows ORDER BY period, position\$q\$, $RUNS);

SELECT * FROM pg_temp.side_by_side('stage_times',
\$q\$SELECT * FROM mql_score.stage_times('b', $SINCE, $UNTIL)\$q\$,
\$q\$WITH episodes AS (
	SELECT to_stage AS stage, at AS entered_at,
	       lead(at) OVER w AS left_at, lead(to_stage) OVER w AS next_stage
	FROM (SELECT lead, to_stage, at, id,
	             lag(to_stage) OVER (PARTITION BY lead ORDER BY at, id) AS before
	      FROM mql_score.stage_history WHERE model = 'b') m
	WHERE to_stage IS DISTINCT FROM before
	WINDOW w AS (PARTITION BY lead ORDER BY at, id)
)
SELECT s.name, s.position,
       count(*) FILTER (WHERE e.left_at >= $SINCE AND e.left_at < $UNTIL),
       avg(e.left_at - e.entered_at) FILTER (WHERE e.left_at >= $SINCE AND e.left_at < $UNTIL),
       percentile_cont(0.5) WITHIN GROUP (ORDER BY e.left_at - e.entered_at) FILTER (WHERE e.left_at >= $SINCE AND e.left_at < $UNTIL),
       percentile_cont(0.9) WITHIN GROUP (ORDER BY e.left_at - e.entered_at) FILTER (WHERE e.left_at >= $SINCE AND e.left_at < $UNTIL),
       count(*) FILTER (WHERE e.entered_at < $UNTIL AND (e.left_at IS NULL OR e.left_at >= $UNTIL)),
       percentile_cont(0.5) WITHIN GROUP (ORDER BY $UNTIL - e.entered_at) FILTER (WHERE e.entered_at < $UNTIL AND (e.left_at IS NULL OR e.left_at >= $UNTIL)),
       count(*) FILTER (WHERE e.left_at >= $SINCE AND e.left_at < $UNTIL AND n.position > s.position),
       count(*) FILTER (WHERE e.left_at >= $SINCE AND e.left_at < $UNTIL AND n.position < s.position)
FROM mql_score.stages s
LEFT JOIN episodes e ON e.stage = s.name
LEFT JOIN mql_score.stages n ON n.model = 'b' AND n.name = e.next_stage
WHERE s.model = 'b'
GROUP BY s.name, s.position ORDER BY s.position\$q\$, $RUNS);

SELECT * FROM pg_temp.side_by_side('lead_velocity mql, 12 months',
\$q\$SELECT * FROM mql_score.lead_velocity('b', 'mql')\$q\$,
\$q\$WITH firsts AS (
	SELECT min(at) AS at FROM mql_score.stage_history WHERE model = 'b' AND to_stage = 'mql' GROUP BY lead
), per_month AS (
	SELECT date_trunc('month', at) AS month, count(*) AS n FROM firsts GROUP BY 1
)
SELECT g::date, coalesce(c.n, 0)::bigint, coalesce(p.n, 0)::bigint,
       100 * (coalesce(c.n, 0) - coalesce(p.n, 0))::float8 / nullif(p.n, 0)
FROM generate_series(date_trunc('month', now()) - interval '11 months', date_trunc('month', now()), interval '1 month') g
LEFT JOIN per_month c ON c.month = g LEFT JOIN per_month p ON p.month = g - interval '1 month'
ORDER BY 1\$q\$, $RUNS);

SELECT * FROM pg_temp.side_by_side('stage_episodes, whole model (count)',
\$q\$SELECT count(*), count(left_at), sum(episode) FROM mql_score.stage_episodes WHERE model = 'b'\$q\$,
\$q\$SELECT count(*), count(left_at), sum(episode) FROM (
	SELECT left_at, row_number() OVER (PARTITION BY lead, to_stage ORDER BY at, id) AS episode
	FROM (SELECT lead, to_stage, at, id, lead(at) OVER (PARTITION BY lead ORDER BY at, id) AS left_at
	      FROM (SELECT lead, to_stage, at, id, lag(to_stage) OVER (PARTITION BY lead ORDER BY at, id) AS before
	            FROM mql_score.stage_history WHERE model = 'b') m
	      WHERE to_stage IS DISTINCT FROM before) c
	WHERE to_stage IS NOT NULL) e\$q\$, $RUNS);

SELECT * FROM pg_temp.side_by_side('stage_episodes, one lead',
\$q\$SELECT stage, episode, entered_at, left_at FROM mql_score.stage_episodes WHERE model = 'b' AND lead = '4242' ORDER BY entered_at, episode\$q\$,
\$q\$SELECT to_stage, row_number() OVER (PARTITION BY to_stage ORDER BY at, id), at, left_at FROM (
	SELECT to_stage, at, id, lead(at) OVER (ORDER BY at, id) AS left_at
	FROM (SELECT to_stage, at, id, lag(to_stage) OVER (ORDER BY at, id) AS before
	      FROM mql_score.stage_history WHERE model = 'b' AND lead = '4242') m
	WHERE to_stage IS DISTINCT FROM before) c
WHERE to_stage IS NOT NULL ORDER BY at, 2\$q\$, $RUNS);

EXPLAIN (COSTS OFF) SELECT * FROM mql_score.stage_episodes WHERE model = 'b' AND lead = '4242';
SQL
