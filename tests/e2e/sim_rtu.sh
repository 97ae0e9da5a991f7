#!/bin/sh
# `ohm sim bps2000v2 --modbus-rtu PTY --units 3` answers every unit on the
# line, as a chain of units on one RS485 bus does: mbpoll (an independent
# master) over a socat pty pair reads units 1, 2 and 3 and writes unit 3;
# a unit that is not there stays silent.
. "$OHM_TOP/tests/lib.sh"

if ! command -v mbpoll >/dev/null || ! command -v socat >/dev/null; then
	skip "sim_rtu (mbpoll or socat not installed)"; exit 0
fi
bg socat pty,raw,echo=0,link="$T/a" pty,raw,echo=0,link="$T/b"
i=0; while [ ! -e "$T/b" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i+1)); done
bg "$OHM" sim bps2000v2 --modbus-rtu "$T/a" --units 3 2> "$T/sim.err"
sleep 0.5
has "sim says every unit answers on the line" \
	"listening on modbus-rtu://$T/a (units 1-3)" "$(cat "$T/sim.err")"

# mb UNIT OPTS... [-- VALUES...]: one mbpoll request (holding registers,
# 0-based), output in $T/out
mb() {
	_o="-a $1"; shift
	while [ $# -gt 0 ] && [ "$1" != "--" ]; do _o="$_o $1"; shift; done
	[ $# -gt 0 ] && shift
	# shellcheck disable=SC2086
	timeout 10 mbpoll -m rtu -b 9600 -P none -0 -1 -t 4 -o 1 $_o "$T/b" "$@" \
		> "$T/out" 2>&1
}
reg() { sed -n "s/^\[$1\]:[[:space:]]*\(-\{0,1\}[0-9]*\).*/\1/p" "$T/out"; }

for u in 1 2 3; do
	mb "$u" -r 0 -c 3
	v=$(reg 0)
	check "unit $u answers over RTU (L1 voltage raw $v)" \
		test "${v:-0}" -ge 2200 -a "${v:-0}" -le 2400
done
# unit 1 again after the others: the line stays in step
mb 1 -r 0 -c 1
v=$(reg 0)
check "unit 1 still answers after units 2 and 3 ($v)" test "${v:-0}" -ge 2200
check "unit 3 takes a write (function 06)" mb 3 -r 70 -- 120
mb 3 -r 70 -c 1
eq "unit 3 reads it back" 120 "$(reg 70)"
mb 2 -r 70 -c 1
check "unit 2 keeps its own threshold ($(reg 70))" test "$(reg 70)" != 120
if mb 4 -r 0 -c 1; then nok "unit 4 (not simulated) stays silent"
else has "unit 4 (not simulated) stays silent" "timed out" "$(cat "$T/out")"; fi
r=$("$OHM" get -d bps2000v2 --timeout 2 "modbus-rtu://$T/b?unit=2" \
	input.L2-N.voltage 2>&1)
has "ohm reads unit 2 over the same line" "input.L2-N.voltage: 2" "$r"
if mb 2 -t 3 -r 0 -c 1; then nok "function 04 on unit 2: exception 01"
else has "function 04 on unit 2: exception 01" "Illegal function" \
	"$(cat "$T/out")"; fi
# a function whose request length the sim cannot know (43, read device
# identification) still gets exception 01, from the frame's CRC
r=$($PYTHON - "$T/b" <<'PY'
import os, select, sys, termios, tty
fd = os.open(sys.argv[1], os.O_RDWR | os.O_NOCTTY)
tty.setraw(fd)
def crc(b):
    c = 0xFFFF
    for x in b:
        c ^= x
        for _ in range(8):
            c = (c >> 1) ^ 0xA001 if c & 1 else c >> 1
    return bytes([c & 0xFF, c >> 8])
q = bytes([3, 0x2B, 0x0E, 0x01, 0x00])
os.write(fd, q + crc(q))
got = b""
while len(got) < 5 and select.select([fd], [], [], 3)[0]:
    got += os.read(fd, 64)
print(got.hex())
PY
)
eq "function 43 on unit 3: exception 01 in a well-formed reply" \
	"03ab01$(printf '%s' "$($PYTHON -c '
c=0xFFFF
for x in bytes([3,0xAB,1]):
    c^=x
    for _ in range(8): c=(c>>1)^0xA001 if c&1 else c>>1
print("%02x%02x"%(c&0xFF,c>>8))')")" "$r"
