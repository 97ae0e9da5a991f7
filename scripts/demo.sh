#!/bin/sh
# `make demo`: ohm's main job on the built-in BPS2000v2 simulator, start to
# end over real loopback Modbus TCP, then a battery bank (sim:pace).
# Usage: scripts/demo.sh [PATH/TO/ohm]
# Exits non-zero if any step that should succeed fails (or a step that
# should fail succeeds).
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
OHM=${1:-$top/build/ohm}
case "$OHM" in /*) ;; *) OHM="$(pwd)/$OHM" ;; esac
cd "$top"
tmp=$(mktemp -d)
sim_pid=""
failed=0
cleanup() {
	[ -n "$sim_pid" ] && kill "$sim_pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM
export OHM_CONFIG="$tmp/config.lua" # the demo's own inventory

say() { printf '\n== %s\n' "$*"; }
show() { printf '$ ohm'; printf ' %s' "$@"; printf '\n'; }
# step ARGS...: run ohm ARGS, show it, it must succeed
step() {
	show "$@"
	"$OHM" "$@" < /dev/null || { echo "demo: FAILED: ohm $*" >&2; failed=1; }
}
# fails WHY ARGS...: run ohm ARGS, it must fail with a message saying WHY
fails() {
	why=$1; shift
	show "$@"
	if "$OHM" "$@" < /dev/null 2> "$tmp/err"; then
		echo "demo: ohm $* should have failed" >&2; failed=1
	else
		rc=$?
		cat "$tmp/err"
		if grep -q -- "$why" "$tmp/err"; then
			echo "(exit $rc, as expected)"
		else
			echo "demo: expected a message with '$why'" >&2; failed=1
		fi
	fi
}
# A free loopback port (Debian's python3 is a build dependency).
free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0));
print(s.getsockname()[1])' 2>/dev/null || echo 15020
}

[ -x "$OHM" ] || { echo "demo: no ohm binary at $OHM (run make)" >&2; exit 1; }

say "Drivers and transports in this build"
step drivers

say "What a BPS2000v2 offers (from its map; no connection needed)"
show list sim:bps2000v2 "| head"
"$OHM" list sim:bps2000v2 > "$tmp/list" || failed=1
head "$tmp/list"

say "Read the whole PDU: one Modbus request of 99 registers, upsc-style"
step get sim:bps2000v2

say "A few values as JSON, for scripts"
step get --json sim:bps2000v2 input.L1.current input.L1.energy \
	ambient.temperature device.model

say "Set a threshold on a running simulator, then read it back"
port=$(free_port)
"$OHM" sim bps2000v2 --modbus-tcp "127.0.0.1:$port" > "$tmp/sim.log" 2>&1 &
sim_pid=$!
i=0
while [ $i -lt 50 ] && ! "$OHM" get --timeout 0.2 --retries 0 -d bps2000v2 \
	"modbus-tcp://127.0.0.1:$port" device.model > /dev/null 2>&1; do
	sleep 0.1; i=$((i + 1))
done
[ $i -lt 50 ] || { echo "demo: ohm sim did not start:" >&2
	cat "$tmp/sim.log" >&2; failed=1; }
cat > "$OHM_CONFIG" <<EOF
-- the demo's inventory: names for devices
devices = {
  pdu1 = { uri = "modbus-tcp://127.0.0.1:$port?unit=1", driver = "bps2000v2" },
}
EOF
step set pdu1 input.L1.current.high.critical=25
show get pdu1 input.L1.current.high.critical
got=$("$OHM" get pdu1 input.L1.current.high.critical)
echo "$got"
[ "$got" = "input.L1.current.high.critical: 25" ] ||
	{ echo "demo: read back '$got', expected 25" >&2; failed=1; }

say "Writes are checked against the map before anything is sent"
fails read-only set pdu1 input.L1.current=3
fails "out of range" set pdu1 input.L1.current.high.critical=500

say "Energy reset is a console-only command: over Modbus it says so"
fails "not supported over modbus" cmd --yes pdu1 reset.energy.L1

say "Lua: the same device from a script"
chunk='local p = assert(ohm.open("pdu1"))
print(("L1: %.2f A, %.2f kWh"):format(p:get("input.L1.current"),
  p:get("input.L1.energy")))
p:close()'
printf '$ ohm -e %s\n' "'$(echo "$chunk" | tr '\n' ' ')'"
"$OHM" -e "$chunk" < /dev/null || { echo "demo: FAILED: the Lua chunk" >&2
	failed=1; }

report=""
for f in scripts/energy-report.lua scripts/energy*.lua; do
	[ -f "$f" ] && { report=$f; break; }
done
if [ -n "$report" ]; then
	say "The energy report maintenance script (CSV), across the inventory"
	step "$report"
fi

kill "$sim_pid" 2>/dev/null
wait "$sim_pid" 2>/dev/null
sim_pid=""

say "A LiFePO4 battery bank: three PACE packs, one cell running away"
show get "sim:pace?packs=3&runaway=5" battery.packs battery.charge "'battery.pack.0.cell.*.voltage'" \
	"'battery.pack.*.alarms'" "| head -24"
"$OHM" get "sim:pace?packs=3&runaway=5" battery.packs battery.charge \
	'battery.pack.0.cell.*.voltage' 'battery.pack.*.alarms' > "$tmp/bank" ||
	{ echo "demo: FAILED: the bank" >&2; failed=1; }
head -24 "$tmp/bank"
say "The cell-balance audit (cron) flags the runaway pack: exit 3"
show scripts/cell-balance-audit.lua "sim:pace?packs=3&runaway=5"
"$OHM" scripts/cell-balance-audit.lua "sim:pace?packs=3&runaway=5" < /dev/null
[ $? -eq 3 ] || { echo "demo: the audit should exit 3" >&2; failed=1; }

if [ "$failed" -ne 0 ]; then
	printf '\ndemo: some steps FAILED\n' >&2
	exit 1
fi
printf '\ndemo: all steps passed\n'
