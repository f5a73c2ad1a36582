#!/usr/bin/env bash
# test/lib/run_suite.sh — run every test stage against the installed
# extension; called by test/check.sh (as a non-root user).
set -uo pipefail
MQL_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
export PATH="/usr/lib/postgresql/15/bin:$PATH"
cd "$MQL_ROOT"

failed=()
summary=()

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

PGXS_MAKE=(make -s PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config)

# pg_regress suite and isolation specs on one throwaway cluster.
regress() {
	pg_virtualenv -t -v 15 -o 'max_worker_processes=16' -o 'max_parallel_workers=8' \
		"${PGXS_MAKE[@]}" installcheck TAP_TESTS=
	local rc=$?
	for diffs in regression.diffs output_iso/regression.diffs; do
		[ $rc -ne 0 ] && [ -f "$diffs" ] && head -200 "$diffs"
	done
	return $rc
}

# The regression suite again with every query forced through a parallel
# worker, as PostgreSQL's buildfarm runs its own (force_parallel_mode,
# renamed debug_parallel_query in 16): reading functions must work there.
# Less the differential test: 200,000 writes, and writes never run in a
# parallel worker (it passes there too, in 2-4 more minutes).
regress_parallel() {
	local tests
	tests=$(make -s --no-print-directory -f Makefile -f - <<<'print: ; @echo $(REGRESS)' print PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config)
	pg_virtualenv -t -v 15 -o 'max_worker_processes=16' -o 'max_parallel_workers=8' \
		-o 'force_parallel_mode=regress' \
		"${PGXS_MAKE[@]}" installcheck TAP_TESTS= ISOLATION= REGRESS="${tests/differential/}"
	local rc=$?
	[ $rc -ne 0 ] && [ -f regression.diffs ] && head -200 regression.diffs
	return $rc
}

# TAP tests: each starts its own clusters (PostgreSQL::Test::Cluster).
tap() {
	"${PGXS_MAKE[@]}" installcheck REGRESS= ISOLATION=
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

stage "regression and isolation tests (pg_regress)" regress
stage "regression tests, force_parallel_mode = regress" regress_parallel
stage "TAP tests (prove)" tap
stage "sqlsmith fuzzing, 75 s (bench/sqlsmith.sh)" fuzz
stage "funnel differential test (Python reference)" funnel_reference

echo
echo "== summary"
printf '%s\n' "${summary[@]}"
if [ ${#failed[@]} -ne 0 ]; then
	echo "FAILED: ${failed[*]}"
	exit 1
fi
echo "all stages passed"
