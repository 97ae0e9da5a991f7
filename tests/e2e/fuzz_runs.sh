#!/bin/sh
# Every libFuzzer target (tests/fuzz/fuzz_*.c) for a short fixed number
# of runs (FUZZ_RUNS, default 20000) from its seed corpus, so `make check`
# counts a crash in any of them: one "ok - fuzz NAME" line per target.
# The longer campaign is `make fuzz` (FUZZ_SECONDS per target).
cd "$(dirname "$0")/../.." || exit 1
FUZZ_RUNS=${FUZZ_RUNS:-20000} nice sh tests/fuzz/run.sh
