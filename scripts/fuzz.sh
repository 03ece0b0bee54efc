#!/bin/sh
# Builds the libFuzzer targets in tests/fuzz/ with clang (ASan + UBSan) into
# build-fuzz/ and runs each one, printing "PASS fuzz_<t>" or
# "FAIL fuzz_<t>: why" per target; exits 1 when any target failed.
#
#   sh scripts/fuzz.sh [SECONDS_PER_TARGET]   fuzz each target (default 60 s)
#   FUZZ_MODE=replay sh scripts/fuzz.sh       run every seed and every saved
#                                             crash reproducer once (make check)
#
# Fuzzing works on a copy of the seeds in build-fuzz/corpus/<t>, so the
# repository's corpora never change; crashes land in build-fuzz/artifacts/.
# Env: FUZZ_TARGETS="webhook text" picks targets, FUZZ_BUILD moves the build
# dir, FUZZ_CRASHES=0 leaves tests/fuzz/crashes/ out of replay, FUZZ_JOBS sets
# compile parallelism.
set -u

SECS=${1:-60}
MODE=${FUZZ_MODE:-fuzz}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${FUZZ_BUILD:-$ROOT/build-fuzz}
TARGETS=${FUZZ_TARGETS:-"webhook auth summary render config text"}
JOBS=${FUZZ_JOBS:-$(nproc 2>/dev/null || echo 4)}
CC=${FUZZ_CC:-clang}
PKGS="libmicrohttpd libcurl libcjson inih sqlite3 libcrypto"

case $SECS in
'' | *[!0-9]*) echo "usage: sh scripts/fuzz.sh [SECONDS_PER_TARGET]" >&2; exit 2 ;;
esac
case $MODE in
fuzz | replay) ;;
*) echo "FUZZ_MODE must be fuzz or replay" >&2; exit 2 ;;
esac
cd "$ROOT" || exit 2

# clang and its libFuzzer runtime are Debian packages; install them when a
# trivial fuzzer does not link.
have_fuzzer() {
	command -v "$CC" >/dev/null 2>&1 || return 1
	printf 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { (void)d; (void)n; return 0; }\n' \
		>"$OUT/probe.c"
	"$CC" -fsanitize=fuzzer,address,undefined -o "$OUT/probe" "$OUT/probe.c" >/dev/null 2>&1
}
mkdir -p "$OUT/obj" "$OUT/logs" "$OUT/corpus" "$OUT/artifacts"
if ! have_fuzzer; then
	echo "fuzz: installing clang and libclang-rt-14-dev" >&2
	SUDO=
	[ "$(id -u)" -eq 0 ] || SUDO=sudo
	$SUDO apt-get install -y clang libclang-rt-14-dev >&2 || true
	if ! have_fuzzer; then
		echo "FAIL fuzz: clang with -fsanitize=fuzzer is not available"
		exit 1
	fi
	CC=clang
fi

CFLAGS="-g -O1 -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -Wall -Wextra
 -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
 -Iinclude $(pkg-config --cflags $PKGS 2>/dev/null)"
LIBS="$(pkg-config --libs $PKGS 2>/dev/null) -lpthread -lm"
export CC CFLAGS OUT

# Every module except main.c goes into one static archive, compiled with
# coverage hooks but without libFuzzer's main; the linker then takes only
# the objects a target needs. Objects are rebuilt when their source or any
# header is newer. A module that does not compile yet is left out (and only
# the targets that need it fail to link).
build_lib() {
	newest_h=$(ls -t include/*.h src/*/*.h 2>/dev/null | head -1)
	for src in src/*.c src/*/*.c; do
		[ "$src" = src/main.c ] && continue
		obj="$OUT/obj/$(basename "$src" .c).o"
		if [ ! -f "$obj" ] || [ "$src" -nt "$obj" ] || [ "$newest_h" -nt "$obj" ]; then
			echo "$src"
		fi
	done | xargs -r -P "$JOBS" -I{} sh -c '
		o="$OUT/obj/$(basename {} .c).o"
		if ! $CC $CFLAGS -fsanitize=fuzzer-no-link -c {} -o "$o" 2>"$o.log"; then
			rm -f "$o"; echo "fuzz: warning: {} does not compile, left out (see $o.log)" >&2
		fi'
	for obj in "$OUT"/obj/*.o; do # objects of sources that are gone
		[ -n "$(find src -name "$(basename "$obj" .o).c")" ] || rm -f "$obj"
	done
	lib="$OUT/libdpc_fuzz.a"
	if [ ! -f "$lib" ] || [ -n "$(find "$OUT/obj" -name '*.o' -newer "$lib")" ] ||
		[ "$(ar t "$lib" | wc -l)" -ne "$(ls "$OUT"/obj/*.o | wc -l)" ]; then
		rm -f "$lib"
		ar rcs "$lib" "$OUT"/obj/*.o
	fi
}

build_target() { # name -> 0 when build-fuzz/fuzz_<name> is ready
	bin="$OUT/fuzz_$1"
	if [ -f "$bin" ] && [ -z "$(find "tests/fuzz/fuzz_$1.c" tests/fuzz/*.h \
		"$OUT/libdpc_fuzz.a" -newer "$bin")" ]; then
		return 0
	fi
	$CC $CFLAGS -fsanitize=fuzzer -Itests/fuzz -o "$bin" "tests/fuzz/fuzz_$1.c" \
		"$OUT/libdpc_fuzz.a" $LIBS >"$OUT/logs/build_$1.log" 2>&1
}

# First line of a log naming what went wrong.
why() {
	grep -m1 -a -E 'fuzz invariant failed|ERROR: AddressSanitizer|runtime error:|ERROR: LeakSanitizer|ERROR: libFuzzer|SUMMARY: ' "$1" |
		cut -c1-300
}

# Seeds plus, in replay, the saved reproducers for target $1.
replay_inputs() {
	find "tests/fuzz/corpus/fuzz_$1" -type f 2>/dev/null
	if [ "${FUZZ_CRASHES:-1}" != 0 ]; then
		find tests/fuzz/crashes -type f -name "fuzz_$1-*" 2>/dev/null
	fi
}

run_replay() { # name
	log="$OUT/logs/replay_$1.log"
	inputs=$(replay_inputs "$1" | sort)
	if [ -z "$inputs" ]; then
		echo "FAIL fuzz_$1: no seeds in tests/fuzz/corpus/fuzz_$1"
		return 1
	fi
	fails=""
	# One process per input so one crash does not hide the others.
	for f in $inputs; do
		if ! "$OUT/fuzz_$1" -timeout=25 -rss_limit_mb=2048 "$f" </dev/null >"$log.one" 2>&1; then
			fails="$fails $f"
			cat "$log.one" >>"$log"
			first=${first:-$(why "$log.one")}
		fi
	done
	rm -f "$log.one"
	if [ -n "$fails" ]; then
		echo "FAIL fuzz_$1: crashes on$fails: $first"
		return 1
	fi
	echo "PASS fuzz_$1 ($(echo "$inputs" | wc -l) inputs replayed)"
}

run_fuzz() { # name
	log="$OUT/logs/fuzz_$1.log"
	corpus="$OUT/corpus/fuzz_$1"
	dict=
	mkdir -p "$corpus"
	cp tests/fuzz/corpus/"fuzz_$1"/* "$corpus"/ 2>/dev/null
	[ -f "tests/fuzz/fuzz_$1.dict" ] && dict="-dict=tests/fuzz/fuzz_$1.dict"
	"$OUT/fuzz_$1" -max_total_time="$SECS" -max_len=65536 -timeout=25 -rss_limit_mb=2048 \
		-print_final_stats=1 -artifact_prefix="$OUT/artifacts/fuzz_$1-" $dict "$corpus" \
		</dev/null >"$log" 2>&1
	rc=$?
	if [ $rc -ne 0 ]; then
		art=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -1)
		echo "FAIL fuzz_$1: $(why "$log") (input: ${art:-none}, log: $log)"
		return 1
	fi
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	eps=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
	cov=$(grep -a -E '^#[0-9]+' "$log" | tail -1 | sed -n 's/.*cov: \([0-9]*\) ft: \([0-9]*\) corp: \([^ ]*\).*/cov \1, ft \2, corpus \3/p')
	echo "PASS fuzz_$1: $runs runs, $eps exec/s, $cov"
}

export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
build_lib
status=0
for t in $TARGETS; do
	first=
	if [ ! -f "tests/fuzz/fuzz_$t.c" ]; then
		echo "FAIL fuzz_$t: no tests/fuzz/fuzz_$t.c"
		status=1
		continue
	fi
	if ! build_target "$t"; then
		echo "FAIL fuzz_$t: build failed: $(grep -m1 -E 'error|undefined reference' "$OUT/logs/build_$t.log" | cut -c1-200)"
		status=1
		continue
	fi
	if [ "$MODE" = replay ]; then
		run_replay "$t" || status=1
	else
		run_fuzz "$t" || status=1
	fi
done
exit $status
