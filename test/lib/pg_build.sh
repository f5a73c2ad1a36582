#!/usr/bin/env bash
# test/lib/pg_build.sh — build PostgreSQL MAJOR (17 or 18) from Debian's source
# package into a cache directory outside the repository, once; later calls
# reuse it.  bookworm ships binaries for 15 only, but Debian's archive has the
# sources of newer majors in later suites: a deb-src entry (never a deb entry,
# so apt cannot install trixie or sid binaries) derived from the machine's own
# Debian sources entry (same URIs and keyring) makes `apt-get source` find them.
#
#   bash test/lib/pg_build.sh 18        # prints the prefix on its last line
#
# The build: --enable-cassert (assertions), --enable-tap-tests, no ICU or
# readline; then what the suite needs beyond `make install`: the isolation
# tester, contrib/file_fdw (regress bad_input), and pg_cron built from its own
# Debian source package (TAP 002).  A pg_cron that cannot be had is recorded
# in $prefix/pg_cron.missing and TAP 002 is skipped with that reason.
#
# Knobs: MQL_PG_CACHE (/var/cache/mql_score), MQL_PG_JOBS (2).  Needs root
# (apt) the first time only.
set -euo pipefail

major=${1:?usage: pg_build.sh MAJOR [release]}
variant=${2:-cassert}
cache=${MQL_PG_CACHE:-/var/cache/mql_score}
jobs=${MQL_PG_JOBS:-2}
case $variant in
cassert) prefix=$cache/pg-$major; assert_flag=--enable-cassert ;;
release) prefix=$cache/pg-$major-release; assert_flag= ;;
*) echo "usage: pg_build.sh MAJOR [release]" >&2; exit 2 ;;
esac
srclist=/etc/apt/sources.list.d/mql_score-src.sources
[ "$(id -u)" -eq 0 ] || exec sudo MQL_PG_CACHE="$cache" MQL_PG_JOBS="$jobs" bash "$0" "$@"

# The Debian suite whose source package carries this major.
case $major in
17) suite=trixie ;;
18) suite=sid ;;
*) echo "pg_build.sh: no Debian source suite known for PostgreSQL $major" >&2; exit 2 ;;
esac

if [ -f "$prefix/.mql_built" ]; then
	echo "== PostgreSQL $major: reusing $prefix ($(cat "$prefix/.mql_built"))" >&2
	echo "$prefix"
	exit 0
fi

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

# A deb-src stanza for trixie and sid from the first Debian (non-security)
# stanza of the machine's own sources: its URIs and Signed-By, nothing else.
write_src_entry() {
	local uri keyring
	uri=$(awk '/^URIs:/ && $2 ~ /debian\/?$/ {print $2; exit}' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
	keyring=$(awk '/^Signed-By:/ {print $2; exit}' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
	if [ -z "$uri" ] && [ -f /etc/apt/sources.list ]; then
		uri=$(awk '$1 == "deb" && $0 !~ /security/ {for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) {print $i; exit}}' /etc/apt/sources.list)
	fi
	[ -n "$uri" ] || { echo "pg_build.sh: no Debian archive URI in the apt sources" >&2; exit 1; }
	{
		echo "# written by mql_score test/lib/pg_build.sh: sources only, never binaries"
		echo "Types: deb-src"
		echo "URIs: $uri"
		echo "Suites: trixie sid"
		echo "Components: main"
		[ -n "$keyring" ] && echo "Signed-By: $keyring"
	} | as_root tee "$srclist.new" >/dev/null
	as_root mv "$srclist.new" "$srclist"
}

start=$SECONDS
echo "== PostgreSQL $major ($variant): building into $prefix (cold; once)" >&2
as_root mkdir -p "$cache/src"
[ -f "$srclist" ] || write_src_entry
for pkg in bison flex dpkg-dev libipc-run-perl zlib1g-dev pkg-config; do
	dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
if [ -n "${missing[*]:-}" ]; then
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Fetch the source package once (apt checks its signature and checksums),
# unpack the upstream tree without Debian's patches: they move pkglibdir to
# /usr/lib/postgresql/N/lib (outside our prefix) and the default socket to
# /var/run/postgresql, which only make sense for Debian's own packages.
src=$cache/src/$major
if ! ls "$src"/postgresql-"$major"_*.dsc >/dev/null 2>&1; then
	as_root rm -rf "$src"
	as_root mkdir -p "$src"
	if ! (cd "$src" && as_root apt-get source -qq --download-only "postgresql-$major/$suite" >/dev/null 2>"$src/apt.err"); then
		cat "$src/apt.err" >&2
		echo "pg_build.sh: the source package postgresql-$major ($suite) cannot be downloaded from this machine's Debian mirror" >&2
		exit 1
	fi
fi
dsc=$(ls "$src"/postgresql-"$major"_*.dsc | tail -1)
tree=$src/build-$variant
as_root rm -rf "$tree"
# (dpkg-source cannot check the .dsc's own signature without the uploader's
# key; apt already checked its checksum against the signed Release file)
(cd "$src" && as_root dpkg-source -q --skip-patches -x "$dsc" "$tree" 2>&1 >/dev/null | grep -v '^gpgv:' >&2 || true)
[ -x "$tree/configure" ] || { echo "pg_build.sh: could not unpack $dsc" >&2; exit 1; }
version=$(basename "$dsc" .dsc | sed -e "s/^postgresql-${major}_//" -e 's/-[^-]*$//')

as_root rm -rf "$prefix"
log=$src/build-$variant.log
if ! (
	set -e
	cd "$tree"
	./configure --prefix="$prefix" --without-icu --without-readline \
		$assert_flag --enable-tap-tests
	make -j"$jobs"
	make install
	# pg_isolation_regress and the isolation tester; contrib the suite uses
	make -C src/test/isolation install
	make -C contrib/file_fdw install
) 2>&1 | as_root tee "$log" >/dev/null; then
	tail -40 "$log" >&2
	echo "pg_build.sh: build of PostgreSQL $version failed (log: $log)" >&2
	exit 1
fi
case $("$prefix/bin/pg_config" --pkglibdir) in
"$prefix"/*) ;;
*) echo "pg_build.sh: PostgreSQL $version installed outside $prefix" >&2; exit 1 ;;
esac
as_root rm -rf "$tree"				# 400 MB of objects; the prefix is what we keep
echo "== PostgreSQL $version built in $((SECONDS - start)) s" >&2

# pg_cron from its own Debian source package, against this server.
cron_start=$SECONDS
cronsrc=$cache/src/pg_cron-$major
as_root rm -rf "$cronsrc" "$prefix/pg_cron.missing"
as_root mkdir -p "$cronsrc"
if ! (cd "$cronsrc" && as_root apt-get source -qq "pg-cron/$suite" >/dev/null 2>&1); then
	echo "pg_cron: its source package pg-cron ($suite) cannot be downloaded from this machine's Debian mirror" |
		as_root tee "$prefix/pg_cron.missing" >&2
elif
	crontree=$(find "$cronsrc" -mindepth 1 -maxdepth 1 -type d -name 'pg-cron-*' | head -1) &&
	[ -n "$crontree" ] &&
	as_root make -s -C "$crontree" PG_CONFIG="$prefix/bin/pg_config" >/dev/null 2>&1 &&
	as_root make -s -C "$crontree" install PG_CONFIG="$prefix/bin/pg_config" >/dev/null 2>&1; then
	echo "== pg_cron $(basename "$crontree" | sed 's/^pg-cron-//') built in $((SECONDS - cron_start)) s" >&2
else
	echo "pg_cron: the source package pg-cron ($suite) does not build against PostgreSQL $version" |
		as_root tee "$prefix/pg_cron.missing" >&2
fi

echo "PostgreSQL $version ($variant), built $(date -u +%FT%TZ) in $((SECONDS - start)) s" |
	as_root tee "$prefix/.mql_built" >/dev/null
echo "$prefix"
