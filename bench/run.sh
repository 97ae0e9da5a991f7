#!/bin/sh
# `make bench`: every benchmark, side by side with the peer tools, one run.
# Usage: sh bench/run.sh path/to/ohm [NAME...]   (NAME: fair core snmp upgrade fleet events bms bm100)
# fair (issue 17) is the table of record: every peer in its best mode and
# the physical limit as a row of its own; the others are the earlier
# issues' benchmarks, kept for their PDU and request counts.
set -u
OHM=$1; shift
here=$(dirname "$0")
names=${*:-fair core snmp upgrade fleet events bms bm100}
rc=0
for n in $names; do
	[ -f "$here/$n.sh" ] || { echo "== $n: no bench/$n.sh in this tree"; continue; }
	echo "== $n"
	sh "$here/$n.sh" "$OHM" || { echo "bench $n failed"; rc=1; }
	echo
done
exit $rc
