#!/bin/sh
# Issue 14: a full read of a 4 x 40 BM100 by ohm against snmpbulkwalk of
# the battmgr subtree, on snmpsim data and on ohm sim cps-bm100 (bm100.py).
#   sh bench/bm100.sh path/to/ohm [ROUNDS]
exec /usr/bin/python3 "$(dirname "$0")/bm100.py" "$@"
