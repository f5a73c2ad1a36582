#!/usr/bin/env bash
# bench/lifecycle.sh — how fast are the lifecycle jobs?
#
#  1. CALL mql_score.refresh_stages() on 1,000,000 leads of which 1,000 are
#     due (and 100, 10,000 and none, to show that its cost follows the due
#     leads), against what any approach that scans lead_state would pay
#     (a forced sequential count of the due leads).  Then (1b) a rescore of
#     that million-lead model against its plain-SQL recomputation.
#  2. CALL mql_score.rescore('m') over 1,000,000 events of 100,000 leads
#     (11 rules with conditions, once and max_per_day caps), at the default
#     batch size and at 10,000, against the INSERT ... SELECT ... GROUP BY
#     recomputation a DBA would write in plain SQL, plus the agreement of
#     the two (engagement, events, last_event_at of every lead).
#     An experiment: fetching every lead's rows one query per lead (as
#     rescore does) against one query per batch of leads.
#  3. With PERF_PROFILE=1 (default) and perf available: where one rescore
#     backend spends its time, by procedure step (track_functions), by
#     engine step (perf samples with dwarf call chains) and by symbol; then
#     (3b) the million-lead rescore once more, by SQL statement
#     (pg_stat_statements, tracked in that session only).
#
# One run builds and installs the extension, starts a throwaway cluster
# (pg_virtualenv), loads the data through the tracking triggers, and
# prints medians.  Everything is measured side by side in the same run.
#
#   bench/lifecycle.sh              # as root on Debian 12; 6-10 minutes on 2 busy vCPUs
#   LEADS1=100000 LEADS2=10000 EVENTS2=100000 RUNS1=3 RUNS2=1 bench/lifecycle.sh  # smoke run
#
# Knobs (environment): LEADS1, leads of part 1 (1000000); LEADS2 and EVENTS2,
# leads and events of part 2 (100000, 1000000); RUNS1, repeats of each
# refresh measurement (5); RUNS2, repeats of each rescore measurement (5);
# PERF_PROFILE, 0 to skip the perf profile.  The results are recorded in
# doc/benchmarks.md ("Lifecycle: rescore and refresh_stages").
set -euo pipefail

LEADS1=${LEADS1:-1000000}
LEADS2=${LEADS2:-100000}
EVENTS2=${EVENTS2:-1000000}
RUNS1=${RUNS1:-5}
RUNS2=${RUNS2:-5}
PERF_PROFILE=${PERF_PROFILE:-1}

# ---------------------------------------------------------------------------
# Outside: install, build, start the cluster and re-enter this script in it.
# ---------------------------------------------------------------------------
if [ -z "${MQL_BENCH_INSIDE:-}" ]; then
	# shellcheck source=test/lib/common.sh
	source "$(dirname "${BASH_SOURCE[0]}")/../test/lib/common.sh"
	if [ "$PERF_PROFILE" = 1 ]; then
		mql_install_packages linux-perf
	else
		mql_install_packages
	fi
	mql_build_install
	echo "== starting a throwaway PostgreSQL $PG_MAJOR cluster"
	# -t keeps the cluster in a temporary directory even as root.  Durability
	# is on (pg_virtualenv's default is fsync=off): rescore and
	# refresh_stages COMMIT per batch, and that cost is part of what a DBA
	# pays.  shared_buffers holds both data sets; the long checkpoint
	# interval and large max_wal_size keep checkpoints out of the timings;
	# autovacuum is off so nothing runs beside the timed statements (the
	# script VACUUMs itself, untimed); jit off so compile time does not blur
	# the plain-SQL timings.  pg_stat_statements is loaded but tracks nothing
	# until part 3 turns it on in one session.
	export MQL_BENCH_INSIDE=1 LEADS1 LEADS2 EVENTS2 RUNS1 RUNS2 PERF_PROFILE
	exec pg_virtualenv -t -v "$PG_MAJOR" \
		-o shared_buffers=2GB -o work_mem=64MB -o maintenance_work_mem=512MB \
		-o fsync=on -o full_page_writes=on -o synchronous_commit=on \
		-o max_wal_size=16GB -o checkpoint_timeout=1h -o autovacuum=off \
		-o jit=off -o max_parallel_workers_per_gather=0 -o timezone=UTC \
		-o shared_preload_libraries=pg_stat_statements -o pg_stat_statements.track=none \
		bash "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")"
fi

# ---------------------------------------------------------------------------
# Inside the cluster.
# ---------------------------------------------------------------------------
PSQL=(psql -X -q -v ON_ERROR_STOP=1 -P pager=off)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
chmod 755 "$WORK"
started=$(date +%s)

"${PSQL[@]}" -At -c "SELECT version()" \
	-c "SELECT 'lc_collate=' || datcollate || ', ' || string_agg(s || '=' || current_setting(s), ', ') FROM pg_database, unnest(ARRAY['shared_buffers', 'work_mem', 'max_wal_size', 'checkpoint_timeout', 'fsync', 'synchronous_commit', 'autovacuum', 'max_parallel_workers_per_gather']) s WHERE datname = current_database() GROUP BY datcollate"
"${PSQL[@]}" -c "CREATE DATABASE bench1" -c "CREATE DATABASE bench2"

# WORKAROUND for an engine bug (reported): the statement trigger reads the
# transition table with tuplestore_gettupleslot() while CurrentMemoryContext
# is the per-row context it resets (src/batch.c, batch_add_rows); once the
# transition table has spilled to disk (more than work_mem of rows) the
# slot's tuple is palloc'd in that context, the reset frees it and the next
# read pfree()s it again: SIGSEGV.  Keep the loads' transition tables in
# memory (~150 MB for a million rows).
WORKAROUND="SET work_mem = '1GB';  -- engine bug workaround, see bench/lifecycle.sh"

# Shared SQL: timings and assertions.
common_sql() {
	cat <<'EOF'
SET client_min_messages = warning;
CREATE EXTENSION mql_score;
CREATE TABLE bench_times (label text, n bigint, run int, ms float8, cpu_ms float8, leads bigint, events bigint, queue_ms float8);
CREATE FUNCTION bench_assert(ok boolean, what text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
	IF ok IS NOT TRUE THEN
		RAISE EXCEPTION 'CHECK FAILED: %', what;
	END IF;
END $$;
EOF
	# CPU time of this backend (user + system, /proc/self/stat fields 14 and
	# 15): on a shared machine it is inflated far less than wall time.
	cat <<EOF
CREATE FUNCTION bench_cpu_ms() RETURNS float8 LANGUAGE sql AS \$\$
	SELECT (split_part(f, ' ', 12)::bigint + split_part(f, ' ', 13)::bigint) * 1000.0 / $(getconf CLK_TCK)
	FROM (SELECT substr(s, strpos(s, ') ') + 2) AS f FROM pg_read_file('/proc/self/stat') s) x
\$\$;
EOF
}

# `tic` and `toc label n run` bracket a timed statement in psql (clock_timestamp
# around it in the same session: no connection or process start-up counted;
# and the backend's CPU time, 10 ms resolution).
tic() { echo "SELECT clock_timestamp() AS t0, bench_cpu_ms() AS c0 \\gset"; }
toc() {
	echo "INSERT INTO bench_times (label, n, run, ms, cpu_ms) VALUES ('$1', $2, $3, extract(epoch FROM clock_timestamp() - :'t0'::timestamptz) * 1000, bench_cpu_ms() - :c0);"
}

# ===========================================================================
# Part 1: refresh_stages with LEADS1 leads, 100 / 1,000 / 10,000 due
# ===========================================================================
part1_sql() {
	common_sql
	cat <<EOF
\\echo == part 1: refresh_stages — $LEADS1 leads
CREATE TABLE act_decay (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	lead_id bigint,
	occurred_at timestamptz NOT NULL,
	kind text NOT NULL
);
CREATE INDEX act_decay_lead_idx ON act_decay (lead_id);
INSERT INTO mql_score.models (name, half_life, demote) VALUES ('decay', '30 days', true);
INSERT INTO mql_score.stages (model, name, position, min_score)
VALUES ('decay', 'cold', 1, 0), ('decay', 'warm', 2, 10), ('decay', 'hot', 3, 50);
INSERT INTO mql_score.rules (model, event_type, points)
VALUES ('decay', 'page_view', 2), ('decay', 'email_click', 15), ('decay', 'demo_request', 80);
SELECT mql_score.track('act_decay', 'lead_id', 'occurred_at', 'kind', model => 'decay') \\g /dev/null

-- One event per lead within the last 7 days: a quarter page views (2 points,
-- cold), half email clicks (15, warm, due to drop in 17.5 days), a quarter
-- demo requests (80, hot, due to drop in 20.3 days).  Nobody is due yet.
-- The triggers create every lead's state (one statement, one batch).
$WORKAROUND
$(tic)
INSERT INTO act_decay (lead_id, occurred_at, kind)
SELECT i, now() - ((i::bigint * 7919) % 604800) * interval '1 second',
       (ARRAY['page_view', 'email_click', 'email_click', 'demo_request'])[i % 4 + 1]
FROM generate_series(1, $LEADS1) i;
$(toc load "$LEADS1" 1)
RESET work_mem;
VACUUM ANALYZE act_decay;
VACUUM ANALYZE mql_score.lead_state;
VACUUM ANALYZE mql_score.stage_history;
SELECT bench_assert(count(*) = $LEADS1, 'one lead_state row per lead')
FROM mql_score.lead_state WHERE model = 'decay' \\g /dev/null
SELECT bench_assert(count(*) = 0, 'nobody due after the load')
FROM mql_score.lead_state WHERE model = 'decay' AND due_at <= now() \\g /dev/null
SELECT bench_assert(count(*) FILTER (WHERE due_at > now() + interval '10 days') = count(*)
                    AND count(*) = $LEADS1 / 4 * 3, 'warm and hot leads due in 10+ days')
FROM mql_score.lead_state WHERE model = 'decay' AND due_at IS NOT NULL \\g /dev/null

\\echo
\\echo load through the triggers: INSERT ... SELECT of one event per lead (one statement)
SELECT n AS events, round(ms) AS ms, round(n / (ms / 1000)) AS "events/s"
FROM bench_times WHERE label = 'load';
SELECT stage, count(*) AS leads, count(due_at) AS with_due_at
FROM mql_score.lead_state WHERE model = 'decay' GROUP BY stage ORDER BY min(engagement);
SELECT pg_size_pretty(pg_relation_size('mql_score.lead_state')) AS lead_state,
       pg_size_pretty(pg_relation_size('mql_score.lead_state_pkey')) AS primary_key,
       pg_size_pretty(pg_relation_size('mql_score.lead_state_due_idx')) AS due_index;

-- The leads made due: N of the warm and hot leads, spread evenly over the
-- key range (alternately warm and hot), with their state as the load left it.
CREATE TABLE armed AS
SELECT v.n, s.lead, s.last_event_at, s.stage, s.stage_entered_at, s.due_at
FROM (VALUES (100), (1000), (10000)) v(n)
CROSS JOIN LATERAL generate_series(0, v.n - 1) k
JOIN mql_score.lead_state s
  ON s.model = 'decay' AND s.lead = (1 + k * ($LEADS1 / v.n) + 2 * (k % 2))::text;
SELECT bench_assert(count(*) = 11100 AND bool_and(stage IN ('warm', 'hot')), 'armed leads are warm or hot')
FROM armed \\g /dev/null
CREATE INDEX ON armed (n, lead);
ANALYZE armed;
EOF
	local r n
	for r in $(seq 1 "$RUNS1"); do
		printf '\\echo refresh_stages run %s of %s\n' "$r" "$RUNS1"
		for n in 100 1000 10000; do
			cat <<EOF
-- Make N leads due, as if 120 days (4 half-lives) had passed for them alone.
-- lead_state keeps engagement as of last_event_at and due_at = last_event_at
-- + half_life·log2(v / threshold); shifting last_event_at and due_at back by
-- the same 120 days is exactly the state the triggers would have written had
-- the lead's events happened 120 days earlier, so score_at(now()) is now
-- 1/16 of what it was (15 -> 0.94, 80 -> 5: both below warm's 10) and due_at
-- lies in the past.  refresh_stages reads nothing but lead_state (its due
-- index, then each due lead's row) and compares the decayed score with the
-- stage thresholds, so it cannot tell this from 120 days of waiting; the
-- activity rows are left alone (changing them would fire the triggers, which
-- re-stage the lead themselves).  The stage is restored too, so the same
-- leads can be moved again in the next run.
UPDATE mql_score.lead_state s
SET last_event_at = a.last_event_at - interval '120 days',
    due_at = a.due_at - interval '120 days',
    stage = a.stage,
    stage_entered_at = a.stage_entered_at - interval '120 days'
FROM armed a WHERE a.n = $n AND s.model = 'decay' AND s.lead = a.lead;
VACUUM mql_score.lead_state;
SELECT bench_assert(count(*) = $n, 'exactly $n leads due')
FROM mql_score.lead_state WHERE model = 'decay' AND due_at <= now() \\g /dev/null
SELECT count(*) FILTER (WHERE cause = 'decay') AS decay_moves_before, coalesce(max(id), 0) AS last_history_id
FROM mql_score.stage_history \\gset
EOF
			if [ "$n" = 1000 ]; then
				# what a query that has to look at every lead pays, with the same
				# leads due: a sequential scan, and for contrast the due index
				cat <<EOF
SET enable_indexscan = off; SET enable_bitmapscan = off; SET enable_indexonlyscan = off;
$(tic)
SELECT bench_assert(count(*) = $n, 'seq scan finds the due leads') FROM mql_score.lead_state WHERE due_at <= now() \\g /dev/null
$(toc seqscan_count $n "$r")
RESET enable_indexscan; RESET enable_bitmapscan; RESET enable_indexonlyscan;
$(tic)
SELECT bench_assert(count(*) = $n, 'index finds the due leads') FROM mql_score.lead_state WHERE model = 'decay' AND due_at <= now() \\g /dev/null
$(toc index_count $n "$r")
EOF
			fi
			cat <<EOF
$(tic)
CALL mql_score.refresh_stages();
$(toc refresh $n "$r")
SELECT bench_assert(count(*) = :decay_moves_before + $n, '$n stage_history rows with cause decay')
FROM mql_score.stage_history WHERE cause = 'decay' \\g /dev/null
SELECT bench_assert(count(*) = $n, 'the $n due leads moved to cold, nothing due any more')
FROM mql_score.stage_history h JOIN armed a ON a.n = $n AND h.lead = a.lead
WHERE h.model = 'decay' AND h.cause = 'decay' AND h.from_stage = a.stage AND h.to_stage = 'cold'
  AND h.id > :last_history_id \\g /dev/null
SELECT bench_assert(count(*) = $n AND bool_and(s.stage = 'cold' AND s.due_at IS NULL), 'moved leads are cold, not due')
FROM mql_score.lead_state s JOIN armed a ON a.n = $n AND s.model = 'decay' AND s.lead = a.lead \\g /dev/null
SELECT bench_assert(count(*) = 0, 'nobody due after refresh_stages')
FROM mql_score.lead_state WHERE due_at <= now() \\g /dev/null
EOF
		done
		# nothing due: the fixed cost of a run
		cat <<EOF
$(tic)
CALL mql_score.refresh_stages();
$(toc refresh 0 "$r")
EOF
	done
	cat <<EOF
\\echo
\\echo refresh_stages() on $LEADS1 leads: median of $RUNS1 runs (each run re-arms the due leads)
SELECT CASE label WHEN 'refresh' THEN 'CALL refresh_stages()'
                  WHEN 'seqscan_count' THEN 'count(*) WHERE due_at <= now(), seq scan'
                  ELSE 'count(*) WHERE model = .. AND due_at <= now(), due index' END AS what,
       n AS due,
       round(percentile_cont(0.5) WITHIN GROUP (ORDER BY ms)::numeric, 1) AS median_ms,
       round(min(ms)::numeric, 1) AS min_ms, round(max(ms)::numeric, 1) AS max_ms,
       CASE WHEN label = 'refresh' AND n > 0
            THEN round((percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) * 1000 / n)::numeric, 1) END AS "us/due lead"
FROM bench_times WHERE label IN ('refresh', 'seqscan_count', 'index_count')
GROUP BY label, n ORDER BY label <> 'refresh', n;
SELECT count(*) AS decay_moves, count(DISTINCT lead) AS distinct_leads,
       string_agg(DISTINCT from_stage || '->' || to_stage, ', ') AS moves
FROM mql_score.stage_history WHERE cause = 'decay';

-- Rescore at a million leads (one event each, so the per-lead overheads
-- dominate), against the same recomputation in plain SQL.  It also repairs
-- the simulated passage of time above: recomputed from the activity rows,
-- every lead is back where its real event puts it.
\\echo
\\echo == part 1b: rescore of the $LEADS1-lead model (one event per lead)
CREATE TABLE scores_plain (lead text PRIMARY KEY, engagement float8, last_event_at timestamptz, events bigint);
$(tic)
INSERT INTO scores_plain (lead, engagement, last_event_at, events)
SELECT a.lead_id::text,
       COALESCE(sum(r.points * power(0.5, extract(epoch FROM p.last - a.occurred_at)::float8 / 2592000)), 0),
       p.last, p.events
FROM (SELECT lead_id, max(occurred_at) AS last, count(*) AS events FROM act_decay GROUP BY lead_id) p
JOIN act_decay a USING (lead_id)
LEFT JOIN mql_score.rules r ON r.model = 'decay' AND r.enabled AND r.event_type = a.kind
GROUP BY a.lead_id, p.last, p.events;
$(toc plain_1m "$LEADS1" 1)
VACUUM mql_score.lead_state;
SET track_functions = 'all';
SELECT pg_stat_reset() \\g /dev/null
$(tic)
CALL mql_score.rescore('decay');
$(toc rescore_1m "$LEADS1" 1)
SELECT pg_stat_force_next_flush() \\g /dev/null
SELECT bench_assert(count(*) = $LEADS1 AND count(*) FILTER (WHERE abs(s.engagement - p.engagement) > 1e-9 * greatest(1, abs(s.engagement), abs(p.engagement))
                                                          OR s.events <> p.events OR s.last_event_at <> p.last_event_at) = 0,
                    'rescore equals the plain recomputation for every lead')
FROM mql_score.lead_state s JOIN scores_plain p ON s.model = 'decay' AND s.lead = p.lead \\g /dev/null
SELECT bench_assert(count(*) FILTER (WHERE stage = 'warm') = $LEADS1 / 2 AND count(*) FILTER (WHERE stage = 'hot') = $LEADS1 / 4
                    AND count(*) FILTER (WHERE due_at <= now()) = 0, 'rescore put every lead back in its real stage')
FROM mql_score.lead_state WHERE model = 'decay' \\g /dev/null
\\echo rescore of model decay vs plain SQL, and where the rescore time goes (track_functions = all)
SELECT CASE label WHEN 'plain_1m' THEN 'INSERT ... SELECT ... GROUP BY (plain SQL)' ELSE 'CALL rescore(''decay'')' END AS what,
       round((ms / 1000)::numeric, 2) AS wall_s, round((cpu_ms / 1000)::numeric, 2) AS cpu_s,
       round(n / (ms / 1000)) AS "leads/s",
       round((ms / (SELECT ms FROM bench_times WHERE label = 'plain_1m'))::numeric, 1) AS "x plain SQL (wall)",
       round((cpu_ms / (SELECT cpu_ms FROM bench_times WHERE label = 'plain_1m'))::numeric, 1) AS "x plain SQL (cpu)"
FROM bench_times WHERE label IN ('plain_1m', 'rescore_1m') ORDER BY label;
SELECT CASE funcname
         WHEN '_rescore_begin' THEN '_rescore_begin: queue the candidate leads'
         WHEN '_rescore_step' THEN '_rescore_step, own statements: next batch, queue DELETE, run log UPDATE'
         WHEN '_rescore_batch' THEN '_rescore_batch (C): lock, recompute, write, stage'
       END AS what,
       calls, round(CASE WHEN funcname = '_rescore_step' THEN self_time ELSE total_time END) AS ms,
       round((100 * CASE WHEN funcname = '_rescore_step' THEN self_time ELSE total_time END
              / (SELECT total_time FROM pg_stat_user_functions WHERE funcname = 'rescore'))::numeric, 1) AS pct
FROM pg_stat_user_functions
WHERE funcname IN ('_rescore_begin', '_rescore_step', '_rescore_batch')
ORDER BY array_position(ARRAY['_rescore_begin', '_rescore_step', '_rescore_batch'], funcname::text);
EOF
}

part1_sql >"$WORK/part1.sql"
"${PSQL[@]}" -d bench1 -f "$WORK/part1.sql"

# ===========================================================================
# Part 2: rescore over EVENTS2 events of LEADS2 leads vs plain SQL
# ===========================================================================

# The recomputation a DBA would write in plain SQL: the same rules (points
# and caps read from mql_score.rules, conditions written out per rule), the
# same decay to each lead's latest event, the stage as of now.  Caps by
# window functions: once = the earliest matching event, max_per_day = the N
# earliest of each UTC day.
PLAIN_SQL="
TRUNCATE scores_plain;
INSERT INTO scores_plain (lead, engagement, last_event_at, events, stage)
WITH per_lead AS (
	SELECT lead_id, max(occurred_at) AS last, count(*) AS events
	FROM activity WHERE lead_id IS NOT NULL
	GROUP BY lead_id
), hits AS (
	SELECT a.lead_id, a.occurred_at AS t, r.points,
	       CASE WHEN r.once THEN 1 ELSE r.max_per_day END AS cap,
	       row_number() OVER (PARTITION BY a.lead_id, r.id,
	                          CASE WHEN NOT r.once THEN (a.occurred_at AT TIME ZONE 'UTC')::date END
	                          ORDER BY a.occurred_at) AS nth
	FROM activity a
	JOIN mql_score.rules r ON r.model = 'm' AND r.enabled AND r.event_type = a.kind
	WHERE a.lead_id IS NOT NULL
	  AND CASE r.description
	        WHEN 'pricing page' THEN a.url LIKE '/pricing%'
	        WHEN 'whitepaper download' THEN a.asset = 'whitepaper'
	        WHEN 'other download' THEN a.asset <> 'whitepaper'
	        WHEN 'webinar, 10+ minutes' THEN a.duration_s >= 600
	        ELSE true END
), scored AS (
	SELECT p.lead_id, p.last, p.events,
	       COALESCE(sum(h.points * power(0.5, extract(epoch FROM p.last - h.t)::float8 / 2592000))
	                FILTER (WHERE h.cap IS NULL OR h.nth <= h.cap), 0) AS engagement
	FROM per_lead p LEFT JOIN hits h USING (lead_id)
	GROUP BY p.lead_id, p.last, p.events
)
SELECT lead_id::text, engagement, last, events,
       CASE WHEN s >= 50 THEN 'hot' WHEN s >= 10 THEN 'warm' WHEN s >= 0 THEN 'cold' END
FROM (SELECT *, engagement * power(0.5, extract(epoch FROM now() - last)::float8 / 2592000) AS s FROM scored) x;"

# compare lead_state with scores_plain, recording under `label`, run `r`
compare_sql() {
	cat <<EOF
INSERT INTO bench_checks
SELECT '$1', $2,
       count(*) FILTER (WHERE s.lead IS NULL OR p.lead IS NULL),
       count(*) FILTER (WHERE abs(s.engagement - p.engagement) > 1e-9 * greatest(1, abs(s.engagement), abs(p.engagement))),
       max(abs(s.engagement - p.engagement) / greatest(1, abs(s.engagement), abs(p.engagement))),
       count(*) FILTER (WHERE s.events <> p.events OR s.last_event_at <> p.last_event_at),
       -- a stage the engine set seconds earlier can differ for a lead that
       -- has just decayed across a threshold: count only leads whose score
       -- is more than 0.01% (6 minutes of decay) away from 0, 10 and 50
       count(*) FILTER (WHERE p.stage IS DISTINCT FROM s.stage AND p.stage IS NOT NULL
                          AND NOT EXISTS (SELECT FROM unnest(ARRAY[0, 10, 50]) th
                                          WHERE abs(p.engagement * power(0.5, extract(epoch FROM now() - p.last_event_at)::float8 / 2592000) - th)
                                                <= 1e-4 * greatest(1, th)))
FROM (SELECT * FROM mql_score.lead_state WHERE model = 'm') s FULL JOIN scores_plain p USING (lead);
EOF
}

# change a rule (email clicks: 4 <-> 6 points) so that every lead with a
# click is stale and rescore has real work
toggle_sql() {
	echo "UPDATE mql_score.rules SET points = CASE points WHEN 4 THEN 6 ELSE 4 END WHERE model = 'm' AND description = 'email click';"
}

# time one rescore; leads, events and the queueing time from rescore_runs
rescore_sql() {
	local label=$1 batch=$2 r=$3
	cat <<EOF
$(tic)
CALL mql_score.rescore('m'$batch);
$(toc "$label" 0 "$r")
UPDATE bench_times b SET leads = rr.leads, events = rr.events,
       queue_ms = b.ms - extract(epoch FROM rr.duration) * 1000
FROM (SELECT * FROM mql_score.rescore_runs ORDER BY id DESC LIMIT 1) rr
WHERE b.label = '$label' AND b.run = $r;
SELECT bench_assert(status = 'finished' AND leads = :nleads AND events = :nevents, 'rescore visited every lead and event')
FROM mql_score.rescore_runs ORDER BY id DESC LIMIT 1 \\g /dev/null
EOF
}

part2_sql() {
	common_sql
	cat <<EOF
\\echo
\\echo == part 2: rescore — $EVENTS2 events of $LEADS2 leads
CREATE TABLE bench_checks (label text, run int, missing bigint, mismatches bigint, max_rel_diff float8,
                           other_diffs bigint, stage_diffs bigint);
CREATE TABLE activity (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	lead_id bigint,             -- NULL: an anonymous visitor
	occurred_at timestamptz NOT NULL,
	kind text NOT NULL,
	url text,
	asset text,
	duration_s int
);
CREATE INDEX activity_lead_idx ON activity (lead_id);
CREATE TABLE scores_plain (lead text PRIMARY KEY, engagement float8, last_event_at timestamptz, events bigint, stage text);

INSERT INTO mql_score.models (name, half_life, demote) VALUES ('m', '30 days', true);
INSERT INTO mql_score.stages (model, name, position, min_score)
VALUES ('m', 'cold', 1, 0), ('m', 'warm', 2, 10), ('m', 'hot', 3, 50);
INSERT INTO mql_score.rules (model, event_type, points, condition, max_per_day, once, description) VALUES
	('m', 'page_view',      1,   NULL,                      5,    false, 'page view'),
	('m', 'page_view',      5,   'url LIKE ''/pricing%''',  1,    false, 'pricing page'),
	('m', 'email_open',     1,   NULL,                      3,    false, 'email open'),
	('m', 'email_click',    4,   NULL,                      NULL, false, 'email click'),
	('m', 'download',       10,  'asset = ''whitepaper''',  NULL, false, 'whitepaper download'),
	('m', 'download',       3,   'asset <> ''whitepaper''', NULL, false, 'other download'),
	('m', 'webinar_attend', 15,  'duration_s >= 600',       NULL, false, 'webinar, 10+ minutes'),
	('m', 'form_submit',    20,  NULL,                      NULL, true,  'first form'),
	('m', 'demo_request',   50,  NULL,                      NULL, true,  'demo request'),
	('m', 'trial_signup',   40,  NULL,                      NULL, true,  'trial'),
	('m', 'unsubscribe',   -25,  NULL,                      NULL, false, 'unsubscribe');
SELECT mql_score.track('activity', 'lead_id', 'occurred_at', 'kind', model => 'm') \\g /dev/null

-- EVENTS2 events over 180 days; lead ids skewed (lead k gets ~1/sqrt(k) of
-- the traffic: a few very active leads, a long tail with a handful of
-- events each); 3% of page views anonymous; kinds weighted like web and
-- email traffic (4% chat messages match no rule).
SELECT setseed(0.42) \\g /dev/null
$WORKAROUND
$(tic)
INSERT INTO activity (lead_id, occurred_at, kind, url, asset, duration_s)
SELECT CASE WHEN kind = 'page_view' AND r4 < 0.03 THEN NULL ELSE lead END,
       now() - r2 * interval '180 days',
       kind,
       CASE WHEN kind = 'page_view'
            THEN (ARRAY['/', '/pricing', '/pricing/enterprise', '/blog/lead-scoring', '/docs/start', '/careers'])[1 + floor(r3 * 6)::int] END,
       CASE WHEN kind = 'download' THEN (ARRAY['whitepaper', 'case_study', 'datasheet'])[1 + floor(r3 * 3)::int] END,
       CASE WHEN kind = 'webinar_attend' THEN floor(r3 * 3600)::int END
FROM (SELECT 1 + floor($LEADS2 * r1 * r1)::bigint AS lead, r2, r3, r4,
             CASE WHEN r5 < 0.50 THEN 'page_view' WHEN r5 < 0.70 THEN 'email_open'
                  WHEN r5 < 0.78 THEN 'email_click' WHEN r5 < 0.83 THEN 'download'
                  WHEN r5 < 0.86 THEN 'webinar_attend' WHEN r5 < 0.90 THEN 'form_submit'
                  WHEN r5 < 0.91 THEN 'demo_request' WHEN r5 < 0.92 THEN 'trial_signup'
                  WHEN r5 < 0.925 THEN 'unsubscribe' WHEN r5 < 0.96 THEN 'chat' ELSE 'email_bounce' END AS kind
      FROM (SELECT random() r1, random() r2, random() r3, random() r4, random() r5
            FROM generate_series(1, $EVENTS2)) x) y;
$(toc load "$EVENTS2" 1)
RESET work_mem;
VACUUM ANALYZE activity;
VACUUM ANALYZE mql_score.lead_state;
-- scored events and leads (a few of the least active lead ids draw no event)
SELECT count(lead_id) AS nevents, count(DISTINCT lead_id) AS nleads FROM activity \\gset

\\echo
\\echo the activity table
SELECT count(*) AS events, count(lead_id) AS with_lead, count(DISTINCT lead_id) AS leads,
       (SELECT max(c) FROM (SELECT count(*) c FROM activity GROUP BY lead_id) x) AS max_per_lead,
       (SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY c) FROM (SELECT count(*) c FROM activity WHERE lead_id IS NOT NULL GROUP BY lead_id) x) AS median_per_lead,
       pg_size_pretty(pg_relation_size('activity')) AS size
FROM activity;
SELECT kind, count(*) FROM activity GROUP BY kind ORDER BY count(*) DESC;
\\echo load through the triggers (one INSERT ... SELECT statement)
SELECT n AS events, round(ms) AS ms, round(n / (ms / 1000)) AS "events/s" FROM bench_times WHERE label = 'load';

-- the state the triggers built agrees with the plain recomputation
$PLAIN_SQL
$(compare_sql after_load 0)
EOF
	local r
	for r in $(seq 1 "$RUNS2"); do
		cat <<EOF
\\echo rescore run $r of $RUNS2
$(toggle_sql)
$(tic)
$PLAIN_SQL
$(toc plain 0 "$((2 * r - 1))")
$(compare_sql stale "$r")
$(rescore_sql rescore_1000 "" "$r")
$(compare_sql rescore_1000 "$r")
$(toggle_sql)
$(tic)
$PLAIN_SQL
$(toc plain 0 "$((2 * r))")
$(rescore_sql rescore_10000 ", batch_size => 10000" "$r")
$(compare_sql rescore_10000 "$r")
VACUUM mql_score.lead_state;
VACUUM mql_score.rescore_queue;
EOF
	done
	cat <<EOF
\\echo
\\echo rescore of model m vs the plain-SQL recomputation: median of $RUNS2 runs ($((2 * RUNS2)) for plain SQL)
WITH t AS (
	SELECT label, percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) AS ms,
	       percentile_cont(0.5) WITHIN GROUP (ORDER BY cpu_ms) AS cpu_ms,
	       percentile_cont(0.5) WITHIN GROUP (ORDER BY queue_ms) AS queue_ms,
	       min(ms) AS min_ms, max(ms) AS max_ms, count(*) AS runs
	FROM bench_times WHERE label IN ('plain', 'rescore_1000', 'rescore_10000') GROUP BY label
)
SELECT CASE label WHEN 'plain' THEN 'INSERT ... SELECT ... GROUP BY (plain SQL)'
                  WHEN 'rescore_1000' THEN 'CALL rescore(''m'')  (batch_size 1000)'
                  ELSE 'CALL rescore(''m'', batch_size => 10000)' END AS what,
       runs, round(ms::numeric / 1000, 2) AS median_s,
       round(min_ms::numeric / 1000, 2) AS min_s, round(max_ms::numeric / 1000, 2) AS max_s,
       round(cpu_ms::numeric / 1000, 2) AS cpu_s,
       round(queue_ms::numeric / 1000, 2) AS "queueing s",
       round(:nevents / (ms / 1000)) AS "events/s", round(:nleads / (ms / 1000)) AS "leads/s",
       round((ms / (SELECT ms FROM t WHERE label = 'plain'))::numeric, 1) AS "x plain (wall)",
       round((cpu_ms / (SELECT cpu_ms FROM t WHERE label = 'plain'))::numeric, 1) AS "x plain (cpu)"
FROM t ORDER BY label = 'plain' DESC, label;
\\echo agreement of lead_state with the plain-SQL recomputation (relative difference = |a-b| / max(1,|a|,|b|));
\\echo stale = after the rule change, before rescore; stage_diffs = leads whose stage differs from the plain one (score as of now, away from thresholds)
SELECT label, count(*) AS checks, sum(missing) AS missing, sum(mismatches) AS "mismatches > 1e-9",
       max(max_rel_diff) AS max_rel_diff, sum(other_diffs) AS "events/last_event_at diffs",
       sum(stage_diffs) AS stage_diffs
FROM bench_checks GROUP BY label ORDER BY min(run), label <> 'stale', label;
SELECT bench_assert(sum(missing) = 0 AND sum(mismatches) = 0 AND sum(other_diffs) = 0 AND sum(stage_diffs) = 0,
                    'lead_state equals the plain recomputation after the load and after every rescore')
FROM bench_checks WHERE label <> 'stale' \\g /dev/null
SELECT bench_assert(bool_and(mismatches > 0), 'the rule change made leads stale')
FROM bench_checks WHERE label = 'stale' \\g /dev/null
EOF
	# An experiment for the profile's suggestion, not engine code: read the
	# rows of every lead as recompute_table does (SELECT t ... WHERE lead =
	# \$1, whole rows, in lead-key order), one query per lead, against one
	# query per batch of leads (lead_id = ANY (batch)).
	local r
	cat <<EOF
CREATE TABLE fetch_batches AS
SELECT g / 1000 AS b1000, g / 10000 AS b10000, lead::bigint AS lead
FROM (SELECT lead, row_number() OVER (ORDER BY lead) - 1 AS g FROM mql_score.lead_state WHERE model = 'm') x;
EOF
	for r in $(seq 1 "$RUNS2"); do
		cat <<EOF
$(tic)
DO \$\$ DECLARE l bigint; n bigint := 0; c bigint; BEGIN
	FOR l IN SELECT lead FROM fetch_batches ORDER BY b1000, lead::text LOOP
		SELECT count(t) INTO c FROM activity t WHERE t.lead_id = l;
		n := n + c;
	END LOOP;
	PERFORM bench_assert(n = (SELECT count(lead_id) FROM activity), 'every row fetched');
END \$\$;
$(toc fetch_per_lead 0 "$r")
$(tic)
DO \$\$ DECLARE b bigint[]; n bigint := 0; c bigint; BEGIN
	FOR b IN SELECT array_agg(lead) FROM fetch_batches GROUP BY b1000 ORDER BY b1000 LOOP
		SELECT count(t) INTO c FROM activity t WHERE t.lead_id = ANY (b);
		n := n + c;
	END LOOP;
	PERFORM bench_assert(n = (SELECT count(lead_id) FROM activity), 'every row fetched');
END \$\$;
$(toc fetch_per_1000 0 "$r")
$(tic)
DO \$\$ DECLARE b bigint[]; n bigint := 0; c bigint; BEGIN
	FOR b IN SELECT array_agg(lead) FROM fetch_batches GROUP BY b10000 ORDER BY b10000 LOOP
		SELECT count(t) INTO c FROM activity t WHERE t.lead_id = ANY (b);
		n := n + c;
	END LOOP;
	PERFORM bench_assert(n = (SELECT count(lead_id) FROM activity), 'every row fetched');
END \$\$;
$(toc fetch_per_10000 0 "$r")
EOF
	done
	cat <<EOF
\\echo
\\echo experiment: fetch the rows of every lead as whole rows in lead-key order (what recompute_table reads), median of $RUNS2
SELECT CASE label WHEN 'fetch_per_lead' THEN 'one query per lead (as rescore does now)'
                  WHEN 'fetch_per_1000' THEN 'one query per 1000 leads, lead_id = ANY (batch)'
                  ELSE 'one query per 10000 leads, lead_id = ANY (batch)' END AS what,
       round((percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) / 1000)::numeric, 2) AS median_s
FROM bench_times WHERE label LIKE 'fetch%' GROUP BY label ORDER BY median_s DESC;
EOF
}

part2_sql >"$WORK/part2.sql"
"${PSQL[@]}" -d bench2 -f "$WORK/part2.sql"

# ===========================================================================
# Part 3: where a rescore backend spends its time
# ===========================================================================

# Attribute `perf script` samples (dwarf call chains) to the engine's steps.
# shellcheck disable=SC2016  # an awk program: its $ are awk's
attribute_awk='
function has(f) { return (f in st) }
function classify() {
	if (has("mql_rescore_batch")) {
		if (has("recompute_table")) {
			if (has("SPI_cursor_open") || has("SPI_cursor_open_with_paramlist"))
				return "_rescore_batch: recompute: SPI_cursor_open per lead (plan, executor start)"
			if (has("SPI_cursor_fetch") || has("PortalRunFetch")) {
				if (has("ExecEvalWholeRowVar") || has("heap_copy_tuple_as_datum") || has("toast_flatten_tuple_to_datum"))
					return "_rescore_batch: recompute: build whole-row datums (SELECT t)"
				return "_rescore_batch: recompute: index/bitmap heap scan of the lead rows"
			}
			if (has("row_read") || has("row_match"))
				return "_rescore_batch: recompute: row_read (rules, conditions)"
			if (has("SPI_cursor_close") || has("PortalDrop"))
				return "_rescore_batch: recompute: SPI_cursor_close per lead"
			return "_rescore_batch: recompute: other"
		}
		if (has("recompute_caps")) return "_rescore_batch: recompute: caps"
		if (has("recompute_lead")) return "_rescore_batch: recompute: other"
		if (has("store_lock_lead")) return "_rescore_batch: store_lock_lead (primary key lookup, row lock)"
		if (has("ExecInsertIndexTuples")) return "_rescore_batch: store_update_lead: index entries (update not HOT)"
		if (has("store_update_lead") || has("ExecSimpleRelationUpdate") || has("store_verdict"))
			return "_rescore_batch: store_update_lead: heap update"
		if (has("stage_evaluate") || has("stage_move")) return "_rescore_batch: stage_evaluate"
		return "_rescore_batch: other"
	}
	if (has("mql_leads_of")) return "queueing: _leads_of (SELECT DISTINCT lead of the activity table)"
	if (has("CommitTransactionCommand") || has("_SPI_commit") || has("SPI_commit")) return "COMMIT"
	if (!has("_start") && !has("main")) return "unattributed (call chain truncated)"
	return "other SQL of the procedure (queue, run log; see the function times)"
}
function flush() { if (insample) { n[classify()]++; total++ } delete st; insample = 0 }
/^[^ \t]/ { flush(); insample = 1; next }
/^[ \t]*$/ { flush(); next }
{ f = $2; sub(/\+0x[0-9a-f]+$/, "", f); st[f] = 1 }
END { flush(); for (c in n) printf "%6.1f%%  %s\n", 100 * n[c] / total, c }
'

if [ "$PERF_PROFILE" = 1 ]; then
	echo
	echo "== part 3: where CALL mql_score.rescore('m') spends its time (batch_size 1000, after the same rule change)"
	if ! perf record -q -o "$WORK/probe.data" -- true >/dev/null 2>&1; then
		echo "perf cannot record here; skipped"
	else
		# The backend writes its pid, waits for perf to attach, then rescores
		# with function timing on (track_functions: two clock reads per call).
		cat >"$WORK/profiled.sql" <<EOF
SET client_min_messages = warning;
SET track_functions = 'all';
SELECT count(DISTINCT lead_id) AS nleads FROM activity \\gset
$(toggle_sql)
SELECT pg_stat_reset() \\g /dev/null
\\pset tuples_only on
\\pset format unaligned
SELECT pg_backend_pid() \\g $WORK/pid
\\pset tuples_only off
\\pset format aligned
\\! for i in \$(seq 1 100); do [ -s $WORK/perf.started ] && break; sleep 0.1; done; sleep 0.5
$(tic)
CALL mql_score.rescore('m');
SELECT round(extract(epoch FROM clock_timestamp() - :'t0'::timestamptz)::numeric, 2) AS seconds \\gset
SELECT pg_stat_force_next_flush() \\g /dev/null
\\echo profiled rescore: :seconds s
\\echo
\\echo time by function (track_functions = all)
SELECT CASE funcname
         WHEN 'rescore' THEN 'CALL rescore(''m'')'
         WHEN '_rescore_begin' THEN '  _rescore_begin: queue the candidate leads'
         WHEN '_leads_of' THEN '    of which _leads_of(): SELECT DISTINCT lead of the activity table'
         WHEN '_rescore_step' THEN '  _rescore_step, own statements: next batch, queue DELETE, run log UPDATE'
         WHEN '_rescore_batch' THEN '  _rescore_batch (C): lock, recompute, write, stage'
       END AS what,
       calls, round(CASE WHEN funcname = '_rescore_step' THEN self_time ELSE total_time END) AS ms,
       round((100 * CASE WHEN funcname = '_rescore_step' THEN self_time ELSE total_time END
              / (SELECT total_time FROM pg_stat_user_functions WHERE funcname = 'rescore'))::numeric, 1) AS pct
FROM pg_stat_user_functions
WHERE funcname IN ('rescore', '_rescore_begin', '_leads_of', '_rescore_step', '_rescore_batch')
ORDER BY array_position(ARRAY['rescore', '_rescore_begin', '_leads_of', '_rescore_step', '_rescore_batch'], funcname::text);
SELECT bench_assert(status = 'finished' AND leads = :nleads, 'profiled rescore finished')
FROM mql_score.rescore_runs ORDER BY id DESC LIMIT 1 \\g /dev/null
EOF
		"${PSQL[@]}" -d bench2 -f "$WORK/profiled.sql" &
		psql_pid=$!
		for _ in $(seq 1 100); do [ -s "$WORK/pid" ] && break; sleep 0.1; done
		# dwarf call chains: the server is built without frame pointers
		perf record -q --call-graph dwarf,32768 -F 299 -o "$WORK/perf.data" -p "$(cat "$WORK/pid")" >/dev/null 2>&1 &
		perf_pid=$!
		sleep 0.5
		echo started >"$WORK/perf.started"
		wait "$psql_pid"
		# perf stops when the backend exits (psql has disconnected)
		sleep 1
		kill -INT "$perf_pid" 2>/dev/null || true
		wait "$perf_pid" || true
		echo
		echo "perf samples by step (share of the backend's samples)"
		# (pipelines cut short by head: their status is not this script's)
		{ perf script -i "$WORK/perf.data" -F comm,pid,tid,time,event,ip,sym 2>/dev/null | awk "$attribute_awk" | sort -rn; } || true
		echo
		echo "self time by shared object"
		{ perf report -i "$WORK/perf.data" --no-children --stdio -g none --sort dso --percent-limit 0.5 2>/dev/null |
			grep -v -e '^#' -e '^$'; } || true
		echo
		echo "self time by symbol (perf report --no-children, top 25)"
		{ perf report -i "$WORK/perf.data" --no-children --stdio -g none --sort dso,symbol 2>/dev/null |
			grep -v -e '^#' -e '^$' | head -25 | sed 's/ *$//'; } || true
	fi
fi

if [ "$PERF_PROFILE" = 1 ]; then
	# The same question at a million leads, by SQL statement: the procedure's
	# own statements show up here (pg_stat_statements, nested statements
	# tracked in this session only).
	echo
	echo "== part 3b: rescore of the $LEADS1-lead model by statement (pg_stat_statements, one more run)"
	"${PSQL[@]}" -d bench1 <<EOF
SET client_min_messages = warning;
CREATE EXTENSION pg_stat_statements;
VACUUM mql_score.lead_state;
SET pg_stat_statements.track = 'all';
SELECT pg_stat_statements_reset() \\g /dev/null
CALL mql_score.rescore('decay');
SET pg_stat_statements.track = 'none';
SELECT round((total_exec_time / 1000)::numeric, 1) AS total_s FROM pg_stat_statements WHERE query LIKE 'CALL mql_score.rescore%' \\gset
\\echo rescore: :total_s s
SELECT calls, round(total_exec_time) AS ms,
       round((100 * total_exec_time / (SELECT total_exec_time FROM pg_stat_statements WHERE query LIKE 'CALL mql_score.rescore%'))::numeric, 1) AS pct,
       round(mean_exec_time::numeric, 2) AS mean_ms, round(max_exec_time::numeric, 1) AS max_ms,
       left(regexp_replace(query, '\\s+', ' ', 'g'), 90) AS statement
FROM pg_stat_statements
WHERE query NOT LIKE 'CALL mql_score.rescore%' AND query NOT LIKE '%pg_stat_statements%' AND total_exec_time > 50
ORDER BY total_exec_time DESC LIMIT 8;
EOF
fi

echo
echo "== done in $(($(date +%s) - started)) s"
