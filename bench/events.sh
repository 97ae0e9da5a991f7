#!/bin/sh
# The events benchmark (issue 15): latency from a value change being read
# to the job starting. `ohm serve --rules` polls a BPS2000v2 simulator
# (`ohm sim`, Modbus TCP on loopback) every INTERVAL seconds (default 1);
# a when() rule on input.L1.current.high.critical runs an exec job that
# writes its start time. The value is changed N times (default 20, with
# `ohm set`) at random phases of the poll cycle. Reports, in ms: change ->
# job start (bounded by the interval plus the overhead; target: at most
# INTERVAL + 50 ms) and event dispatched -> job started (the rules' own
# part).
# Usage: sh bench/events.sh OHM_BINARY [N] [INTERVAL]
set -eu
OHM=${1:?usage: sh bench/events.sh OHM_BINARY [N] [INTERVAL]}
exec /usr/bin/python3 "$(dirname "$0")/events.py" "$OHM" "${2:-20}" "${3:-1}"
