#!/usr/bin/env bash
# test/sanitize.sh — the regression and isolation suites against mql_score
# built with AddressSanitizer and UndefinedBehaviorSanitizer (the ASan
# runtime preloaded into the server), then the normal build reinstalled.
# Prints the sanitizer reports that involve mql_score and exits non-zero
# if there is any.  Separate from test/check.sh because it is slower.
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

mql_install_packages
logdir=$(mktemp -d /tmp/mql_score_sanitize.XXXXXX)
chmod 777 "$logdir"
asan_lib=$(gcc -print-file-name=libasan.so)

echo "== building mql_score with -fsanitize=address,undefined"
make -s -C "$MQL_ROOT" clean >/dev/null
make -s -C "$MQL_ROOT" WERROR=1 ASSERTS=1 with_llvm=no \
	PG_CFLAGS="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers" \
	SHLIB_LINK="-fsanitize=address,undefined"
mql_as_root make -s -C "$MQL_ROOT" install with_llvm=no >/dev/null

# put the normal build back whatever happens
trap 'echo "== reinstalling the normal build"; mql_build_install >/dev/null; rm -rf "$workdir"' EXIT

run() {
	pg_virtualenv -t -v 15 -o 'max_worker_processes=16' \
		make -s -C "$1" installcheck TAP_TESTS= PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config
}
export LD_PRELOAD="$asan_lib"
export ASAN_OPTIONS="detect_leaks=0:detect_stack_use_after_return=0:halt_on_error=0:log_path=$logdir/asan"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$logdir/ubsan"
workdir=$(mktemp -d /tmp/mql_score_sanitize_tree.XXXXXX)
tar -C "$MQL_ROOT" --exclude=.git -cf - . | tar -C "$workdir" -xf -
if [ "$(id -u)" -eq 0 ]; then
	chown -R postgres: "$workdir"
	runuser -u postgres -- env LD_PRELOAD="$LD_PRELOAD" ASAN_OPTIONS="$ASAN_OPTIONS" UBSAN_OPTIONS="$UBSAN_OPTIONS" \
		bash -c "$(declare -f run); run $workdir"
else
	run "$workdir"
fi
suite=$?
unset LD_PRELOAD

reports=$(grep -l "mql_score" "$logdir"/* 2>/dev/null | wc -l)
echo "== suite exit status: $suite"
echo "== sanitizer reports involving mql_score: $reports"
for f in $(grep -l "mql_score" "$logdir"/* 2>/dev/null | head -5); do
	echo "--- $f"; head -40 "$f"
done
[ "$suite" -eq 0 ] && [ "$reports" -eq 0 ]
