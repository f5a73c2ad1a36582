#!/usr/bin/env bash
# test/lib/run_suite.sh — run every test stage against the installed
# extension, once per PostgreSQL major given as argument; called by
# test/check.sh (as a non-root user) after it built and installed mql_score
# for each of them.
#
#   run_suite.sh 15 18
#
# 15 is Debian's package: its clusters come from pg_virtualenv.  Any other
# major is a private build under $MQL_PG_CACHE/pg-N (test/lib/pg_build.sh):
# pg_virtualenv knows only Debian's packages, so the regression and
# isolation stage starts its own throwaway cluster (initdb in a temporary
# directory, a Unix socket only, so no port can clash).  TAP tests start
# their own clusters on every major (PostgreSQL::Test::Cluster).
set -uo pipefail
MQL_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
MQL_PG_CACHE=${MQL_PG_CACHE:-/var/cache/mql_score}
cd "$MQL_ROOT"

failed=()
summary=()
# lines check.sh measured before us (builds), shown first in the summary
[ -n "${MQL_SUMMARY_BEFORE:-}" ] && mapfile -t summary <<<"$MQL_SUMMARY_BEFORE"

# Run one stage, remember its outcome, keep going.
stage() {
	local name=$1; shift
	local start=$SECONDS
	echo "== $name"
	if "$@"; then
		summary+=("PASS  $name ($((SECONDS - start)) s)")
	else
		summary+=("FAIL  $name ($((SECONDS - start)) s)")
		failed+=("$name")
	fi
}

# Where the binaries of PostgreSQL `major` live.
pg_bindir() {
	if [ "$1" = 15 ]; then echo /usr/lib/postgresql/15/bin; else echo "$MQL_PG_CACHE/pg-$1/bin"; fi
}

# Show what pg_regress found wrong.
show_diffs() {
	local diffs
	for diffs in regression.diffs output_iso/regression.diffs; do
		[ -f "$diffs" ] && head -200 "$diffs"
	done
	return 0
}

# pg_regress suite, then the isolation specs even when the suite failed.
# With a second argument `parallel`: the regression suite alone, less the
# differential test (200,000 writes, and writes never run in a parallel
# worker), for the pass under force_parallel_mode / debug_parallel_query.
regress_and_isolation() {
	local rc=0 tests
	if [ "${2:-}" = parallel ]; then
		tests=$(make -s --no-print-directory -f Makefile -f - <<<'print: ; @echo $(REGRESS)' print PG_CONFIG="$1")
		make -s PG_CONFIG="$1" installcheck TAP_TESTS= ISOLATION= REGRESS="${tests/differential/}" || rc=1
		return $rc
	fi
	make -s PG_CONFIG="$1" installcheck TAP_TESTS= ISOLATION= || rc=1
	make -s PG_CONFIG="$1" installcheck TAP_TESTS= REGRESS= || rc=1
	return $rc
}

# The setting that sends every query's plan through a parallel worker, as
# PostgreSQL's buildfarm runs its own suite: reading functions must work there.
parallel_setting() {
	if [ "$1" = 15 ]; then echo force_parallel_mode; else echo debug_parallel_query; fi
}

# pg_regress suite and isolation specs on one throwaway cluster (Debian's);
# `parallel` as second argument: the parallel-mode pass.
regress_debian() {
	local major=$1 mode=${2:-}
	local extra=()
	[ "$mode" = parallel ] && extra=(-o "$(parallel_setting "$major")=regress")
	pg_virtualenv -t -v "$major" -o 'max_worker_processes=16' -o 'max_parallel_workers=8' "${extra[@]}" \
		bash -c "$(declare -f regress_and_isolation); regress_and_isolation $(pg_bindir "$major")/pg_config $mode"
	local rc=$?
	[ $rc -ne 0 ] && show_diffs
	return $rc
}

# The same on a throwaway cluster of a private build.
regress_private() {
	local bindir mode=${2:-}
	bindir=$(pg_bindir "$1")
	local tmp data sock rc
	tmp=$(mktemp -d /tmp/mql_score_pg$1.XXXXXX)
	data=$tmp/data
	sock=$tmp
	"$bindir/initdb" -D "$data" -A trust -U postgres --no-sync >"$tmp/initdb.log" 2>&1 ||
		{ cat "$tmp/initdb.log"; rm -rf "$tmp"; return 1; }
	cat >>"$data/postgresql.conf" <<-EOF
	listen_addresses = ''
	unix_socket_directories = '$sock'
	max_worker_processes = 16
	max_parallel_workers = 8
	fsync = off
	EOF
	[ "$mode" = parallel ] && echo "$(parallel_setting "$1") = regress" >>"$data/postgresql.conf"
	"$bindir/pg_ctl" -D "$data" -l "$tmp/server.log" -w -t 120 start >/dev/null ||
		{ tail -20 "$tmp/server.log"; rm -rf "$tmp"; return 1; }
	PGHOST=$sock PGPORT=5432 PGUSER=postgres PATH="$bindir:$PATH" \
		regress_and_isolation "$bindir/pg_config" "$mode"
	rc=$?
	"$bindir/pg_ctl" -D "$data" -m fast -w stop >/dev/null
	if [ $rc -ne 0 ]; then
		show_diffs
		# a crash or a failed assertion shows in the server log only
		grep -E 'TRAP:|PANIC|terminated by signal' "$tmp/server.log" | tail -20
	fi
	rm -rf "$tmp"
	return $rc
}

# TAP tests: each starts its own clusters (PostgreSQL::Test::Cluster).
# 002 needs pg_cron built for this major; without it, it is skipped, saying why.
tap() {
	local major=$1 bindir tests missing
	bindir=$(pg_bindir "$major")
	tests=$(echo test/t/*.pl)
	missing="$MQL_PG_CACHE/pg-$major/pg_cron.missing"
	if [ "$major" != 15 ] && [ -f "$missing" ]; then
		echo "== SKIPPED test/t/002_pg_cron.pl on PostgreSQL $major: $(cat "$missing")"
		tests=$(echo test/t/*.pl | tr ' ' '\n' | grep -v 002_pg_cron | tr '\n' ' ')
	fi
	PATH="$bindir:$PATH" make -s PG_CONFIG="$bindir/pg_config" installcheck REGRESS= ISOLATION= \
		PROVE_TESTS="$tests"
	local rc=$?
	[ $rc -ne 0 ] && tail -n 60 tmp_check/log/regress_log_* 2>/dev/null
	return $rc
}

# sqlsmith: random SQL against a tracked CRM for 75 s; fails on any
# backend crash or internal error (XX000) of mql_score.
fuzz() {
	bash bench/sqlsmith.sh --installed "${SQLSMITH_MINUTES:-1.25}"
}

# The funnel family against an independent Python reference over a
# randomized stage_history of 120k moves (Europe/Berlin periods).
funnel_reference() {
	pg_virtualenv -t -v 15 python3 test/funnel_reference.py
}

for major in "$@"; do
	version=$("$(pg_bindir "$major")/pg_config" --version | sed 's/ (.*//')
	if [ "$major" = 15 ]; then
		stage "PG $major: regression and isolation tests, pg_regress ($version, Debian)" regress_debian "$major"
		stage "PG $major: regression tests, $(parallel_setting "$major") = regress" regress_debian "$major" parallel
	else
		stage "PG $major: regression and isolation tests, pg_regress ($version, cassert build)" regress_private "$major"
		stage "PG $major: regression tests, $(parallel_setting "$major") = regress" regress_private "$major" parallel
	fi
	stage "PG $major: TAP tests, prove ($version)" tap "$major"
	# on Debian's package (pg_virtualenv): the SQL under test is the same on every major
	if [ "$major" = 15 ]; then
		stage "PG $major: sqlsmith fuzzing, 75 s (bench/sqlsmith.sh)" fuzz
		stage "PG $major: funnel differential test (Python reference)" funnel_reference
	fi
done

echo
echo "== summary"
printf '%s\n' "${summary[@]}"
if [ ${#failed[@]} -ne 0 ]; then
	echo "FAILED: ${failed[*]}"
	exit 1
fi
echo "all stages passed"
