#!/usr/bin/env bash
# test/check.sh — the whole mql_score test suite on a fresh Debian 12 machine:
# installs what it needs, builds with -Werror and assertions on, installs,
# then runs every test stage on throwaway clusters and exits non-zero on any
# failure.  CI (.ci/run) runs exactly this.
#
#   bash test/check.sh                        # PostgreSQL 15 and 18
#   bash test/check.sh 17                     # only 17 (any list of majors)
#   MQL_PG_VERSIONS="15 17 18" bash test/check.sh
#
# 15 is Debian 12's package (assertions: our own, -DUSE_ASSERT_CHECKING).
# 17 and 18 are built once from Debian's source packages, with
# --enable-cassert, into $MQL_PG_CACHE (/var/cache/mql_score) by
# test/lib/pg_build.sh, and reused from there on later runs.
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

read -r -a versions <<<"${*:-${MQL_PG_VERSIONS:-15 18}}"
before=()

mql_install_packages sqlsmith python3 tzdata
for major in "${versions[@]}"; do
	start=$SECONDS
	if [ "$major" = 15 ]; then
		ASSERTS=1 mql_build_install
		before+=("PASS  PG 15: build mql_score, -Werror, assertions ($((SECONDS - start)) s)")
	else
		prefix=$(bash "$MQL_ROOT/test/lib/pg_build.sh" "$major" | tail -1)
		before+=("PASS  PG $major: $(cat "$prefix/.mql_built") [$((SECONDS - start)) s this run]")
		start=$SECONDS
		mql_build_install_private "$prefix/bin/pg_config"
		before+=("PASS  PG $major: build mql_score, -Werror, cassert ($((SECONDS - start)) s)")
	fi
done

# initdb (used by the TAP tests) refuses to run as root: as root, run the
# suite as the postgres OS user on a private copy of the tree.
summary_before=$(printf '%s\n' "${before[@]}")
if [ "$(id -u)" -eq 0 ]; then
	workdir=$(mktemp -d /tmp/mql_score_check.XXXXXX)
	trap 'rm -rf "$workdir"' EXIT
	tar -C "$MQL_ROOT" --exclude=.git -cf - . | tar -C "$workdir" -xf -
	chown -R postgres: "$workdir"
	runuser -u postgres -- env MQL_SUMMARY_BEFORE="$summary_before" \
		bash "$workdir/test/lib/run_suite.sh" "${versions[@]}"
else
	MQL_SUMMARY_BEFORE="$summary_before" bash "$MQL_ROOT/test/lib/run_suite.sh" "${versions[@]}"
fi
