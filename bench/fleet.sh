#!/bin/sh
# Issue 6's benchmark, one run, side by side:
#  1. 200 BPS2000v2 simulators (`ohm sim`, Modbus TCP, one process each):
#     `ohm poll` of all 200 against a shell loop of mbpoll reading the same
#     99 registers from each (same servers);
#  2. 1,000 simulators: `ohm poll` throughput (full device reads per
#     second) and its peak RSS.
# Targets: >= 20x faster than the mbpoll loop; >= 2,000 reads/s;
# < 20 MB peak RSS for 1,000 devices.
# Usage: sh bench/fleet.sh path/to/ohm   (env: FLEET_SMALL=200 FLEET_BIG=1000)
set -eu
OHM=$(realpath "$1")
PY=/usr/bin/python3
SMALL=${FLEET_SMALL:-200}
BIG=${FLEET_BIG:-1000}
T=$(mktemp -d)
pids=""
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$T"
}
trap cleanup EXIT INT TERM
ulimit -n 65536 2>/dev/null || ulimit -n 4096 2>/dev/null || true

# BIG distinct free ports, all bound at once so none repeats
$PY - "$BIG" > "$T/ports" <<'PYEOF'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
for s in socks:
    print(s.getsockname()[1])
PYEOF

start_sims() { # FROM TO (1-based lines of $T/ports)
	for p in $(sed -n "$1,$2p" "$T/ports"); do
		"$OHM" sim bps2000v2 --modbus-tcp "127.0.0.1:$p" 2>/dev/null &
		pids="$pids $!"
	done
}
wait_sims() { # N: until the first N ports accept
	$PY - "$T/ports" "$1" <<'PYEOF'
import socket, sys, time
ports = [int(l) for l in open(sys.argv[1])][:int(sys.argv[2])]
end = time.time() + 120
for p in ports:
    while True:
        try:
            socket.create_connection(("127.0.0.1", p), 0.5).close()
            break
        except OSError:
            if time.time() > end:
                sys.exit("bench: simulator on port %d never opened" % p)
            time.sleep(0.05)
PYEOF
}
inventory() { # N FILE
	{ echo "devices = {"
	  head -n "$1" "$T/ports" | awk '{ printf "  [\"pdu%04d\"] = { uri = \"modbus-tcp://127.0.0.1:%s\", driver = \"bps2000v2\" },\n", NR, $1 }'
	  echo "}"; } > "$2"
}
now() { date +%s.%N; }

echo "starting $SMALL simulators..."
start_sims 1 "$SMALL"
wait_sims "$SMALL"
inventory "$SMALL" "$T/small.lua"

# sanity: every device answers, and mbpoll reads the same 99 registers
"$OHM" poll --config "$T/small.lua" --csv > "$T/small.csv"
rows=$(grep -c ',input.L1-N.voltage,' "$T/small.csv")
[ "$rows" -eq "$SMALL" ] || { echo "bench: only $rows of $SMALL devices read" >&2; exit 1; }
p1=$(head -n 1 "$T/ports")
mbpoll -m tcp -p "$p1" -a 1 -0 -r 0 -c 99 -1 127.0.0.1 > /dev/null

t0=$(now)
for p in $(head -n "$SMALL" "$T/ports"); do
	mbpoll -m tcp -p "$p" -a 1 -0 -r 0 -c 99 -1 127.0.0.1 > /dev/null
done
t1=$(now)
"$OHM" poll --config "$T/small.lua" --csv > /dev/null
t2=$(now)

echo "starting $((BIG - SMALL)) more simulators..."
start_sims "$((SMALL + 1))" "$BIG"
wait_sims "$BIG"
inventory "$BIG" "$T/big.lua"
"$OHM" poll --config "$T/big.lua" --csv > /dev/null   # warm the caches
$PY - "$OHM" "$T/big.lua" "$BIG" > "$T/big.txt" <<'PYEOF'
import resource, subprocess, sys, time
ohm, cfg, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
t = time.time()
r = subprocess.run([ohm, "poll", "--config", cfg, "--csv"],
                   stdout=subprocess.PIPE, stderr=subprocess.PIPE)
dt = time.time() - t
ok = r.stdout.decode().count(",input.L1-N.voltage,")
rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
print(dt, ok, rss, r.returncode)
PYEOF

$PY - "$t0" "$t1" "$t2" "$SMALL" "$BIG" $(cat "$T/big.txt") <<'PYEOF'
import sys
t0, t1, t2 = map(float, sys.argv[1:4])
small, big = int(sys.argv[4]), int(sys.argv[5])
dt, ok, rss, rc = float(sys.argv[6]), int(sys.argv[7]), float(sys.argv[8]), int(sys.argv[9])
loop, poll = t1 - t0, t2 - t1
rate = ok / dt
print("%-40s %10s   %s" % ("measure", "value", "target"))
print("%-40s %9.3fs" % ("mbpoll loop, %d devices" % small, loop))
print("%-40s %9.3fs" % ("ohm poll, %d devices" % small, poll))
print("%-40s %9.1fx   >= 20x       %s" % ("speed-up over the mbpoll loop",
      loop / poll, "yes" if loop / poll >= 20 else "NO"))
print("%-40s %9.3fs   (%d of %d read, exit %d)" % (
      "ohm poll, %d devices" % big, dt, ok, big, rc))
print("%-40s %9.0f/s  >= 2000/s    %s" % ("full device reads per second", rate,
      "yes" if rate >= 2000 else "NO"))
print("%-40s %8.1f MB  < 20 MB      %s" % ("peak RSS of ohm poll, %d devices" % big,
      rss, "yes" if rss < 20 else "NO"))
PYEOF
