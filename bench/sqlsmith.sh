#!/usr/bin/env bash
# bench/sqlsmith.sh — fuzz mql_score with Debian's sqlsmith (random SQL over
# the whole catalog) for MINUTES (a decimal number, default 5), on a
# throwaway cluster holding a small CRM that mql_score tracks with every
# feature on (bench/sqlsmith/setup.sql: three models, five tracked tables
# one of them partitioned, fit rules on a lead table, rules with once,
# max_per_day, conditions and promote_to, stages, history).  Then reports:
#
#   - backend crashes ("terminated by signal" in the server log) with the
#     statement that was running;
#   - internal errors (SQLSTATE XX000, from log_line_prefix %e) with their
#     statement and source location (log_error_verbosity = verbose);
#   - queries run, the share that were valid (sqlsmith's error rate), and
#     which mql_score objects the queries named and the server executed.
#
# Exits 1 on any backend crash (whatever the statement: a crash restarts
# the whole server) and on any XX000 that involves mql_score; other XX000s
# are listed but do not fail the run.  Nearly every generated query reads
# an mql_score table or view, so naming one is not enough to involve us:
# an XX000 involves mql_score when it is raised in one of src/*.c (its
# LOCATION), in the context of an mql_score function, by a statement that
# calls an mql_score function, or by one that writes to mql_score's or the
# CRM's tables (our triggers run) -- except PostgreSQL's own internal
# errors that random calls of its internal-use functions raise whatever
# the tables ("invalid INTERVAL typmod" and "unrecognized interval typmod"
# from pg_catalog.interval(interval, int) given a random typmod, "failed to
# find conversion function from unknown" from unknownin, "cache lookup
# failed for operator class 0" from amvalidate(0)), unless raised in
# our code.
#
#   bash bench/sqlsmith.sh 30                 # build privately, fuzz 30 min
#   bash bench/sqlsmith.sh --installed 1.5    # use the installed extension
#
# Without --installed the tree is built (assertions on) in a copy and
# installed under a private prefix the server reads through
# extension_destdir (a Debian patch), so the system's install is left
# alone.  The cluster listens only on a private Unix socket.
#
# Safety.  sqlsmith runs as `smith`, a role that is NOT a superuser: it has
# what doc/mql_score.md's privileges chapter gives an application and a
# reporting role (DML on the CRM's tables, SELECT on mql_score's tables and
# views) plus the delegated configuration writes (INSERT, UPDATE, DELETE on
# models, rules, stages, fit_rules, and model_status, which today's
# delegation still needs) and EXECUTE on every mql_score function, internal
# helpers included, so random arguments reach them too.  It has no role
# attributes and none of the pg_read/write_server_files or
# pg_execute_server_program roles, so no random call (lo_export,
# pg_read_file, COPY ... PROGRAM, pg_terminate_backend of other roles,
# ALTER SYSTEM) can touch files or processes outside the cluster; the
# superuser only sets the database up.  statement_timeout (2 s) and
# temp_file_limit (256 MB) bound what one query may cost.
set -uo pipefail

SCRIPT=$(readlink -f "${BASH_SOURCE[0]}")
MQL_ROOT=$(cd "$(dirname "$SCRIPT")/.." && pwd)
PG_MAJOR=15
PG_BIN=/usr/lib/postgresql/$PG_MAJOR/bin
export PATH="$PG_BIN:$PATH"

installed=0
if [ "${1:-}" = --installed ]; then
	installed=1
	shift
fi
MINUTES=${1:-5}
SECONDS_TOTAL=$(awk -v m="$MINUTES" 'BEGIN { s = int(m * 60); if (s < 1) exit 1; print s }') ||
	{ echo "usage: $0 [--installed] MINUTES" >&2; exit 2; }
command -v sqlsmith >/dev/null || { echo "sqlsmith is not installed (apt-get install sqlsmith)" >&2; exit 2; }

# initdb refuses root: as root, do everything as the postgres OS user.
if [ "$(id -u)" -eq 0 ]; then
	workdir=$(mktemp -d /tmp/mql_sqlsmith.XXXXXX)
	tar -C "$MQL_ROOT" --exclude=.git --exclude='*.o' --exclude='*.so' --exclude='*.bc' -cf - . |
		tar -C "$workdir" -xf -
	chown -R postgres: "$workdir"
	args=("$MINUTES")
	[ $installed -eq 1 ] && args=(--installed "$MINUTES")
	runuser -u postgres -- env SQLSMITH_KEEP="${SQLSMITH_KEEP:-}" bash "$workdir/bench/sqlsmith.sh" "${args[@]}"
	rc=$?
	[ -n "${SQLSMITH_KEEP:-}" ] || rm -rf "$workdir"
	exit $rc
fi

work=$(mktemp -d /tmp/mql_sqlsmith_run.XXXXXX)
data=$work/data
sock=$work
port=$((56000 + RANDOM % 2000))
log=$work/server.log
cleanup() {
	pg_ctl -D "$data" -m immediate stop >/dev/null 2>&1
	wait
	if [ -n "${SQLSMITH_KEEP:-}" ]; then echo "(kept $work)"; else rm -rf "$work"; fi
}
trap cleanup EXIT

destdir_conf=""
if [ $installed -eq 0 ]; then
	echo "== building mql_score (assertions on) and installing it under $work/install"
	make -s -C "$MQL_ROOT" WERROR=1 ASSERTS=1 PG_CONFIG="$PG_BIN/pg_config" || exit 1
	make -s -C "$MQL_ROOT" install DESTDIR="$work/install" PG_CONFIG="$PG_BIN/pg_config" >/dev/null || exit 1
	destdir_conf="extension_destdir = '$work/install'"
fi

echo "== starting a throwaway cluster on socket $sock, port $port"
initdb -D "$data" -A trust -U postgres --no-sync >/dev/null || exit 1
cat >>"$data/postgresql.conf" <<EOF
port = $port
unix_socket_directories = '$sock'
listen_addresses = ''
fsync = off
synchronous_commit = off
$destdir_conf
log_line_prefix = '%m [%p] %e '
log_min_messages = warning
log_min_error_statement = error
log_error_verbosity = verbose
track_functions = all
restart_after_crash = on
max_connections = 20
EOF
# The server log keeps only what the report needs: every error's statement
# is logged (log_min_error_statement), which is ~40 MB a minute, so a
# filter keeps the XX000 entries, crashes and fatal messages as they come.
postgres -D "$data" 2>&1 | awk '
	/^[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9] [0-9:.]+ [A-Z]+ \[/ {
		keep = $0 ~ / XX000 |terminated by signal|Failed process was running| PANIC: | FATAL: |database system is ready|TRAP/
	}
	keep { print; fflush() }' >"$log" &
for _ in $(seq 60); do pg_isready -q -h "$sock" -p "$port" && break; sleep 1; done
pg_isready -q -h "$sock" -p "$port" || { tail -20 "$log"; exit 1; }
psql_su() { psql -X -q -v ON_ERROR_STOP=1 -h "$sock" -p "$port" -U postgres "$@"; }

echo "== creating the CRM and the fuzzing role"
psql_su -d postgres -c "CREATE DATABASE fuzz" || exit 1
psql_su -d fuzz -f "$MQL_ROOT/bench/sqlsmith/setup.sql" >/dev/null || exit 1
psql_su -d fuzz <<'EOF' || exit 1
CREATE ROLE smith LOGIN;
GRANT USAGE ON SCHEMA crm, mql_score TO smith;
GRANT SELECT ON ALL TABLES IN SCHEMA crm, mql_score TO smith;
GRANT INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA crm TO smith;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA crm TO smith;
GRANT INSERT, UPDATE, DELETE ON mql_score.models, mql_score.rules, mql_score.stages,
	mql_score.fit_rules, mql_score.model_status TO smith;
GRANT USAGE ON SEQUENCE mql_score.rules_id_seq, mql_score.fit_rules_id_seq TO smith;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA mql_score TO smith;
GRANT EXECUTE ON ALL PROCEDURES IN SCHEMA mql_score TO smith;
ALTER ROLE smith SET statement_timeout = '2s';
ALTER ROLE smith SET temp_file_limit = '256MB';
ALTER ROLE smith SET lock_timeout = '1s';
SELECT pg_stat_reset() \gset
EOF
start_line=$(wc -l <"$log")

echo "== sqlsmith for $MINUTES min as role smith"
queries=0
errors=0
runs=0
deadline=$((SECONDS + SECONDS_TOTAL))
: >"$work/objects"
while [ $SECONDS -lt $deadline ]; do
	left=$((deadline - SECONDS))
	runs=$((runs + 1))
	# a new seed per run; a run ends early if sqlsmith gives up (e.g. after a crash)
	timeout -s INT "$left" sqlsmith --target="host=$sock port=$port user=smith dbname=fuzz" \
		--verbose --exclude-catalog --dump-all-queries --seed=$((RANDOM * 32768 + RANDOM)) \
		2>"$work/sqlsmith.$runs.err" |
		grep -o 'mql_score\.[a-z_0-9]*' >>"$work/objects"
	q=$(grep -o '^queries: [0-9]*' "$work/sqlsmith.$runs.err" | tail -1 | cut -d' ' -f2)
	rate=$(grep -o '^error rate: [0-9.e-]*' "$work/sqlsmith.$runs.err" | tail -1 | cut -d' ' -f3)
	q=${q:-0}
	queries=$((queries + q))
	errors=$((errors + $(awk -v q="$q" -v r="${rate:-0}" 'BEGIN { printf "%d", q * r + 0.5 }')))
	if [ $((deadline - SECONDS)) -gt 0 ]; then
		# sqlsmith stopped before its time: wait for the server to be back
		for _ in $(seq 60); do pg_isready -q -h "$sock" -p "$port" && break; sleep 1; done
	fi
done

echo
echo "== report"
tail -n +"$((start_line + 1))" "$log" >"$work/run.log"
# One record per log entry: its first line, then its DETAIL, LOCATION and
# STATEMENT lines (and the continuation lines of a statement).
awk -v out="$work" '
	function flush() {
		if (rec ~ /terminated by signal/) print rec "\n" > (out "/crashes")
		else if (rec ~ /^[^\n]* XX000 /) print rec "\n" > (out "/xx000")
		rec = ""
	}
	/^[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9] / {
		if ($0 ~ / (DETAIL|LOCATION|STATEMENT|HINT|CONTEXT): /) { rec = rec "\n" $0; next }
		flush(); rec = $0; next
	}
	{ rec = rec "\n" $0 }
	END { flush() }
' "$work/run.log"
crashes=0
ours=0
[ -f "$work/crashes" ] && crashes=$(grep -c 'terminated by signal' "$work/crashes")
if [ -f "$work/xx000" ]; then
	# Judge each XX000 (see the header): ours if raised in one of our source
	# files, in an mql_score function's context, by a statement calling an
	# mql_score function, or by one writing to a table whose triggers are
	# ours -- unless it is one of PostgreSQL's own internal errors that
	# random calls of internal-use functions raise anywhere (listed below).
	ours_files=$(cd "$MQL_ROOT/src" && ls *.c | paste -sd'|')
	awk -v RS= -v files="$ours_files" '
		{
			rec = $0
			low = tolower(rec)
			ours = rec ~ ("LOCATION: +[a-z_0-9]+, (" files "):") || rec ~ /CONTEXT: [^\n]*mql_score/ ||
				low ~ /mql_score\.[a-z_0-9]+\(/ ||
				low ~ /(insert into|update|delete from|merge into) +(only +)?(mql_score|crm)\./
			core_known = rec ~ /ERROR: +(XX000: +)?(invalid INTERVAL typmod|unrecognized interval typmod|failed to find conversion function from unknown to|cache lookup failed for operator class 0)/
			if (ours && !(core_known && rec !~ ("LOCATION: +[a-z_0-9]+, (" files "):"))) {
				n++; print "[involves mql_score]\n" rec "\n" > (out "/xx000.judged")
			} else {
				# a core error: the message, location and the head of the statement
				k = split(rec, line, "\n")
				short = line[1]
				for (j = 2; j <= k && j <= 12; j++) short = short "\n" line[j]
				if (k > 12) short = short "\n\t... (" k - 12 " more lines)"
				print "[PostgreSQL core]\n" short "\n" > (out "/xx000.judged")
			}
		}
		END { print n + 0 > (out "/xx000.ours") }' out="$work" "$work/xx000"
	ours=$(cat "$work/xx000.ours")
fi
xx=$( [ -f "$work/xx000" ] && awk -v RS= 'END { print NR }' "$work/xx000" || echo 0)

valid_pct=$(awk -v q=$queries -v e=$errors 'BEGIN { if (q == 0) print "n/a"; else printf "%.1f%%", 100 * (q - e) / q }')
echo "duration:          $MINUTES min ($runs sqlsmith run(s))"
echo "queries run:       $queries"
echo "valid (no error):  $valid_pct"
echo "backend crashes:   $crashes"
echo "XX000 errors:      $xx ($ours involving mql_score)"
echo
echo "mql_score objects named by the generated queries (count of queries' references):"
sort "$work/objects" | uniq -c | sort -rn | awk '{ printf "  %7d  %s\n", $1, $2 }'
echo
echo "mql_score functions the server executed (calls; lost if a crash reset the statistics):"
psql_su -d fuzz -At -F' ' -c "SELECT calls, schemaname || '.' || funcname FROM pg_stat_user_functions
	WHERE schemaname = 'mql_score' AND calls > 0 ORDER BY calls DESC, funcname" 2>/dev/null | awk '{ printf "  %7d  %s\n", $1, $2 }'
echo
echo "mql_score tables written (rows inserted/updated/deleted):"
psql_su -d fuzz -At -F' ' -c "SELECT n_tup_ins, n_tup_upd, n_tup_del, relname FROM pg_stat_user_tables
	WHERE schemaname = 'mql_score' AND n_tup_ins + n_tup_upd + n_tup_del > 0 ORDER BY relname" 2>/dev/null |
	awk '{ printf "  %s: %d / %d / %d\n", $4, $1, $2, $3 }'

if [ "$crashes" -gt 0 ]; then
	echo
	echo "== backend crashes"
	cat "$work/crashes"
fi
if [ "$xx" -gt 0 ]; then
	echo
	echo "== internal errors (XX000)"
	cat "$work/xx000.judged"
fi
if [ -n "${SQLSMITH_KEEP:-}" ]; then
	cp "$log" "$work/server.log.kept" 2>/dev/null
fi
if [ "$crashes" -gt 0 ] || [ "$ours" -gt 0 ]; then
	echo "FAILED: $crashes crash(es), $ours XX000 involving mql_score"
	exit 1
fi
echo "passed: no crash, no XX000 involving mql_score"
