#!/bin/sh
# Run every test and end with "N passed, N failed". A test program prints
# "ok - NAME" / "not ok - NAME" lines (TAP-like); one that exits non-zero
# without a "not ok" line counts as one failure. Env: OHM_BUILD (build dir),
# TESTS (a space-separated subset of test files, optional).
set -u
cd "$(dirname "$0")/.."
top=$(pwd)
BUILD=${OHM_BUILD:-build}
export OHM="$top/$BUILD/ohm"
export OHM_TOP="$top"
export PYTHON=/usr/bin/python3   # Debian's, which has pymodbus & co.
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:exitcode=86"
export LSAN_OPTIONS="suppressions=$top/tests/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
logdir="$top/$BUILD/test-logs"
rm -rf "$logdir"; mkdir -p "$logdir"

if [ -n "${TESTS:-}" ]; then
	files=$TESTS
else
	files="$(ls "$BUILD"/tests/test_* 2>/dev/null | grep -v '\.d$')
	$(ls tests/lua/*.lua tests/e2e/*.sh tests/e2e/*.py 2>/dev/null | grep -v '^tests/lua/testlib.lua$')"
fi

pass=0; fail=0; skip=0
for f in $files; do
	name=$(echo "$f" | tr '/' '_')
	log="$logdir/$name.log"
	home=$(mktemp -d)
	case "$f" in
	*.lua) cmd="$OHM $top/tests/lua/testlib.lua $f" ;;
	*.py) cmd="$PYTHON $f" ;;
	*.sh) cmd="sh $f" ;;
	*) cmd="$f" ;;
	esac
	start=$(date +%s)
	HOME=$home OHM_CONFIG=/nonexistent TMPDIR=$home \
		timeout -k 5 900 $cmd > "$log" 2>&1 < /dev/null
	rc=$?
	rm -rf "$home"
	p=$(grep -c '^ok ' "$log"); n=$(grep -c '^not ok ' "$log")
	s=$(grep -c '^skip ' "$log")
	if [ "$rc" -ne 0 ] && [ "$n" -eq 0 ]; then
		n=1; echo "not ok - $f exited $rc" >> "$log"
	fi
	pass=$((pass + p)); fail=$((fail + n)); skip=$((skip + s))
	printf '%-44s %3d ok %3d failed %3d skipped (%ss)\n' "$f" "$p" "$n" "$s" \
		"$(( $(date +%s) - start ))"
	if [ "$n" -gt 0 ]; then
		grep -E '^not ok ' "$log" | sed 's/^/    /'
		echo "    --- last lines of $log:"; tail -n 25 "$log" | sed 's/^/    | /'
	fi
done
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
