#!/usr/bin/env bash
# test/memcheck.sh — the regression and isolation suites against mql_score
# built with UndefinedBehaviorSanitizer (any undefined behaviour aborts the
# backend) and assertions, on a server running under valgrind memcheck.
# Prints the valgrind reports whose stack passes through mql_score and exits
# non-zero if there is any, or if a test fails.  Separate from
# test/check.sh because it is slow (about 30 minutes on 2 vCPUs, 22 of them
# in the differential test).
#
# Why not AddressSanitizer: the stock server is not instrumented, so the
# ASan runtime would have to be preloaded, and Debian 12's postgres hangs
# in bindtextdomain() at startup when it is (gcc's and clang's runtimes
# alike).  memcheck needs no rebuilt server.
#
# The build lives in a copy of the tree and is installed under a private
# prefix the server reads through extension_destdir (a Debian patch), so
# the build installed on this machine is left alone.
#
#   MEMCHECK_REGRESS="decayed scoring" bash test/memcheck.sh   # a subset
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

mql_install_packages
command -v valgrind >/dev/null || mql_as_root apt-get install -y -q valgrind >/dev/null
logdir=$(mktemp -d /tmp/mql_score_memcheck.XXXXXX)
workdir=$(mktemp -d /tmp/mql_score_memcheck_tree.XXXXXX)
destdir="$workdir/.install"
chmod 777 "$logdir"
trap 'rm -rf "$workdir"' EXIT
pg_config="/usr/lib/postgresql/$PG_MAJOR/bin/pg_config"
export PATH="/usr/lib/postgresql/$PG_MAJOR/bin:$PATH"

echo "== building mql_score with -fsanitize=undefined and assertions in $workdir"
tar -C "$MQL_ROOT" --exclude=.git --exclude='*.o' --exclude='*.so' --exclude='*.bc' -cf - . | tar -C "$workdir" -xf -
make -s -C "$workdir" WERROR=1 ASSERTS=1 with_llvm=no PG_CONFIG="$pg_config" \
	PG_CFLAGS="-fsanitize=undefined -fno-sanitize-recover=all -fno-omit-frame-pointer -g -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers" \
	SHLIB_LINK="-fsanitize=undefined"
make -s -C "$workdir" install with_llvm=no DESTDIR="$destdir" PG_CONFIG="$pg_config" >/dev/null

# A private cluster whose postmaster (and so every backend) runs under
# memcheck; the suites run against it with the usual pg_regress driver.
run() {
	local data="$workdir/.cluster" sock="$workdir/.sock" port=55499 rc pid i
	mkdir -p "$sock"
	initdb -D "$data" -A trust -U postgres --no-sync >/dev/null || return 1
	cat >>"$data/postgresql.conf" <<-EOF
	port = $port
	unix_socket_directories = '$sock'
	listen_addresses = ''
	max_worker_processes = 16
	max_parallel_workers = 8
	fsync = off
	huge_pages = off
	extension_destdir = '$destdir'
	EOF
	UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$logdir/ubsan" \
		valgrind --quiet --error-limit=no --leak-check=no --num-callers=40 \
		--log-file="$logdir/memcheck.%p" postgres -D "$data" >"$workdir/server.log" 2>&1 &
	pid=$!
	for ((i = 0; i < 300; i++)); do
		pg_isready -q -h "$sock" -p $port && break
		sleep 1
	done
	pg_isready -q -h "$sock" -p $port || { tail -20 "$workdir/server.log"; return 1; }
	PGHOST="$sock" PGPORT=$port PGUSER=postgres \
		make -s -C "$workdir" installcheck TAP_TESTS= PG_CONFIG="$pg_config" \
		${MEMCHECK_REGRESS:+REGRESS="$MEMCHECK_REGRESS"}
	rc=$?
	pg_ctl -D "$data" -m fast -t 600 stop >/dev/null
	wait $pid
	[ $rc -ne 0 ] && head -100 "$workdir/regression.diffs" "$workdir/output_iso/regression.diffs" 2>/dev/null
	return $rc
}

set +e
if [ "$(id -u)" -eq 0 ]; then
	chown -R postgres: "$workdir"
	runuser -u postgres -- env logdir="$logdir" workdir="$workdir" destdir="$destdir" pg_config="$pg_config" \
		PATH="$PATH" MEMCHECK_REGRESS="${MEMCHECK_REGRESS:-}" bash -c "$(declare -f run); run"
else
	run
fi
suite=$?
set -e

# memcheck errors start with "==pid== <kind>" and end at a blank "==pid== "
# line; one counts when its stack names our library or one of our source
# files (frames with line numbers omit the library), and every crash
# ("Process terminating") counts.  Not counted, but printed: reports
# inside two PostgreSQL internals that our calls merely happen to be
# under: uninitialised padding in shared invalidation messages
# (ReceiveSharedInvalidMessages, under AcceptInvalidationMessages(); a
# server built without USE_VALGRIND does not mark it) and the regex
# cache's memmove, which valgrind reports as an overlapping memcpy
# (RE_compile_and_cache, when the planner estimates a `~` in one of our
# SPI queries).
ours_re="mql_score|\\(($(cd "$MQL_ROOT/src" && ls *.c | sed 's/\.c$//' | paste -sd'|'))\\.c:"
pg_noise_re="ReceiveSharedInvalidMessages|RE_compile_and_cache"
read -r ours noise < <(cat "$logdir"/memcheck.* 2>/dev/null |
	awk -v re="$ours_re" -v noise_re="$pg_noise_re" '
	     function done() { if (block ~ re) { if (block ~ noise_re) m++; else n++ } block = "" }
	     /^==[0-9]+== *$/ { done(); next } { block = block "\n" $0 } END { done(); print n + 0, m + 0 }')
crashes=$(cat "$logdir"/memcheck.* 2>/dev/null | grep -c "Process terminating" || true)
all=$(cat "$logdir"/memcheck.* 2>/dev/null | grep -cE '^==[0-9]+== (Invalid|Conditional|Use of uninit|Syscall param|Mismatched|Source and destination)' || true)
ubsan=$(cat "$logdir"/ubsan.* 2>/dev/null | grep -c "runtime error" || true)
echo "== suite exit status: $suite"
echo "== memcheck: $all errors reported by the server in all, $ours with mql_score on the stack (and $noise more inside $pg_noise_re); crashes: $crashes; UBSan: $ubsan (logs: $logdir)"
for f in $(grep -lE "$ours_re|Process terminating" "$logdir"/* 2>/dev/null | head -5); do
	echo "--- $f"; grep -v "^==[0-9]*== *$" "$f" | head -60
done
[ "$suite" -eq 0 ] && [ "$ours" -eq 0 ] && [ "$crashes" -eq 0 ] && [ "$ubsan" -eq 0 ]
