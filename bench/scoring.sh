#!/usr/bin/env bash
# bench/scoring.sh — the scoring engine benchmark.  On a fresh Debian 12
# machine (as root, or a user with sudo): install what is missing, build
# mql_score without assertions, start one throwaway cluster and measure,
# side by side in one run:
#
#   COPY of 1M events over 100k leads into an activity table
#     (a) with no trigger (the floor)
#     (b) tracked by mql_score (12 rules, 5 stages, history and NOTIFY on)
#     (c) with a hand-written PL/pgSQL ROW trigger doing the same scoring
#     (d) with a hand-written PL/pgSQL statement trigger (transition table)
#   pgbench single-row INSERTs (4 clients) for (a), (b), (c), with
#     synchronous_commit off and on
#   the per-backend memory of mql_score's configuration cache, 1,000 rules
#
# then checks that (b) scored correctly, prints medians and ratios against
# the issue's targets, and (BENCH_PROFILE=auto, the default) profiles (b)
# with perf if it misses its target.  Exits non-zero on any error or failed
# check; a missed performance target is reported, not an error.
#
#   bash bench/scoring.sh
#   BENCH_PG=18 bash bench/scoring.sh   # on a private release build of 18
#
# Knobs (environment): BENCH_EVENTS (1000000), BENCH_LEADS (100000),
# BENCH_RUNS (3: COPY rounds), BENCH_PGBENCH_ROUNDS (6) of
# BENCH_PGBENCH_SECONDS (10) per variant and synchronous_commit setting,
# BENCH_PROFILE (auto | 1 | 0).
#
# Every round runs all variants back to back, so besides the ratio of the
# medians the script reports the median of the per-round ratios (paired:
# robust to the drift of a shared machine, e.g. its disk's fsync latency).
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SQL_DIR=$BENCH_DIR/scoring
EVENTS=${BENCH_EVENTS:-1000000}
LEADS=${BENCH_LEADS:-100000}
RUNS=${BENCH_RUNS:-3}
PGBENCH_ROUNDS=${BENCH_PGBENCH_ROUNDS:-6}
PGBENCH_SECONDS=${BENCH_PGBENCH_SECONDS:-10}
PROFILE=${BENCH_PROFILE:-auto}
BENCH_PG=${BENCH_PG:-15}
DB=mql_bench
COLUMNS_COPIED="contact_id, created_at, kind, path, duration_s, props"

# Milliseconds since the epoch.
now_ms() { date +%s%3N; }

# psql on the benchmark database: no ~/.psqlrc, stop at the first error.
bench_psql() { psql -X -q -v ON_ERROR_STOP=1 -d "$DB" "$@"; }
bench_value() { bench_psql -At "$@"; }

# Median of numbers given as arguments.
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
# a / b with 2 decimals.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }
# Median of the pairwise ratios of two equally long lists ("a1 a2 ..." / "b1 b2 ...").
paired() { median $(paste -d' ' <(printf '%s\n' $1) <(printf '%s\n' $2) | awk '{printf "%.3f\n", $1 / $2}'); }
# "met" or "MISSED" for a comparison evaluated by awk.
verdict() { awk "BEGIN {exit !($1)}" && echo met || echo MISSED; }

##########################################################################
# Inside the cluster
##########################################################################

# Empty an activity table and the state its trigger keeps.  mql_score's
# TRUNCATE triggers would recompute every lead from the (then empty) table;
# session_replication_role = replica keeps them quiet because the state is
# cleared here wholesale.
reset_variant() {
	local state
	case $1 in
	floor) state="" ;;
	mql) state=", mql_score.lead_state, mql_score.stage_history, mql_score.skipped" ;;
	row) state=", bench_row.score, bench_row.cap, bench_row.history, bench_row.skipped" ;;
	set) state=", bench_set.score, bench_set.cap, bench_set.history, bench_set.skipped" ;;
	esac
	bench_psql -c "SET session_replication_role = replica" \
		-c "TRUNCATE bench.events_$1 $state" -c "RESET session_replication_role" -c "CHECKPOINT"
}

# Every COPY keeps its 1M transition rows in memory, so (b) and (d) measure
# the triggers, not temp-file I/O.  (Rows that spill past work_mem are
# handled too — regress tests at work_mem 64kB — just more slowly.)
COPY_WORK_MEM=1GB

# One timed COPY: prints its wall-clock seconds (connection, COPY and
# COMMIT) and the CPU seconds its backend used (on a shared machine the
# latter is the steadier measure of the work done).
copy_run() {
	local t ticks
	t=$(now_ms)
	ticks=$(bench_psql -At <<-SQL
	SET work_mem = '$COPY_WORK_MEM';
	SELECT pg_backend_pid() AS pid \gset
	\setenv BACKEND_PID :pid
	\! awk '{print \$14 + \$15}' /proc/\$BACKEND_PID/stat
	COPY bench.events_$1 ($COLUMNS_COPIED) FROM '$DATA_FILE';
	\! awk '{print \$14 + \$15}' /proc/\$BACKEND_PID/stat
	SQL
	)
	echo $(($(now_ms) - t)) $ticks | awk -v hz="$CLK_TCK" '{printf "%.2f %.2f\n", $1 / 1000, ($3 - $2) / hz}'
}

# CPU ticks used so far by the whole cluster: the postmaster, its live
# children, and the backends it has reaped (its cutime and cstime).
server_cpu_ticks() {
	{ cat /proc/[0-9]*/stat 2>/dev/null || true; } |
		awk -v pm="$POSTMASTER_PID" '{pid = $1; sub(/^.*\) /, "")
			if (pid == pm) t += $12 + $13 + $14 + $15; else if ($2 == pm) t += $12 + $13}
			END {print t + 0}'
}

# Check (b) against the activity rows; dies on a mismatch.
verify_mql() {
	echo
	echo "== checking (b): mql_score's lead_state against the rows of bench.events_mql"
	bench_psql <<-'SQL'
	\set QUIET on
	\pset footer off
	SELECT (SELECT count(*) FROM bench.events_mql) AS rows,
	       (SELECT count(*) FROM bench.events_mql WHERE contact_id IS NULL) AS anonymous,
	       (SELECT count(*) FROM bench.events_mql WHERE contact_id IS NOT NULL AND kind IS NULL) AS unscorable,
	       (SELECT sum(events) FROM mql_score.lead_state WHERE model = 'bench') AS lead_state_events,
	       (SELECT count(*) FROM mql_score.lead_state WHERE model = 'bench') AS leads,
	       (SELECT count(*) FROM mql_score.skipped) AS skipped
	\gset c_
	\echo rows :c_rows, anonymous :c_anonymous, unscorable (NULL type) :c_unscorable -> lead_state events :c_lead_state_events over :c_leads leads, skipped :c_skipped
	SELECT :c_lead_state_events = :c_rows - :c_anonymous - :c_unscorable AND :c_skipped = :c_unscorable
	       AND :c_leads = (SELECT count(DISTINCT contact_id) FROM bench.events_mql WHERE kind IS NOT NULL) AS ok \gset
	\if :ok
	\echo ok: lead_state events = rows - anonymous - unscorable; every unscorable row is in mql_score.skipped
	\else
	DO $$ BEGIN RAISE EXCEPTION 'FAILED: event totals do not add up'; END $$;
	\endif
	-- spot check: the most active lead, leads with a demo request, an
	-- unsubscribe and a repeated newsletter signup, and a few plain ones
	CREATE TEMP TABLE spot AS
	SELECT DISTINCT lead FROM (
		SELECT unnest(ARRAY[1, 2, 777, 31337, 99991]::bigint[]) AS lead
		UNION ALL (SELECT contact_id FROM bench.events_mql WHERE kind = 'demo_request' ORDER BY id LIMIT 1)
		UNION ALL (SELECT contact_id FROM bench.events_mql WHERE kind = 'unsubscribe' ORDER BY id LIMIT 1)
		UNION ALL (SELECT contact_id FROM bench.events_mql WHERE kind = 'newsletter_signup'
		           GROUP BY contact_id HAVING count(*) > 1 ORDER BY contact_id LIMIT 1)
	) s WHERE lead IN (SELECT contact_id FROM bench.events_mql WHERE kind IS NOT NULL);
	SELECT s.lead, l.events, r.events AS recomputed_events,
	       round(l.engagement::numeric, 6) AS engagement, round(r.engagement::numeric, 6) AS recomputed,
	       l.last_event_at = r.last_event_at AS same_last_event,
	       abs(l.engagement - r.engagement) <= 1e-9 * greatest(1, abs(l.engagement), abs(r.engagement))
	       AND l.events = r.events AND l.last_event_at = r.last_event_at AS ok, l.stage
	FROM spot s
	CROSS JOIN LATERAL bench.recompute('bench.events_mql', s.lead) r
	LEFT JOIN mql_score.lead_state l ON l.model = 'bench' AND l.lead = s.lead::text
	ORDER BY s.lead;
	SELECT bool_and(abs(l.engagement - r.engagement) <= 1e-9 * greatest(1, abs(l.engagement), abs(r.engagement))
	                AND l.events = r.events AND l.last_event_at = r.last_event_at) AS ok
	FROM spot s CROSS JOIN LATERAL bench.recompute('bench.events_mql', s.lead) r
	LEFT JOIN mql_score.lead_state l ON l.model = 'bench' AND l.lead = s.lead::text \gset
	\if :ok
	\echo ok: spot-checked leads equal a SQL recomputation (1e-9 relative)
	\else
	DO $$ BEGIN RAISE EXCEPTION 'FAILED: a spot-checked lead differs from its recomputation'; END $$;
	\endif
	SQL
	echo
	echo "== do (c) and (d) compute the same scores as (b)? (every lead; stages may differ: a row trigger moves per row, the others per statement)"
	bench_psql <<-'SQL'
	\pset footer off
	WITH m AS (SELECT lead::bigint AS lead, engagement, events, last_event_at, stage
	           FROM mql_score.lead_state WHERE model = 'bench')
	SELECT v.variant, count(*) AS leads,
	       count(*) FILTER (WHERE abs(m.engagement - v.engagement) <= 1e-9 * greatest(1, abs(m.engagement), abs(v.engagement))
	                        AND m.events = v.events AND m.last_event_at = v.last_event_at) AS same_score,
	       count(*) FILTER (WHERE m.stage IS NOT DISTINCT FROM v.stage) AS same_stage,
	       (SELECT count(*) FROM mql_score.stage_history WHERE model = 'bench') AS mql_history_rows,
	       v.history_rows
	FROM m JOIN (
		SELECT 'c row trigger' AS variant, lead, engagement, events, last_event_at, stage,
		       (SELECT count(*) FROM bench_row.history) AS history_rows FROM bench_row.score
		UNION ALL
		SELECT 'd statement trigger', lead, engagement, events, last_event_at, stage,
		       (SELECT count(*) FROM bench_set.history) FROM bench_set.score
	) v ON v.lead = m.lead
	GROUP BY v.variant, v.history_rows ORDER BY 1;
	SELECT stage, count(*) AS leads FROM mql_score.lead_state WHERE model = 'bench' GROUP BY 1 ORDER BY min(
		(SELECT position FROM mql_score.stages s WHERE s.model = 'bench' AND s.name = stage));
	SQL
}

# A pgbench script inserting one event into bench.events_<variant>.
write_pgbench_script() {
	cat >"$2" <<-EOF
	\set lead random(1, $LEADS)
	\set r random(1, 10000)
	\set s random(1, 100)
	\set u random(0, 999999) / 1000000.0
	INSERT INTO bench.events_$1 ($COLUMNS_COPIED)
	VALUES (:lead, now(), bench.event_kind(:r), bench.event_path(:r, :s),
	        bench.event_duration(:r, :u), bench.event_props(:s, :lead));
	EOF
}

# Memory of the configuration cache with 1,000 rules, in its own database
# (the cache holds every model of a database).
measure_memory() {
	echo
	echo "== configuration cache memory: 1,000 rules (database mql_bench_mem)"
	psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "CREATE DATABASE mql_bench_mem"
	psql -X -q -v ON_ERROR_STOP=1 -d mql_bench_mem -f "$SQL_DIR/memory.sql" >/dev/null
	psql -X -q -v ON_ERROR_STOP=1 -d mql_bench_mem <<-SQL
	\pset footer off
	-- a fresh backend: one event builds and compiles the cache
	INSERT INTO bench_mem.events (contact_id, created_at, kind, path, duration_s) VALUES (1, now(), 'type_1', '/x', 10);
	$(cat "$SQL_DIR/memory_report.sql")
	SQL
	echo "-- for comparison, the benchmark's 12-rule model (database $DB, after one event):"
	bench_psql <<-SQL
	\pset footer off
	INSERT INTO bench.events_mql (contact_id, created_at, kind, path, duration_s) VALUES (1, now(), 'page_view', '/pricing', 40);
	$(cat "$SQL_DIR/memory_report.sql")
	SQL
}

# Print a perf profile: the flat profile (self time) and, for each function
# in $2, the share of samples in it and in each of its direct callees.
perf_summary() {
	local data=$1 parents=$2
	echo "-- flat profile (self time, top 30):"
	perf report -i "$data" --no-children --sort dso,symbol -g none --percent-limit 0.5 --stdio 2>/dev/null |
		awk '/%/ && n++ < 30 {printf "%8s  %-18s %s\n", $1, $2, $4}' || true
	echo "-- where the time goes (share of all samples: a function, then its direct callees):"
	perf script -i "$data" -F ip,sym 2>/dev/null |
		awk -v parents="$parents" -f "$SQL_DIR/perf_phases.awk" | sort -k1,1n -k2,2gr |
		awk '{p = $3; share = $2; $1 = $2 = $3 = ""; sub(/^ +/, "")
		      if ($0 == "(total)") printf "%s: %s%%\n", p, share; else printf "    %6s%%  %s\n", share, $0}' || true
}

# perf profile of one more (b) COPY.
profile_copy() {
	local dir=$1 pid t perf_pid psql_pid
	echo
	echo "== profiling (b) with perf: one more COPY into bench.events_mql"
	reset_variant mql
	mkfifo "$dir/psql_in"
	psql -X -q -At -v ON_ERROR_STOP=1 -d "$DB" <"$dir/psql_in" >"$dir/psql_out" &
	psql_pid=$!
	exec 3>"$dir/psql_in"
	echo "SET work_mem = '$COPY_WORK_MEM'; SELECT pg_backend_pid();" >&3
	for t in $(seq 100); do [ -s "$dir/psql_out" ] && break; sleep 0.1; done
	pid=$(head -1 "$dir/psql_out")
	perf record -F 999 --call-graph dwarf,16384 -p "$pid" -o "$dir/copy.perf" >"$dir/perf_record.log" 2>&1 &
	perf_pid=$!
	sleep 2
	t=$(now_ms)
	echo "COPY bench.events_mql ($COLUMNS_COPIED) FROM '$DATA_FILE';" >&3
	echo '\q' >&3
	exec 3>&-
	wait "$psql_pid"
	echo "-- COPY under perf: $(awk -v ms=$(($(now_ms) - t)) 'BEGIN {printf "%.2f", ms / 1000}') s (backend $pid, 999 Hz, DWARF call graphs)"
	kill -INT "$perf_pid"
	wait "$perf_pid" || true
	perf_summary "$dir/copy.perf" "CopyFrom score_statement batch_begin batch_add_rows batch_apply apply_lead stage_move heap_insert"
	if cp "$dir/copy.perf" /tmp/mql_bench_copy.perf 2>/dev/null; then
		echo "-- perf data kept in /tmp/mql_bench_copy.perf"
	fi
}

# perf profile of (b)'s pgbench backends (synchronous_commit = off).
profile_pgbench() {
	local dir=$1 pids bench_pid
	echo
	echo "== profiling (b) with perf: pgbench single-row INSERTs, synchronous_commit = off"
	PGOPTIONS="-c synchronous_commit=off" pgbench -n -M prepared -c 4 -j 2 -T 12 \
		-f "$dir/insert_mql.sql" "$DB" >"$dir/pgbench_profile.out" 2>&1 &
	bench_pid=$!
	sleep 2
	pids=$(bench_value -c "SELECT string_agg(pid::text, ',') FROM pg_stat_activity WHERE application_name = 'pgbench'")
	perf record -F 999 --call-graph dwarf,16384 -p "$pids" -o "$dir/pgbench.perf" -- sleep 8 >"$dir/perf_record.log" 2>&1
	wait "$bench_pid"
	echo "-- $(grep '^tps' "$dir/pgbench_profile.out") under perf (backends $pids)"
	perf_summary "$dir/pgbench.perf" "PostgresMain PortalRun AfterTriggerEndQuery score_statement batch_begin batch_apply store_lock_lead index_getnext_slot index_fetch_heap apply_lead stage_move store_open_table"
}

in_cluster() {
	local variant run t s sec
	work_dir=$(mktemp -d /tmp/mql_bench.XXXXXX)
	chmod 755 "$work_dir"
	trap 'rm -rf "$work_dir"' EXIT
	local dir=$work_dir

	echo "== machine"
	echo "CPU: $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) cores; RAM: $(free -g | awk '/^Mem:/ {print $2}') GB; load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
	psql -X -At -d postgres -c "SELECT split_part(version(), ' on ', 1)"
	psql -X -At -d postgres -c "SELECT string_agg(name || '=' || current_setting(name), ', ' ORDER BY name) FROM pg_settings
		WHERE name IN ('shared_buffers', 'max_wal_size', 'checkpoint_timeout', 'work_mem', 'autovacuum', 'synchronous_commit', 'wal_level', 'fsync', 'jit')"

	CLK_TCK=$(getconf CLK_TCK)
	POSTMASTER_PID=$(head -1 "$(psql -X -At -d postgres -c "SHOW data_directory")/postmaster.pid")

	echo
	echo "== setting up database $DB (bench/scoring/schema.sql) and generating $EVENTS events over $LEADS leads"
	psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "CREATE DATABASE $DB"
	bench_psql -f "$SQL_DIR/schema.sql" >/dev/null
	# server-side COPY wants an absolute path: a file in the data directory
	DATA_FILE=$(bench_value -c "SELECT current_setting('data_directory') || '/bench_events.copy'")
	t=$(now_ms)
	bench_psql -v events="$EVENTS" -v leads="$LEADS" -v file="$DATA_FILE" -f "$SQL_DIR/generate.sql" >/dev/null
	echo "-- data file generated in $(awk -v ms=$(($(now_ms) - t)) 'BEGIN {printf "%.1f", ms / 1000}') s"

	# round robin: each round runs every variant once, so noise from the
	# machine spreads over all of them
	declare -A copy_times copy_cpu
	local cpu
	echo
	echo "-- every COPY session runs with work_mem = $COPY_WORK_MEM (transition tables stay in memory, see COPY_WORK_MEM)"
	for run in $(seq "$RUNS"); do
		echo
		echo "== COPY round $run of $RUNS"
		for variant in floor mql row set; do
			reset_variant "$variant"
			read -r sec cpu < <(copy_run "$variant")
			copy_times[$variant]="${copy_times[$variant]:-} $sec"
			copy_cpu[$variant]="${copy_cpu[$variant]:-} $cpu"
			echo "-- $variant: $sec s (backend CPU $cpu s)"
		done
	done

	verify_mql

	# pgbench on top of the loaded tables (100k leads with state).  A
	# warm-up run per variant first: the first write to each page after a
	# checkpoint logs a full-page image, which would otherwise weigh on
	# whichever variant touches its pages first.
	bench_psql -c "VACUUM ANALYZE" -c "CHECKPOINT"
	for variant in floor mql row; do write_pgbench_script "$variant" "$dir/insert_$variant.sql"; done
	echo
	echo "== pgbench warm-up (10 s per variant, not measured)"
	for variant in floor mql row; do
		PGOPTIONS="-c synchronous_commit=off" pgbench -n -M prepared -c 4 -j 2 -T 10 \
			-f "$dir/insert_$variant.sql" "$DB" >"$dir/pgbench.out" 2>&1 || { cat "$dir/pgbench.out"; exit 1; }
	done
	declare -A tps wal cpu_txn
	local lsn0 lsn1 n ticks0 ticks1
	for s in off on; do
		for run in $(seq "$PGBENCH_ROUNDS"); do
			echo
			echo "== pgbench, synchronous_commit = $s, round $run of $PGBENCH_ROUNDS (4 clients, $PGBENCH_SECONDS s each)"
			for variant in floor mql row; do
				lsn0=$(bench_value -c "SELECT pg_current_wal_insert_lsn()")
				ticks0=$(server_cpu_ticks)
				PGOPTIONS="-c synchronous_commit=$s" pgbench -n -M prepared -c 4 -j 2 -T "$PGBENCH_SECONDS" \
					-f "$dir/insert_$variant.sql" "$DB" >"$dir/pgbench.out" 2>&1 || { cat "$dir/pgbench.out"; exit 1; }
				sleep 0.5	# let the postmaster reap pgbench's backends
				ticks1=$(server_cpu_ticks)
				lsn1=$(bench_value -c "SELECT pg_current_wal_insert_lsn()")
				t=$(sed -n 's/^tps = \([0-9.]*\) (without initial connection time)$/\1/p' "$dir/pgbench.out")
				n=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$dir/pgbench.out")
				[ -n "$t" ] && [ -n "$n" ] && [ "$n" -gt 0 ] || { cat "$dir/pgbench.out"; exit 1; }
				t=$(awk -v t="$t" 'BEGIN {printf "%.0f", t}')
				tps[$s.$variant]="${tps[$s.$variant]:-} $t"
				wal[$s.$variant]="${wal[$s.$variant]:-} $(bench_value -c "SELECT round(pg_wal_lsn_diff('$lsn1', '$lsn0') / $n)")"
				cpu=$(awk -v d=$((ticks1 - ticks0)) -v n="$n" -v hz="$CLK_TCK" 'BEGIN {printf "%.0f", d / hz * 1e6 / n}')
				cpu_txn[$s.$variant]="${cpu_txn[$s.$variant]:-} $cpu"
				echo "-- $variant: $t tps, $n transactions ($(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' "$dir/pgbench.out") failed), server CPU $cpu us/transaction"
			done
		done
	done
	bench_psql -At -c "SELECT 'rows inserted by pgbench: ' || string_agg(v || ' ' || n, ', ') FROM (
		SELECT 'floor' v, count(*) - $EVENTS n FROM bench.events_floor UNION ALL
		SELECT 'mql', count(*) - $EVENTS FROM bench.events_mql UNION ALL
		SELECT 'row', count(*) - $EVENTS FROM bench.events_row) s"

	measure_memory

	# results
	local f b c d fc bc cc dc
	f=$(median ${copy_times[floor]}); b=$(median ${copy_times[mql]})
	c=$(median ${copy_times[row]}); d=$(median ${copy_times[set]})
	fc=$(median ${copy_cpu[floor]}); bc=$(median ${copy_cpu[mql]})
	cc=$(median ${copy_cpu[row]}); dc=$(median ${copy_cpu[set]})
	copy_b_paired=$(paired "${copy_times[mql]}" "${copy_times[floor]}")
	echo
	echo "== results: COPY of $EVENTS events over $LEADS leads (medians of $RUNS rounds)"
	printf '%-32s %7s %7s %7s %8s %7s   %s\n' "variant" "wall s" "x floor" "paired" "backend" "x floor" "runs (wall s)"
	printf '%-32s %7s %7s %7s %8s %7s   %s\n' "" "" "" "x floor" "CPU s" "(CPU)" ""
	printf '%-32s %7s %7s %7s %8s %7s  %s\n' "(a) no trigger (floor)" "$f" "1.00" "1.00" "$fc" "1.00" "${copy_times[floor]}"
	printf '%-32s %7s %7s %7.2f %8s %7s  %s\n' "(b) mql_score" "$b" "$(ratio "$b" "$f")" "$copy_b_paired" "$bc" "$(ratio "$bc" "$fc")" "${copy_times[mql]}"
	printf '%-32s %7s %7s %7.2f %8s %7s  %s\n' "(c) PL/pgSQL row trigger" "$c" "$(ratio "$c" "$f")" "$(paired "${copy_times[row]}" "${copy_times[floor]}")" "$cc" "$(ratio "$cc" "$fc")" "${copy_times[row]}"
	printf '%-32s %7s %7s %7.2f %8s %7s  %s\n' "(d) PL/pgSQL statement trigger" "$d" "$(ratio "$d" "$f")" "$(paired "${copy_times[set]}" "${copy_times[floor]}")" "$dc" "$(ratio "$dc" "$fc")" "${copy_times[set]}"
	echo "rows/s (wall): (a) $(awk -v n="$EVENTS" -v s="$f" 'BEGIN {printf "%.0f", n / s}'), (b) $(awk -v n="$EVENTS" -v s="$b" 'BEGIN {printf "%.0f", n / s}'); (d)/(b) = $(ratio "$d" "$b") wall, $(ratio "$dc" "$bc") CPU; (c)/(b) = $(ratio "$c" "$b") wall, $(ratio "$cc" "$bc") CPU"

	echo
	echo "== results: pgbench single-row INSERT transactions (medians of $PGBENCH_ROUNDS rounds of $PGBENCH_SECONDS s, 4 clients)"
	printf '%-7s %-26s %6s %7s %7s %7s %7s %6s   %s\n' "sync." "variant" "tps" "x floor" "paired" "CPU" "x floor" "WAL B" "runs (tps)"
	printf '%-7s %-26s %6s %7s %7s %7s %7s %6s   %s\n' "commit" "" "" "" "x floor" "us/txn" "(CPU)" "/txn" ""
	local pf pb pc cf cb ccpu bp cp
	for s in off on; do
		pf=$(median ${tps[$s.floor]}); pb=$(median ${tps[$s.mql]}); pc=$(median ${tps[$s.row]})
		cf=$(median ${cpu_txn[$s.floor]}); cb=$(median ${cpu_txn[$s.mql]}); ccpu=$(median ${cpu_txn[$s.row]})
		bp=$(paired "${tps[$s.mql]}" "${tps[$s.floor]}"); cp=$(paired "${tps[$s.row]}" "${tps[$s.floor]}")
		eval "pg_${s}_b=$(ratio "$pb" "$pf") pg_${s}_c=$(ratio "$pc" "$pf") pg_${s}_bcpu=$(ratio "$cf" "$cb") pg_${s}_bp=$bp pg_${s}_cp=$cp"
		printf '%-7s %-26s %6s %7s %7s %7s %7s %6s  %s\n' "$s" "(a) no trigger (floor)" "$pf" "1.00" "1.00" "$cf" "1.00" "$(median ${wal[$s.floor]})" "${tps[$s.floor]}"
		printf '%-7s %-26s %6s %7s %7.2f %7s %7s %6s  %s\n' "$s" "(b) mql_score" "$pb" "$(ratio "$pb" "$pf")" "$bp" "$cb" "$(ratio "$cb" "$cf")" "$(median ${wal[$s.mql]})" "${tps[$s.mql]}"
		printf '%-7s %-26s %6s %7s %7.2f %7s %7s %6s  %s\n' "$s" "(c) PL/pgSQL row trigger" "$pc" "$(ratio "$pc" "$pf")" "$cp" "$ccpu" "$(ratio "$ccpu" "$cf")" "$(median ${wal[$s.row]})" "${tps[$s.row]}"
	done

	echo
	echo "== targets (from the issue)"
	echo "(each: ratio of the medians -> verdict; median of the per-round ratios -> verdict; [the CPU measure])"
	echo "COPY: (b) <= 1.25x the floor: $(ratio "$b" "$f")x -> $(verdict "$b <= 1.25 * $f"); paired $(printf %.2f "$copy_b_paired")x -> $(verdict "$copy_b_paired <= 1.25") [CPU: $(ratio "$bc" "$fc")x -> $(verdict "$bc <= 1.25 * $fc")]"
	echo "COPY: (b) faster than (d): $b s vs $d s -> $(verdict "$b < $d") [CPU: $bc s vs $dc s -> $(verdict "$bc < $dc")]"
	echo "pgbench, synchronous_commit = off: (b) >= 0.75x the floor: ${pg_off_b}x -> $(verdict "$pg_off_b >= 0.75"); paired $(printf %.2f "$pg_off_bp")x -> $(verdict "$pg_off_bp >= 0.75") [CPU per transaction, floor/(b): ${pg_off_bcpu}x -> $(verdict "$pg_off_bcpu >= 0.75")] (row trigger: ${pg_off_c}x, paired $(printf %.2f "$pg_off_cp")x; the issue expects ~0.5x)"
	echo "pgbench, synchronous_commit = on: (b) >= 0.9x the floor: ${pg_on_b}x -> $(verdict "$pg_on_b >= 0.9"); paired $(printf %.2f "$pg_on_bp")x -> $(verdict "$pg_on_bp >= 0.9") [CPU per transaction, floor/(b): ${pg_on_bcpu}x] (row trigger: ${pg_on_c}x, paired $(printf %.2f "$pg_on_cp")x)"
	copy_ok=$(verdict "$b <= 1.25 * $f && $copy_b_paired <= 1.25 && $b < $d")
	pgbench_ok=$(verdict "$pg_off_b >= 0.75 && $pg_off_bp >= 0.75 && $pg_on_b >= 0.9 && $pg_on_bp >= 0.9")

	if [ "$PROFILE" = 1 ] || { [ "$PROFILE" = auto ] && [ "$copy_ok$pgbench_ok" != metmet ]; }; then
		if ! command -v perf >/dev/null; then
			echo "== perf is not installed: no profile (apt-get install linux-perf)"
		else
			if [ "$PROFILE" = 1 ] || [ "$copy_ok" = MISSED ]; then profile_copy "$dir"; fi
			if [ "$PROFILE" = 1 ] || [ "$pgbench_ok" = MISSED ]; then profile_pgbench "$dir"; fi
		fi
	fi
}

if [ "${1:-}" = --in-cluster ]; then
	in_cluster
	exit 0
fi

##########################################################################
# Outside: build, install privately, start the cluster
##########################################################################

bench_start=$(now_ms)
echo "== bench/scoring.sh: $EVENTS events over $LEADS leads, $RUNS COPY rounds, $PGBENCH_ROUNDS pgbench rounds of $PGBENCH_SECONDS s, profile $PROFILE"
bench_on_exit() {
	local rc=$?
	[ -z "${install_dir:-}" ] || rm -rf "$install_dir"
	[ "$rc" -eq 0 ] || echo "== benchmark FAILED (exit status $rc)" >&2
}
trap bench_on_exit EXIT

# shellcheck source=../test/lib/common.sh
. "$BENCH_DIR/../test/lib/common.sh"

if [ "$BENCH_PG" != 15 ]; then
	# A private release build (no cassert: we measure production code),
	# built once into the cache by test/lib/pg_build.sh; mql_score installs
	# into it directly: nobody else installs there.
	prefix=$(bash "$MQL_ROOT/test/lib/pg_build.sh" "$BENCH_PG" release | tail -1)
	pg_config=$prefix/bin/pg_config
	make -s -C "$MQL_ROOT" clean PG_CONFIG="$pg_config" >/dev/null
	make -s -C "$MQL_ROOT" WERROR=1 PG_CONFIG="$pg_config"
	make -s -C "$MQL_ROOT" install PG_CONFIG="$pg_config" >/dev/null
	echo "== mql_score $(git -C "$MQL_ROOT" describe --always --dirty 2>/dev/null || echo '(no git)') installed into $prefix"
	install_dir=$(mktemp -d /tmp/mql_bench_cluster.XXXXXX)
	chown postgres: "$install_dir"
	echo "== starting a throwaway PostgreSQL $BENCH_PG cluster ($("$pg_config" --version), private build)"
	runuser -u postgres -- "$prefix/bin/initdb" -D "$install_dir/data" -A trust -U postgres >/dev/null
	cat >>"$install_dir/data/postgresql.conf" <<-EOF
	listen_addresses = ''
	unix_socket_directories = '$install_dir'
	shared_buffers = 1GB
	max_wal_size = 16GB
	min_wal_size = 1GB
	checkpoint_timeout = 1h
	checkpoint_completion_target = 0.9
	work_mem = 64MB
	maintenance_work_mem = 256MB
	autovacuum = off
	max_connections = 50
	fsync = on
	EOF
	runuser -u postgres -- "$prefix/bin/pg_ctl" -D "$install_dir/data" -l "$install_dir/server.log" -w start >/dev/null
	rc=0
	PGHOST=$install_dir PGPORT=5432 PGUSER=postgres PATH="$prefix/bin:$PATH" \
		bash "${BASH_SOURCE[0]}" --in-cluster || rc=$?
	runuser -u postgres -- "$prefix/bin/pg_ctl" -D "$install_dir/data" -m fast -w stop >/dev/null
	[ "$rc" -eq 0 ] || exit "$rc"
else
	mql_install_packages
	mql_build_install				# no ASSERTS: we measure production code

	# The cluster loads this build from a private copy (Debian's
	# extension_destdir), so another build installed meanwhile on a shared
	# machine cannot change the code under measurement.
	install_dir=$(mktemp -d /tmp/mql_bench_install.XXXXXX)
	chmod 755 "$install_dir"
	make -s -C "$MQL_ROOT" install DESTDIR="$install_dir" PG_CONFIG="/usr/lib/postgresql/$PG_MAJOR/bin/pg_config" >/dev/null
	echo "== mql_score $(git -C "$MQL_ROOT" describe --always --dirty 2>/dev/null || echo '(no git)') installed privately in $install_dir"

	echo "== starting a throwaway PostgreSQL $PG_MAJOR cluster (pg_virtualenv)"
	pg_virtualenv -t -v "$PG_MAJOR" \
		-o "extension_destdir=$install_dir" \
		-o shared_buffers=1GB -o max_wal_size=16GB -o min_wal_size=1GB \
		-o checkpoint_timeout=1h -o checkpoint_completion_target=0.9 \
		-o work_mem=64MB -o maintenance_work_mem=256MB \
		-o autovacuum=off -o max_connections=50 -o fsync=on \
		bash "${BASH_SOURCE[0]}" --in-cluster
fi

echo
echo "== benchmark finished in $(awk -v ms=$(($(now_ms) - bench_start)) 'BEGIN {printf "%.1f min", ms / 60000}')"
