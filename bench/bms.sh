#!/bin/sh
# Issue 13's speed row: a 16-pack PACE bank (ohm sim pace --tcp) read
# through a relay that paces bytes at 9600 baud 8N1 (bench/bms_relay.py,
# half duplex), against the wire time of the minimum frames for the same
# data, and the requests per bank read.
#   sh bench/bms.sh path/to/ohm [READS]
set -u
OHM=$1
N=${2:-3}
here=$(dirname "$0")
py=/usr/bin/python3
tmp=$(mktemp -d)
pids=""
trap 'for p in $pids; do kill $p 2>/dev/null; done; rm -rf "$tmp"' EXIT INT TERM
port() { $py -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
sp=$(port); rp=$(port)
"$OHM" sim pace --tcp 127.0.0.1:$sp --packs 16 -q & pids="$pids $!"
$py "$here/bms_relay.py" $rp $sp "$tmp/stats" 9600 & pids="$pids $!"
$py "$here/../tests/lib.py" wait_port $sp tcp 10 >/dev/null
$py "$here/../tests/lib.py" wait_port $rp tcp 10 >/dev/null
uri="tcp://127.0.0.1:$rp?driver=pace&packs=0-15"
# READS bank reads after one warm-up read (serial numbers and firmware
# are read once), minus the warm-up alone: the time of READS reads.
script() {
	printf 'local b = assert(ohm.open("%s", {timeout = 2}))\n' "$uri"
	printf 'for i = 1, %d do assert(b:get()) end\n' "$1"
}
script 1 > "$tmp/one.lua"; script $((N + 1)) > "$tmp/many.lua"
now() { $py -c 'import time; print(time.monotonic())'; }
count() { $py -c 'import json,sys; print(json.load(open(sys.argv[1]))["requests"])' "$tmp/stats"; }
r0=$(count); t0=$(now); "$OHM" "$tmp/one.lua" || exit 1; t1=$(now); r1=$(count)
"$OHM" "$tmp/many.lua" || exit 1; t2=$(now); r2=$(count)
$py - "$t0" "$t1" "$t2" "$r0" "$r1" "$r2" "$N" <<'PY'
import sys
t0, t1, t2 = map(float, sys.argv[1:4])
r0, r1, r2, n = map(int, sys.argv[4:8])
one, many = t1 - t0, t2 - t1
per_read = (many - one) / n
reqs = ((r2 - r1) - (r1 - r0)) / n
# minimum frames per pack for every variable: 0x42 and 0x44, 16 cells,
# 6 sensors, PACE user items P=3 (DESIGN.md "Drivers pylontech and pace")
req = 18 + 2 * 1
analog = 18 + 2 * (2 + 1 + 32 + 1 + 12 + 2 + 2 + 2 + 1 + 2 + 2 + 2)
alarm = 18 + 2 * (2 + 1 + 16 + 1 + 6 + 3 + 9)
wire = 16 * (2 * req + analog + alarm) * 10 / 9600
print("bms: 16-pack PACE bank at 9600 baud 8N1 through a pacing relay")
print("  requests per bank read: %.0f (minimum with per-pack commands: 32)"
      % reqs)
print("  ohm per bank read:      %.3f s" % per_read)
print("  wire time, min frames:  %.3f s" % wire)
print("  ratio:                  %.3fx (target <= 1.15x)" % (per_read / wire))
PY
