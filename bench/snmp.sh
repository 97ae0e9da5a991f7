#!/bin/sh
# The SNMP fleet benchmark (issue 3): read the BPS2000v2's full SNMP
# variable set (the 37 OIDs of the master, manual 10.1) from N agents
# (default 200), ohm in ONE process (`ohm poll`, every agent in flight at
# once through net-snmp's asynchronous API) against a shell loop of
# `snmpget` (one process per agent, the same 37 OIDs in one request), same
# agents, one run each. Prints both wall times, the ratio (target >= 20x),
# and the GET PDUs each side sent (target: one per agent), counted by the
# agents themselves (SNMPv2-MIB snmpInGetRequests).
#
# The agents: net-snmp's snmpd, each process listening on 50 loopback UDP
# endpoints (one agent address each; snmpd.conf `override` objects carry
# the BPS2000v2 values as decimal text, as BKT agents send them).
#
# Usage: sh bench/snmp.sh OHM_BINARY [AGENTS]
set -eu
OHM=${1:?usage: sh bench/snmp.sh OHM_BINARY [AGENTS]}
N=${2:-200}
PER=50
top=$(cd "$(dirname "$0")/.." && pwd)
PY=/usr/bin/python3
for t in snmpd snmpget; do
	command -v $t >/dev/null || { echo "snmp bench: $t not installed"; exit 1; }
done
work=$(mktemp -d)
pids=""
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT INT TERM

# N consecutive free UDP ports on 127.0.0.1
base=$($PY - "$N" <<'EOF'
import random, socket, sys
n = int(sys.argv[1])
for _ in range(200):
    b = random.randrange(20000, 60000 - n)
    socks = []
    try:
        for p in range(b, b + n):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            socks.append(s)
            s.bind(("127.0.0.1", p))
        print(b)
        break
    except OSError:
        pass
    finally:
        for s in socks:
            s.close()
else:
    sys.exit("no free port range")
EOF
)

# snmpd.conf objects: the master subtree of a BPS2000v2, decimal text
PYTHONPATH="$top/tests" $PY - > "$work/objects.conf" <<'EOF'
import snmplib as S
for line in S.bps_records("text", units=[0]):
    oid, tag, val = line.split("|", 2)
    if oid.startswith(S.BKT + ".2."):
        print(f'override .{oid} octet_str "{val}"')
EOF
nobj=$(wc -l < "$work/objects.conf")

k=0
first=$base
while [ "$first" -lt $((base + N)) ]; do
	last=$((first + PER - 1))
	[ "$last" -lt $((base + N)) ] || last=$((base + N - 1))
	{
		printf 'agentAddress '
		seq "$first" "$last" | sed 's/^/udp:127.0.0.1:/' | paste -sd, -
		echo "rocommunity public 127.0.0.1"
		echo "dontLogTCPWrappersConnects yes"
		cat "$work/objects.conf"
	} > "$work/snmpd$k.conf"
	mkdir -p "$work/p$k"
	SNMP_PERSISTENT_DIR="$work/p$k" MIBS= snmpd -f -Lf "$work/snmpd$k.log" \
		-C -c "$work/snmpd$k.conf" -M /nonexistent -m "" &
	pids="$pids $!"
	echo "$first" >> "$work/heads"
	k=$((k + 1))
	first=$((last + 1))
done

OIDS=$(sed 's/^override \([^ ]*\) .*/\1/' "$work/objects.conf")
# every agent answers before the clock starts (bounded wait)
for p in $(seq "$base" $((base + N - 1))); do
	i=0
	until snmpget -v2c -c public -t 0.2 -r 0 -Oqv "127.0.0.1:$p" \
		.1.3.6.1.2.1.1.5.0 >/dev/null 2>&1; do
		i=$((i + 1))
		[ $i -lt 100 ] || { echo "snmp bench: agent $p did not start"; exit 1; }
	done
done

# GET PDUs all agents received so far (each count sends k GETs itself)
count() {
	sum=0
	for p in $(cat "$work/heads"); do
		c=$(snmpget -v2c -c public -Oqv "127.0.0.1:$p" .1.3.6.1.2.1.11.15.0)
		sum=$((sum + c))
	done
	echo $sum
}
now() { date +%s.%N; }

# both tools once, so neither pays a cold page cache in the timed run
"$OHM" poll -d bps2000v2 "snmp://public@127.0.0.1:$base" >/dev/null
snmpget -v2c -c public "127.0.0.1:$base" $OIDS >/dev/null

# Each side runs RUNS times (default 3) and the median counts, as hyperfine
# does: one run of a 30 ms job on a shared 2-core machine is mostly noise.
# The PDU counts are taken around the first run of each side.
RUNS=${SNMP_BENCH_RUNS:-3}
uris=$(seq "$base" $((base + N - 1)) | sed 's|^|snmp://public@127.0.0.1:|')
ta="" tb=""
c0=$(count)
for r in $(seq "$RUNS"); do
	t0=$(now)
	for p in $(seq "$base" $((base + N - 1))); do
		snmpget -v2c -c public -On "127.0.0.1:$p" $OIDS
	done > "$work/snmpget.out"
	t1=$(now)
	ta="$ta $t0:$t1"
	[ "$r" -eq 1 ] && c1=$(count)
	t2=$(now)
	"$OHM" poll -d bps2000v2 --json $uris > "$work/ohm.out"
	t3=$(now)
	tb="$tb $t2:$t3"
	[ "$r" -eq 1 ] && c2=$(count)
done

got_snmpget=$(grep -c '^\.1\.3\.6\.1\.4\.1\.47394\.1\.2\.' "$work/snmpget.out" || true)
got_ohm=$(grep -o '"input\.L1\.current": [0-9.]*' "$work/ohm.out" | wc -l)
errs_ohm=$(grep -c '"error"' "$work/ohm.out" || true)
$PY - "$N" "$nobj" "$k" "$PER" "$ta" "$tb" "$c0" "$c1" "$c2" \
	"$got_snmpget" "$got_ohm" "$errs_ohm" <<'EOF'
import statistics, sys
n, nobj, k, per = map(int, sys.argv[1:5])
def median(spans):
    return statistics.median(float(e) - float(s) for s, e in
                             (x.split(":") for x in spans.split()))
a, b = median(sys.argv[5]), median(sys.argv[6])
c0, c1, c2 = map(int, sys.argv[7:10])
got_sg, got_ohm, errs = map(int, sys.argv[10:13])
pa, pb = c1 - c0 - k, c2 - c1 - k   # minus the counting GETs themselves
print(f"snmp: {n} agents ({k} snmpd processes x {min(n, per)} UDP endpoints"
      f" on 127.0.0.1), {nobj} OIDs each (BPS2000v2 master, full set)")
print(f"  median of {len(sys.argv[5].split())} runs each")
print(f"  snmpget loop ({n} processes): {a:8.3f} s  {pa} GET PDUs"
      f"  ({got_sg} values)")
print(f"  ohm poll (1 process):         {b:8.3f} s  {pb} GET PDUs"
      f"  ({got_ohm} agents read, {errs} errors)")
print(f"  ratio: {a / b:.1f}x faster (target >= 20x); "
      f"{pb / n:.2f} requests per agent (target 1)")
ok = got_sg == n * nobj and got_ohm == n and errs == 0 and pb == n
sys.exit(0 if ok else 1)
EOF
