#!/bin/sh
# Benchmark for issue 5: sh bench/upgrade.sh OHM_BINARY
#  1. a 4 MiB file to 16 tftpd-hpa targets on loopback: `ohm upgrade`
#     (parallel, negotiated block size) against a shell loop of the tftp-hpa
#     client and a shell loop of curl, one run each;
#  2. the same file to one target behind bench/udp_delay_relay.py (1 ms each
#     way, 2 ms round trip): ohm with block-size negotiation against ohm in
#     512-byte lock-step (--blksize 512) and the tftp-hpa client.
# Targets: batch >= 8x faster than the tftp-hpa loop; negotiation at 2 ms
# RTT >= 5x faster than 512-byte lock-step. Every upload is checked
# byte for byte; a wrong copy fails the run.
set -eu
OHM=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
top=$(cd "$(dirname "$0")/.." && pwd)
PY=/usr/bin/python3
N=16
tmp=$(mktemp -d)
pids=""
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

free_port() { $PY "$top/tests/lib.py" free_port udp; }
wait_port() { $PY "$top/tests/lib.py" wait_port "$1" udp 10; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.3f", b - a }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", a / b }'; }

fw=$tmp/fw.bin
head -c 4194304 /dev/urandom > "$fw"
ports=""
for i in $(seq 1 $N); do
	p=$(free_port); mkdir "$tmp/d$p"
	in.tftpd -L -c -u root -s "$tmp/d$p" -a 127.0.0.1:$p & pids="$pids $!"
	ports="$ports $p"
done
for p in $ports; do wait_port "$p"; done

# check NAME: every target holds an identical copy of NAME; then clear
check() {
	for p in $ports; do
		cmp -s "$fw" "$tmp/d$p/$1" || { echo "bench: $1 differs on $p" >&2; exit 1; }
		rm -f "$tmp/d$p/$1"
	done
}

targets=""
for p in $ports; do targets="$targets tftp://127.0.0.1:$p"; done
t=$(now)
"$OHM" upgrade --file "$fw" --remote-name ohm.bin --yes -q --jobs $N \
	$targets > /dev/null
t_ohm=$(since "$t"); check ohm.bin

t=$(now)
for p in $ports; do tftp -m binary 127.0.0.1 "$p" -c put "$fw" loop.bin; done
t_loop=$(since "$t"); check loop.bin

t=$(now)
for p in $ports; do curl -sS -T "$fw" "tftp://127.0.0.1:$p/curl.bin"; done
t_curl=$(since "$t"); check curl.bin

# One target behind a 1 ms-each-way relay.
first=$(echo $ports | cut -d' ' -f1)
relay=$(free_port)
$PY "$top/bench/udp_delay_relay.py" --listen "$relay" --to "$first" \
	--delay-ms 1 > /dev/null & pids="$pids $!"
wait_port "$relay"
one() { # NAME ARGS...: one upload through the relay, checked
	n=$1; shift
	t=$(now)
	"$OHM" upgrade --file "$fw" --remote-name "$n" --yes -q "$@" \
		"tftp://127.0.0.1:$relay" > /dev/null
	since "$t"
	cmp -s "$fw" "$tmp/d$first/$n" || { echo "bench: $n differs" >&2; exit 1; }
}
t_neg=$(one neg.bin)
t_512=$(one lock.bin --blksize 512)
t=$(now)
tftp -m binary 127.0.0.1 "$relay" -c put "$fw" hpa.bin
t_hpa=$(since "$t")
cmp -s "$fw" "$tmp/d$first/hpa.bin" || { echo "bench: hpa.bin differs" >&2; exit 1; }

echo "upgrade: 4 MiB to $N tftpd-hpa targets on loopback (one run each)"
printf '  %-44s %8ss\n' "ohm upgrade --jobs $N (blksize 8192)" "$t_ohm"
printf '  %-44s %8ss  (%sx slower than ohm)\n' "shell loop of tftp-hpa client" \
	"$t_loop" "$(ratio "$t_loop" "$t_ohm")"
printf '  %-44s %8ss  (%sx slower than ohm)\n' "shell loop of curl" \
	"$t_curl" "$(ratio "$t_curl" "$t_ohm")"
echo "upgrade: 4 MiB to one target behind a 1 ms-each-way UDP relay"
printf '  %-44s %8ss\n' "ohm upgrade, blksize 8192 negotiated" "$t_neg"
printf '  %-44s %8ss  (%sx slower)\n' "ohm upgrade --blksize 512 (lock-step)" \
	"$t_512" "$(ratio "$t_512" "$t_neg")"
printf '  %-44s %8ss  (%sx slower)\n' "tftp-hpa client (512, lock-step)" \
	"$t_hpa" "$(ratio "$t_hpa" "$t_neg")"
b=$(ratio "$t_loop" "$t_ohm"); n=$(ratio "$t_512" "$t_neg")
awk -v b="$b" -v n="$n" 'BEGIN {
	printf "  target batch >= 8x tftp-hpa loop: %sx %s\n", b, (b >= 8 ? "MET" : "NOT MET")
	printf "  target negotiated >= 5x 512-byte lock-step at 2 ms RTT: %sx %s\n", n, (n >= 5 ? "MET" : "NOT MET")
}'
