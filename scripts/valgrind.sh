#!/bin/sh
# Runs every unit test binary ($BUILD/tests/test_*) under valgrind memcheck
# and prints PASS or FAIL per binary, then a count. A binary fails when its
# tests fail, when valgrind reports any memory error, or when it leaks
# memory that is definitely or indirectly lost. "Still reachable" blocks
# (libcurl, OpenSSL and SQLite keep process-wide state until exit) are
# allowed. Exit status 1 if any binary failed.
#
# Usage: BUILD=build sh scripts/valgrind.sh [test_name ...]
# VALGRIND_TIMEOUT (seconds per binary, default 600) bounds each run.
BUILD=${BUILD:-build}
TIMEOUT=${VALGRIND_TIMEOUT:-600}

if ! command -v valgrind >/dev/null 2>&1; then
	echo "valgrind: not installed; installing it with apt-get"
	if [ "$(id -u)" -eq 0 ]; then SUDO=; else SUDO=sudo; fi
	$SUDO apt-get install -y valgrind >/dev/null || {
		echo "valgrind: cannot install valgrind" >&2
		exit 1
	}
fi

if [ $# -gt 0 ]; then
	bins=
	for n in "$@"; do bins="$bins $BUILD/tests/$n"; done
else
	bins=$(ls "$BUILD"/tests/test_* 2>/dev/null)
fi
if [ -z "$bins" ]; then
	echo "valgrind: no unit test binaries in $BUILD/tests (run make unit)" >&2
	exit 1
fi

logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
passed=0
failed=0

for t in $bins; do
	[ -x "$t" ] || { echo "FAIL $(basename "$t"): not built"; failed=$((failed + 1)); continue; }
	name=$(basename "$t")
	vlog="$logs/$name.vg"
	timeout "$TIMEOUT" valgrind -q --error-exitcode=1 --leak-check=full \
		--errors-for-leak-kinds=definite,indirect \
		--show-leak-kinds=definite,indirect \
		--track-origins=yes --log-file="$vlog" \
		"$t" >"$logs/$name.out" 2>&1
	rc=$?
	if [ $rc -eq 0 ]; then
		echo "PASS $name"
		passed=$((passed + 1))
		continue
	fi
	failed=$((failed + 1))
	# With -q valgrind writes its log only when it found something. A
	# failing cmocka test also leaks what it had not freed yet, so when
	# the test itself failed its own failure is named first.
	if [ $rc -eq 124 ]; then
		why="timed out after ${TIMEOUT}s"
	elif grep -q '^\[  FAILED  \]' "$logs/$name.out"; then
		why="test failed (exit $rc)"
		[ -s "$vlog" ] && why="$why; valgrind findings may follow from it"
	elif [ -s "$vlog" ]; then
		why="valgrind errors or leaks"
	else
		why="exit $rc"
	fi
	echo "FAIL $name: $why"
	# -q leaves only the findings in the log; show them and the test's tail.
	sed 's/^/    vg: /' "$vlog" | head -80
	tail -20 "$logs/$name.out" | sed 's/^/    out: /'
done

echo "valgrind: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
