# Shell helpers for end-to-end tests: . "$OHM_TOP/tests/lib.sh"
# Prints "ok - NAME" / "not ok - NAME" lines that tests/run.sh counts.
set -u
: "${OHM:?run through tests/run.sh or set OHM}"
: "${PYTHON:=/usr/bin/python3}"
T=$(mktemp -d)
_pids=""
cleanup() {
	for p in $_pids; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT INT TERM

ok() { echo "ok - $*"; }
nok() { echo "not ok - $*"; }
skip() { echo "skip - $*"; }
bg() { "$@" & _pids="$_pids $!"; }   # start a peer, killed at exit

# check NAME CMD...: ok if CMD exits 0
check() { n=$1; shift; if "$@"; then ok "$n"; else nok "$n"; fi; }
# eq NAME EXPECTED ACTUAL
eq() {
	if [ "$2" = "$3" ]; then ok "$1"
	else nok "$1"; printf '    expected: %s\n    actual:   %s\n' "$2" "$3"; fi
}
# has NAME NEEDLE HAYSTACK: ok if HAYSTACK contains NEEDLE
has() {
	case "$3" in *"$2"*) ok "$1" ;;
	*) nok "$1"; printf '    wanted: %s\n    in:     %s\n' "$2" "$3" ;; esac
}
free_port() { $PYTHON "$OHM_TOP/tests/lib.py" free_port "${1:-tcp}"; }
# wait_port PORT [tcp|udp] [SECONDS]: wait until something listens
wait_port() { $PYTHON "$OHM_TOP/tests/lib.py" wait_port "$1" "${2:-tcp}" "${3:-10}"; }
