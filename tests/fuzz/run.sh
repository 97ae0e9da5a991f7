#!/bin/sh
# Build every tests/fuzz/fuzz_*.c as a libFuzzer target (clang,
# -fsanitize=fuzzer,address,undefined; linked with all library objects
# except shell/main.c, built into build-fuzz/) and run each for
# FUZZ_SECONDS (default 20) from its seed corpus tests/fuzz/corpus/NAME,
# or, with FUZZ_RUNS=N, for N inputs after the corpus (what `make check`
# does through tests/e2e/fuzz_runs.sh: a fixed amount of work, whatever
# the load, capped at FUZZ_CAP seconds a target). Exits non-zero if a target fails to build or finds a crash;
# the reproducer is left in build-fuzz/fuzz/crashes/. FUZZ_TARGETS="fuzz_a
# fuzz_b" runs only those.
set -u
cd "$(dirname "$0")/../.."
B=${FUZZ_BUILD:-build-fuzz}
secs=${FUZZ_SECONDS:-20}
runs=${FUZZ_RUNS:-}
if [ -n "$runs" ]; then
	case $runs in *[!0-9]*) echo "FUZZ_RUNS: a number" >&2; exit 2 ;; esac
	# and at most FUZZ_CAP seconds (default 15), for the targets that
	# talk to a loopback server and run a few inputs a second
	cap=${FUZZ_CAP:-15}
	limit="-runs=$runs -max_total_time=$cap" what="$runs runs or ${cap}s"
else
	limit="-max_total_time=$secs" what="${secs}s"
fi
SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined"
if ! make -s BUILD="$B" CC=clang OPT="-O1 -g" \
	EXTRA_CFLAGS="$SAN -fsanitize=fuzzer-no-link -fno-omit-frame-pointer" \
	LDFLAGS="$SAN" FUZZ_LDFLAGS="-fsanitize=fuzzer" fuzz-bins; then
	echo "not ok - fuzz targets build"
	exit 1
fi
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0"
export LSAN_OPTIONS="suppressions=$(pwd)/tests/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
mkdir -p "$B/fuzz/crashes"
rc=0
for src in tests/fuzz/fuzz_*.c; do
	name=$(basename "$src" .c)
	case " ${FUZZ_TARGETS:-$name} " in *" $name "*) ;; *) continue ;; esac
	seeds="tests/fuzz/corpus/${name#fuzz_}"
	work="$B/fuzz/corpus-${name#fuzz_}"
	mkdir -p "$work"
	[ -d "$seeds" ] || seeds=
	echo "== $name: $what"
	if "$B/fuzz/$name" $limit -timeout=10 -rss_limit_mb=2048 \
		-artifact_prefix="$B/fuzz/crashes/$name-" -print_final_stats=0 \
		"$work" $seeds > "$B/fuzz/$name.log" 2>&1; then
		echo "ok - fuzz $name ($(grep -c . "$B/fuzz/$name.log") log lines, no crash)"
	else
		echo "not ok - fuzz $name found a crash:"
		grep -E 'ERROR|SUMMARY|Test unit written' "$B/fuzz/$name.log" | head -n 8
		rc=1
	fi
done
exit $rc
