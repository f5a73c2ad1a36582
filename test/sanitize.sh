#!/usr/bin/env bash
# test/sanitize.sh — the regression and isolation suites against mql_score
# built with AddressSanitizer and UndefinedBehaviorSanitizer (the ASan
# runtime preloaded into the server).  Prints the sanitizer reports that
# involve mql_score and exits non-zero if there is any.  Separate from
# test/check.sh because it is slower.
#
# The instrumented build lives in a copy of the tree and is installed under
# a private prefix the server reads through extension_destdir (a Debian
# patch), so the normal build installed on this machine is left alone.
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

mql_install_packages
logdir=$(mktemp -d /tmp/mql_score_sanitize.XXXXXX)
workdir=$(mktemp -d /tmp/mql_score_sanitize_tree.XXXXXX)
destdir="$workdir/.install"
chmod 777 "$logdir"
trap 'rm -rf "$workdir"' EXIT
asan_lib=$(gcc -print-file-name=libasan.so)
pg_config="/usr/lib/postgresql/$PG_MAJOR/bin/pg_config"

echo "== building mql_score with -fsanitize=address,undefined in $workdir"
tar -C "$MQL_ROOT" --exclude=.git --exclude='*.o' --exclude='*.so' --exclude='*.bc' -cf - . | tar -C "$workdir" -xf -
make -s -C "$workdir" WERROR=1 ASSERTS=1 with_llvm=no PG_CONFIG="$pg_config" \
	PG_CFLAGS="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers" \
	SHLIB_LINK="-fsanitize=address,undefined"
make -s -C "$workdir" install with_llvm=no DESTDIR="$destdir" PG_CONFIG="$pg_config" >/dev/null

run() {
	pg_virtualenv -t -v "$PG_MAJOR" -o 'max_worker_processes=16' -o "extension_destdir=$destdir" \
		make -s -C "$workdir" installcheck TAP_TESTS= PG_CONFIG="$pg_config"
}
export LD_PRELOAD="$asan_lib"
export ASAN_OPTIONS="detect_leaks=0:detect_stack_use_after_return=0:halt_on_error=0:log_path=$logdir/asan"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$logdir/ubsan"
set +e
if [ "$(id -u)" -eq 0 ]; then
	chown -R postgres: "$workdir"
	runuser -u postgres -- env LD_PRELOAD="$LD_PRELOAD" ASAN_OPTIONS="$ASAN_OPTIONS" UBSAN_OPTIONS="$UBSAN_OPTIONS" \
		workdir="$workdir" destdir="$destdir" PG_MAJOR="$PG_MAJOR" pg_config="$pg_config" PATH="$PATH" \
		bash -c "$(declare -f run); run"
else
	run
fi
suite=$?
set -e
unset LD_PRELOAD

# a report counts when its stack names our library
reports=$(grep -l "mql_score" "$logdir"/* 2>/dev/null | wc -l)
echo "== suite exit status: $suite"
echo "== sanitizer reports: $(find "$logdir" -type f | wc -l) in all, $reports involving mql_score (logs: $logdir)"
for f in $(grep -l "mql_score" "$logdir"/* 2>/dev/null | head -5); do
	echo "--- $f"; head -40 "$f"
done
[ "$suite" -eq 0 ] && [ "$reports" -eq 0 ]
