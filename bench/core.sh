#!/bin/sh
# Issue 2's benchmark, side by side in one run (ratios, not absolute times):
#  1. start-up: `ohm -e ''` against `lua5.4 -e ''`;
#  2. a full BPS2000v2 read: `ohm get` against mbpoll reading the same 99
#     registers and a python3-pymodbus client, all against one server
#     (ohm's simulator on loopback);
#  3. requests per full read, counted by a proxy.
# Usage: sh bench/core.sh path/to/ohm
set -eu
OHM=$(realpath "$1")
PY=/usr/bin/python3
here=$(cd "$(dirname "$0")" && pwd)
T=$(mktemp -d)
pids=""
trap 'for p in $pids; do kill $p 2>/dev/null; done; rm -rf "$T"' EXIT INT TERM
port() { $PY -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
waitport() {
	i=0; while ! $PY -c "import socket;socket.create_connection(('127.0.0.1',$1),0.2)" 2>/dev/null; do
		i=$((i+1)); [ $i -lt 100 ] || { echo "bench: port $1 never opened" >&2; exit 1; }; sleep 0.1; done
}
P=$(port)
"$OHM" sim bps2000v2 --modbus-tcp 127.0.0.1:$P 2>"$T/sim.log" & pids="$pids $!"
waitport $P
URI="modbus-tcp://127.0.0.1:$P"
"$OHM" get -d bps2000v2 "$URI" > /dev/null   # fails loudly if broken
mbpoll -m tcp -p $P -a 1 -0 -r 0 -c 99 -1 127.0.0.1 > /dev/null
$PY "$here/pymodbus_read.py" $P

runs=${BENCH_RUNS:-100}
hyperfine -N --warmup 10 --runs $runs --export-json "$T/start.json" \
	"$OHM -e ''" "lua5.4 -e ''" > "$T/start.txt"
hyperfine -N --warmup 5 --runs $runs --export-json "$T/read.json" \
	"$OHM get -d bps2000v2 $URI" \
	"mbpoll -m tcp -p $P -a 1 -0 -r 0 -c 99 -1 127.0.0.1" > "$T/read.txt"
hyperfine -N --warmup 2 --runs $((runs / 5 + 3)) --export-json "$T/py.json" \
	"$PY $here/pymodbus_read.py $P" > "$T/py.txt"

C=$(port)
$PY "$here/modbus_count_proxy.py" $C $P "$T/count" & pids="$pids $!"
waitport $C
rm -f "$T/count"
"$OHM" get -d bps2000v2 "modbus-tcp://127.0.0.1:$C" > /dev/null
sleep 0.3
requests=$(cat "$T/count" 2>/dev/null || echo 0)

$PY - "$T" "$requests" <<'PYEOF'
import json, sys
t, requests = sys.argv[1], int(sys.argv[2])
def means(f):
    return [r["mean"] * 1000 for r in json.load(open(f"{t}/{f}"))["results"]]
ohm_start, lua_start = means("start.json")
ohm_read, mbpoll_read = means("read.json")
(py_read,) = means("py.json")
rows = [
    ("start-up: ohm -e ''", ohm_start, "lua5.4 -e ''", lua_start,
     ohm_start / lua_start, "<= 2.0x lua5.4", ohm_start / lua_start <= 2.0),
    ("full read: ohm get", ohm_read, "mbpoll 99 regs", mbpoll_read,
     ohm_read / mbpoll_read, "<= 1.5x mbpoll", ohm_read / mbpoll_read <= 1.5),
    ("full read: ohm get", ohm_read, "pymodbus client", py_read,
     py_read / ohm_read, ">= 10x faster", py_read / ohm_read >= 10),
]
print("%-22s %9s   %-17s %9s   %7s   %-16s %s" % (
    "ohm", "ms", "peer", "ms", "ratio", "target", "met"))
for a, am, b, bm, ratio, target, met in rows:
    print("%-22s %9.2f   %-17s %9.2f   %6.2fx   %-16s %s" % (
        a, am, b, bm, ratio, target, "yes" if met else "NO"))
print("requests per full read: %d (target 1) %s" % (
    requests, "yes" if requests == 1 else "NO"))
PYEOF
