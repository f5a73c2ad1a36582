#!/usr/bin/env bash
# bench/differential.sh — the differential test of the scoring engine
# (sql/differential.sql, which the suite runs with 200,000 events) at a
# larger scale on a throwaway cluster.  Prints every check (mismatch counts,
# the first mismatching leads with both values), the statements applied
# with the time spent per kind, and the total time; exits non-zero if a
# check failed.
#
#   bash bench/differential.sh [events [seed]]      # default: 2000000 events
#
# Environment: MQL_SKIP_BUILD=1 uses the installed build instead of
# building and installing this tree; DIFF_SKIP_MULTI_TRIGGER=1 leaves out
# the statements that fire several scoring triggers at once (INSERT ... ON
# CONFLICT DO UPDATE, MERGE, DELETE ... RETURNING into INSERT).
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
EVENTS=${1:-2000000}
SEED=${2:-0.20260117}

# The part that runs inside pg_virtualenv (PGHOST, PGPORT, PGUSER, ... set).
in_cluster() {
	local out start rc=0
	out=$(mktemp)
	psql -X -q -d postgres -c 'CREATE DATABASE mql_differential'
	start=$(date +%s)
	psql -X -q -d mql_differential -v diff_events="$EVENTS" -v diff_seed="$SEED" \
		-v diff_skip_multi_trigger="${DIFF_SKIP_MULTI_TRIGGER:-0}" -v diff_timing=1 \
		-f "$BENCH_DIR/../sql/differential.sql" >"$out" 2>&1 || rc=$?
	cat "$out"
	echo "== $EVENTS events (seed $SEED) applied and checked in $(($(date +%s) - start)) s"
	echo "== mismatches: $(grep -Eo '(mismatches|missing from mql_score.skipped): [0-9]+' "$out" |
		awk '{ n += $NF } END { print n + 0 }'), errors: $(grep -c 'ERROR' "$out")"
	# a failed check: a mismatch, an error, a rollback that left a trace
	if [ $rc -ne 0 ] || grep -Eq 'mismatches: [1-9]|missing from mql_score.skipped: [1-9]|ERROR|FATAL|server closed' "$out" ||
		grep -Eq '^ *state changed by a rollback .*\| *[1-9]' "$out" || grep -Eq '^ *f$' "$out"; then
		echo "== differential test FAILED"
		rm -f "$out"
		return 1
	fi
	echo "== differential test passed: mismatches: 0"
	rm -f "$out"
}

if [ "${1:-}" = --in-cluster ]; then
	shift
	EVENTS=${1:-2000000}
	SEED=${2:-0.20260117}
	in_cluster
	exit
fi

# shellcheck source-path=SCRIPTDIR source=../test/lib/common.sh
. "$BENCH_DIR/../test/lib/common.sh"
if [ -z "${MQL_SKIP_BUILD:-}" ]; then
	mql_install_packages
	mql_build_install
fi
echo "== starting a throwaway PostgreSQL $PG_MAJOR cluster (pg_virtualenv)"
pg_virtualenv -t -v "$PG_MAJOR" bash "${BASH_SOURCE[0]}" --in-cluster "$EVENTS" "$SEED"
