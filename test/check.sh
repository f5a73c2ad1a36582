#!/usr/bin/env bash
# test/check.sh — the whole mql_score test suite on a fresh Debian 12 machine:
# installs what it needs, builds with -Werror and our assertions on, installs,
# then runs every test stage on throwaway clusters and exits non-zero on any
# failure.  CI (.ci/run) runs exactly this.
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

mql_install_packages sqlsmith python3 tzdata
ASSERTS=1 mql_build_install

# initdb (used by the TAP tests) refuses to run as root: as root, run the
# suite as the postgres OS user on a private copy of the tree.
if [ "$(id -u)" -eq 0 ]; then
	workdir=$(mktemp -d /tmp/mql_score_check.XXXXXX)
	trap 'rm -rf "$workdir"' EXIT
	tar -C "$MQL_ROOT" --exclude=.git -cf - . | tar -C "$workdir" -xf -
	chown -R postgres: "$workdir"
	runuser -u postgres -- bash "$workdir/test/lib/run_suite.sh"
else
	bash "$MQL_ROOT/test/lib/run_suite.sh"
fi
