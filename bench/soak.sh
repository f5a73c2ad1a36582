#!/usr/bin/env bash
# bench/soak.sh [seconds] — the concurrency soak of the test suite
# (test/t/007_soak.pl: pgbench with 8 clients on 100 overlapping leads while
# rules are edited, rescored and stages refreshed), run for longer:
# 600 seconds by default.
source "$(dirname "${BASH_SOURCE[0]}")/../test/lib/common.sh"
seconds=${1:-600}

mql_install_packages
mql_build_install
if [ "$(id -u)" -eq 0 ]; then
	workdir=$(mktemp -d /tmp/mql_score_soak.XXXXXX)
	trap 'rm -rf "$workdir"' EXIT
	tar -C "$MQL_ROOT" --exclude=.git -cf - . | tar -C "$workdir" -xf -
	chown -R postgres: "$workdir"
	runuser -u postgres -- env SOAK_SECONDS="$seconds" make -s -C "$workdir" installcheck \
		REGRESS= ISOLATION= PROVE_TESTS=test/t/007_soak.pl PROVE_FLAGS=-v
else
	SOAK_SECONDS="$seconds" make -s -C "$MQL_ROOT" installcheck \
		REGRESS= ISOLATION= PROVE_TESTS=test/t/007_soak.pl PROVE_FLAGS=-v
fi
