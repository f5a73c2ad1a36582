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

# pg_regress suite and isolation specs on one throwaway cluster.
regress() {
	pg_virtualenv -v 15 -o 'max_worker_processes=16' -o 'max_parallel_workers=8' \
		make -s installcheck PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config
	local rc=$?
	[ $rc -ne 0 ] && [ -f regression.diffs ] && head -200 regression.diffs
	return $rc
}

stage "regression tests (pg_regress)" regress

echo
echo "== summary"
printf '%s\n' "${summary[@]}"
if [ ${#failed[@]} -ne 0 ]; then
	echo "FAILED: ${failed[*]}"
	exit 1
fi
echo "all stages passed"
