#!/bin/sh
# mbpoll (an independent Modbus master) against ohm's simulator:
# `ohm sim bps2000v2 --modbus-tcp 127.0.0.1:PORT --units 3`.
. "$OHM_TOP/tests/lib.sh"

if ! command -v mbpoll >/dev/null; then
	skip "sim_mbpoll (mbpoll not installed)"; exit 0
fi
port=$(free_port)
bg "$OHM" sim bps2000v2 --modbus-tcp "127.0.0.1:$port" --units 3 \
	2> "$T/sim.err"
sim=$!
if ! wait_port "$port" tcp 10; then
	nok "sim listens on $port"; cat "$T/sim.err"; exit 1
fi
has "sim says where it listens" \
	"listening on modbus-tcp://127.0.0.1:$port (units 1-3)" "$(cat "$T/sim.err")"

# mb OPTS... [-- VALUES...]: one mbpoll poll or write (0-based addresses,
# holding registers), output in $T/out
mb() {
	_o=""; while [ $# -gt 0 ] && [ "$1" != "--" ]; do _o="$_o $1"; shift; done
	[ $# -gt 0 ] && shift
	# shellcheck disable=SC2086
	timeout 10 mbpoll -m tcp -p "$port" -0 -1 -t 4 $_o 127.0.0.1 "$@" \
		> "$T/out" 2>&1
}
# reg N: register N's value from the last read
reg() { sed -n "s/^\[$1\]:[[:space:]]*\(-\{0,1\}[0-9]*\).*/\1/p" "$T/out"; }

check "mbpoll reads 99 registers from unit 1 (one request)" \
	mb -a 1 -r 0 -c 99
eq "99 values" 99 "$(grep -c '^\[[0-9]*\]:' "$T/out")"
v=$(reg 0)
check "L1 voltage ~230 V (raw $v)" test "${v:-0}" -ge 2200 -a "${v:-0}" -le 2400
f=$(reg 15)
check "L1 frequency ~50 Hz (raw $f)" test "${f:-0}" -ge 4990 -a "${f:-0}" -le 5010
i=$(reg 3); p=$(reg 6); s=$(reg 12); pf=$(reg 18)
check "L1 current flows ($i)" test "${i:-0}" -gt 0
# P = S * pf within rounding (P, S in 0.1 W/VA; pf in 0.01)
check "realpower = apparent * pf ($p ~ $s * $pf / 100)" \
	test $(( (p - s * pf / 100) * (p - s * pf / 100) )) -lt 400
e1=$(( $(reg 21) * 16777216 + $(reg 22) * 65536 + $(reg 23) * 256 + $(reg 24) ))
check "energy8 bytes are bytes" test "$(reg 22)" -le 255 -a "$(reg 23)" -le 255
eq "status registers start good" "0 0 0" "$(reg 87) $(reg 90) $(reg 93)"
eq "doors closed, no smoke, no water" "2 2 2 2" \
	"$(reg 59) $(reg 60) $(reg 61) $(reg 62)"

check "mbpoll writes a threshold (function 06)" mb -a 1 -r 70 -- 100
check "read back" mb -a 1 -r 70 -c 1
eq "input.L1.current.high.critical reads back 100 (10.0 A)" 100 "$(reg 70)"

# the status follows its threshold: high critical voltage below the reading
mb -a 1 -r 64 -- 2000
mb -a 1 -r 87 -c 1
eq "voltage status follows the threshold (16 critical-high)" 16 "$(reg 87)"
mb -a 1 -r 64 -- 2530
mb -a 1 -r 87 -c 1
eq "and back to good" 0 "$(reg 87)"

if mb -a 1 -r 0 -- 1234; then nok "write to a read-only register refused"
else has "write to a read-only register refused" "Illegal data address" \
	"$(cat "$T/out")"; fi
if mb -a 1 -r 70 -- 1000; then nok "write outside the limits refused"
else has "write outside the limits refused (100 A > 63 A)" \
	"Illegal data value" "$(cat "$T/out")"; fi
if timeout 10 mbpoll -m tcp -p "$port" -0 -1 -t 3 -a 1 -r 0 -c 3 \
	127.0.0.1 > "$T/out" 2>&1; then
	nok "function 04 (input registers) answered with exception 01"
else has "function 04 (input registers) answered with exception 01" \
	"Illegal function" "$(cat "$T/out")"; fi
if mb -a 1 -r 70 -- 100 101; then nok "function 16 answered with exception 01"
else has "function 16 answered with exception 01" "Illegal function" \
	"$(cat "$T/out")"; fi
if mb -a 1 -r 90 -c 10; then nok "a read past the map refused"
else has "a read past the map refused (exception 02)" \
	"Illegal data address" "$(cat "$T/out")"; fi

check "--units 3 answers on slave 3" mb -a 3 -r 0 -c 3
v=$(reg 0)
check "slave 3 voltage ~230 V ($v)" test "${v:-0}" -ge 2200 -a "${v:-0}" -le 2400
if mb -a 4 -r 0 -c 3; then nok "slave 4 does not exist"
else ok "slave 4 does not exist"; fi

# energy grows with power: ~1 kW on L1 is 1 Wh every few seconds
grown=0; n=0
while [ $n -lt 20 ]; do
	sleep 0.5; n=$((n + 1))
	mb -a 1 -r 21 -c 4 || continue
	e2=$(( $(reg 21) * 16777216 + $(reg 22) * 65536 + $(reg 23) * 256 + $(reg 24) ))
	if [ "$e2" -gt "$e1" ]; then grown=1; break; fi
done
check "input.L1.energy grows with power ($e1 Wh -> ${e2:-?} Wh)" \
	test "$grown" -eq 1

out=$("$OHM" get "modbus-tcp://127.0.0.1:$port" input.L1.current.high.critical 2>&1)
eq "ohm reads the threshold mbpoll wrote" \
	"input.L1.current.high.critical: 10" "$out"

kill -TERM "$sim"
wait "$sim"; rc=$?
eq "sim exits 0 on SIGTERM" 0 "$rc"
