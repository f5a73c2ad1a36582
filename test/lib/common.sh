# test/lib/common.sh — shared by test/demo.sh, test/check.sh and bench/*.sh:
# install what a fresh Debian 12 machine lacks, then build and install.
set -euo pipefail

MQL_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
PG_MAJOR=15
export PATH="/usr/lib/postgresql/$PG_MAJOR/bin:$PATH"

# Run a command as root: directly when we are root, else through sudo.
mql_as_root() {
	if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# Install the Debian packages the build, the server and the tests need.
mql_install_packages() {
	local pkg missing=()
	for pkg in make gcc postgresql-common "postgresql-$PG_MAJOR" \
		"postgresql-server-dev-$PG_MAJOR" "postgresql-$PG_MAJOR-cron" \
		libipc-run-perl "$@"; do
		dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" ||
			missing+=("$pkg")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	echo "== installing ${missing[*]}"
	mql_as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
	mql_as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
		--no-install-recommends "${missing[@]}" >/dev/null
}

# Build with warnings as errors (and our assertions when ASSERTS=1), install.
mql_build_install() {
	echo "== building mql_score (-Wall -Wextra -Werror${ASSERTS:+, assertions on})"
	make -s -C "$MQL_ROOT" clean >/dev/null
	make -s -C "$MQL_ROOT" WERROR=1 ${ASSERTS:+ASSERTS=1} PG_CONFIG="/usr/lib/postgresql/$PG_MAJOR/bin/pg_config"
	mql_as_root make -s -C "$MQL_ROOT" install PG_CONFIG="/usr/lib/postgresql/$PG_MAJOR/bin/pg_config" >/dev/null
}

# Build against a private PostgreSQL build (test/lib/pg_build.sh) and install
# into it: -Werror; its --enable-cassert turns our assertions on.
mql_build_install_private() {
	local pg_config=$1
	echo "== building mql_score for $("$pg_config" --version) (-Wall -Wextra -Werror, cassert)"
	make -s -C "$MQL_ROOT" clean PG_CONFIG="$pg_config" >/dev/null
	make -s -C "$MQL_ROOT" WERROR=1 PG_CONFIG="$pg_config"
	mql_as_root make -s -C "$MQL_ROOT" install PG_CONFIG="$pg_config" >/dev/null
}
