#!/bin/sh
# Issue 17's fair benchmarks (bench/fair.py): needs the C limits that
# `make bench-bins` builds beside ohm (BUILD/bench/).
# Usage: sh bench/fair.sh path/to/ohm [SECTION...]
set -eu
OHM=$(realpath "$1"); shift
bins=$(dirname "$OHM")/bench
[ -x "$bins/mb_fleet_poll" ] || { echo "fair: run 'make bench-bins' first" >&2; exit 1; }
exec /usr/bin/python3 "$(dirname "$0")/fair.py" "$OHM" "$bins" "$@"
