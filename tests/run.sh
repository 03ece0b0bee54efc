#!/bin/sh
# Runs every unit test binary and every integration test, then prints one
# line "N passed, N failed". Unit tests are cmocka programs (their summary
# lines are counted); integration tests are Python scripts printing
# "PASS name" / "FAIL name: why" per case. Exit status 1 if anything failed.
BUILD=${BUILD:-build}
export BUILD
passed=0
failed=0
log=$(mktemp -d)
trap 'rm -rf "$log"' EXIT

count() { # file: adds PASS/FAIL and cmocka counts
	p=$(grep -c '^PASS ' "$1")
	f=$(grep -c '^FAIL ' "$1")
	cp=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$1" | tail -1)
	cf=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$1" | tail -1)
	passed=$((passed + p + ${cp:-0}))
	failed=$((failed + f + ${cf:-0}))
}

for t in "$BUILD"/tests/test_*; do
	[ -x "$t" ] || continue
	name=$(basename "$t")
	if "$t" >"$log/$name" 2>&1; then rc=0; else rc=$?; fi
	count "$log/$name"
	if [ $rc -ne 0 ]; then
		grep -q 'FAILED\|^FAIL ' "$log/$name" || failed=$((failed + 1))
		echo "--- $name (exit $rc)"; tail -30 "$log/$name"
	else
		echo "unit  $name: ok"
	fi
done

for t in tests/integration/test_*.py; do
	[ -f "$t" ] || continue
	name=$(basename "$t" .py)
	if timeout 600 python3 "$t" >"$log/$name" 2>&1; then rc=0; else rc=$?; fi
	count "$log/$name"
	grep '^\(PASS\|FAIL\) ' "$log/$name" | sed "s/^/  $name: /"
	if [ $rc -ne 0 ]; then
		grep -q '^FAIL ' "$log/$name" || failed=$((failed + 1))
		echo "--- $name (exit $rc)"; tail -40 "$log/$name"
	fi
done

# Replay of the fuzz corpora (every seed and saved reproducer, once each).
# The targets carry their own sanitizers, so a SANITIZE run skips it.
if [ -z "${SANITIZE:-}" ] && [ -z "${SKIP_FUZZ_REPLAY:-}" ]; then
	if FUZZ_MODE=replay sh scripts/fuzz.sh >"$log/fuzz" 2>&1; then rc=0; else rc=$?; fi
	count "$log/fuzz"
	grep '^\(PASS\|FAIL\) ' "$log/fuzz" | sed "s/^/  fuzz-replay: /"
	if [ $rc -ne 0 ]; then
		grep -q '^FAIL ' "$log/fuzz" || failed=$((failed + 1))
		echo "--- fuzz replay (exit $rc)"; tail -40 "$log/fuzz"
	fi
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
