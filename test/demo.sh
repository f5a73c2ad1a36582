#!/usr/bin/env bash
# test/demo.sh — the README's demo.  On a fresh Debian 12 machine (as root, or
# a user with sudo): install what is missing, build and install mql_score,
# start a throwaway PostgreSQL cluster, load a generated sample CRM (no
# downloads) and print reports.  Exits non-zero on any error.
#
#   bash test/demo.sh
#
# Reports run in the order of DEMO_REPORTS; later stages append their files.
set -euo pipefail

DEMO_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/demo
DEMO_DB=mql_demo
DEMO_REPORTS=(
	report_foundation.sql        # decayed_sum / decayed_union over the raw CRM tables
	scoring_setup.sql            # a model and rules; track() the activity tables (timed)
	report_scoring.sql           # funnel, top MQLs, explain(), live INSERTs with NOTIFY
)

# Milliseconds since the epoch, and the time since one, for the timings.
now_ms() { date +%s%3N; }
since() {
	local ms=$(($(now_ms) - $1))
	printf '%d.%d s' $((ms / 1000)) $((ms % 1000 / 100))
}

# psql on the demo database: no ~/.psqlrc, stop at the first error.
demo_psql() { psql -X -q -v ON_ERROR_STOP=1 -d "$DEMO_DB" "$@"; }

# The part that runs inside pg_virtualenv (PGHOST, PGPORT, PGUSER, ... set).
demo_in_cluster() {
	local t report

	echo "== creating database $DEMO_DB with the mql_score extension"
	psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "CREATE DATABASE $DEMO_DB"
	demo_psql -c 'CREATE EXTENSION mql_score'
	demo_psql -At -c "SELECT 'mql_score ' || extversion || ', ' || split_part(version(), ' on ', 1)
	                  FROM pg_extension WHERE extname = 'mql_score'"

	echo "== creating the CRM schema (test/demo/crm_schema.sql)"
	demo_psql -f "$DEMO_DIR/crm_schema.sql"

	echo "== generating the sample CRM data (test/demo/crm_data.sql)"
	t=$(now_ms)
	demo_psql -f "$DEMO_DIR/crm_data.sql"
	echo "-- data generated and loaded in $(since "$t")"

	for report in "${DEMO_REPORTS[@]}"; do
		echo
		echo "== test/demo/$report"
		t=$(now_ms)
		demo_psql -f "$DEMO_DIR/$report"
		echo "-- $report ran in $(since "$t")"
	done
}

if [ "${1:-}" = --in-cluster ]; then
	demo_in_cluster
	exit 0
fi

demo_start=$(now_ms)
demo_on_exit() {
	local rc=$?
	[ "$rc" -eq 0 ] || echo "== demo FAILED (exit status $rc)" >&2
}
trap demo_on_exit EXIT

# shellcheck source-path=SCRIPTDIR source=lib/common.sh
. "$DEMO_DIR/../lib/common.sh"
# shellcheck disable=SC2119  # no extra packages for the demo
mql_install_packages
mql_build_install

# -t keeps the cluster in a temporary directory, so concurrent runs don't collide.
echo "== starting a throwaway PostgreSQL $PG_MAJOR cluster (pg_virtualenv)"
pg_virtualenv -t -v "$PG_MAJOR" bash "${BASH_SOURCE[0]}" --in-cluster

echo "== demo finished in $(since "$demo_start")"
