#!/bin/sh
# The one-shot command line (DESIGN.md "Command line"): usage errors, URIs,
# drivers, variables, output shapes, writes validated before sending,
# confirmations, the inventory, and secrets kept out of every message.
# Peers: ohm's built-in simulator (sim:bps2000v2) and an independent
# python3-pymodbus server (tests/modbus_peer.py) that logs every request.
. "$OHM_TOP/tests/lib.sh"
PEER="$OHM_TOP/tests/modbus_peer.py"

# json_ok NAME FILE: FILE parses as JSON
json_ok() { check "$1" sh -c '"$1" -m json.tool "$2" > /dev/null' - "$PYTHON" "$2"; }
# run CMD...: sets $out, $err, $rc (no stdin: no terminal)
run() {
	"$@" > "$T/out" 2> "$T/err" < /dev/null
	rc=$?
	out=$(cat "$T/out"); err=$(cat "$T/err")
}
lines() { printf '%s\n' "$1" | grep -c .; }
# one_line NAME: stderr is exactly one "ohm: ..." line
one_line() {
	if [ "$(lines "$err")" = 1 ] && case "$err" in ohm:*) true ;;
		*) false ;; esac; then ok "$1"
	else nok "$1"; printf '    stderr: %s\n' "$err"; fi
}

# --- usage errors: exit 2, one line ---------------------------------------
run "$OHM" get
eq "get without DEVICE exits 2" 2 "$rc"
one_line "get without DEVICE: one-line message"
has "get without DEVICE names what is missing" "missing DEVICE" "$err"
run "$OHM" cmd sim:bps2000v2 a b
eq "cmd with two commands: usage error" 2 "$rc"
eq "cmd with two commands says so" "ohm: cmd: one COMMAND only; usage: ohm cmd [OPTS] [--yes] [--wait[=S]] DEVICE [COMMAND]" "$err"
run "$OHM" cmd nosuch
eq "cmd of an unknown name exits 1" 1 "$rc"
one_line "cmd of an unknown name: one-line message"
run "$OHM" scan -d pace serial:///dev/null extra
eq "scan of a bank with two URIs: usage error" 2 "$rc"
has "scan of a bank with two URIs says so" "ohm: scan: one URI only; usage:" "$err"
run "$OHM" config diff only-a-file
eq "config diff without DEVICE: usage error" 2 "$rc"
has "config diff without DEVICE says so" "ohm: config: diff needs FILE and DEVICE..." "$err"
run "$OHM" config apply /nonexistent/x.lua sim:bps2000v2
eq "config apply of a missing file: usage error" 2 "$rc"
one_line "config apply of a missing file: one-line message"
run "$OHM" get --bogus sim:bps2000v2
eq "unknown option exits 2" 2 "$rc"
has "unknown option named" "'--bogus'" "$err"
one_line "unknown option: one-line message"
run "$OHM" get --timeout abc sim:bps2000v2
eq "bad --timeout exits 2" 2 "$rc"
has "bad --timeout says why" "--timeout 'abc'" "$err"
run "$OHM" set sim:bps2000v2 input.L1.current.high.critical
eq "set without '=' exits 2" 2 "$rc"
has "set without '=' says VAR=VALUE" "VAR=VALUE" "$err"
run "$OHM" cmd sim:bps2000v2
eq "cmd without COMMAND lists the commands (exit 0)" 0 "$rc"
has "cmd without COMMAND: upscmd -l header" \
	"Instant commands supported on sim:bps2000v2:" "$out"
has "cmd without COMMAND: the simulator carries the energy reset" \
	"reset.energy.L1 - reset the phase 1 energy counters
" "$out"
has "cmd without COMMAND: a console-only command is marked" \
	"device.restart - restart the management module (telnet only)" "$out"
run "$OHM" cmd
eq "cmd without DEVICE exits 2" 2 "$rc"
run "$OHM" help nosuchcommand
eq "help of an unknown command exits 2" 2 "$rc"
run "$OHM" get --help
eq "get --help exits 0" 0 "$rc"
has "get --help prints the usage" "usage: ohm get" "$out"
run "$OHM" help
has "help lists get" "get " "$out"
has "help lists drivers" "drivers " "$out"
run "$OHM" help --commands
has "help --commands: names one a line" "$(printf 'get\nset')" "$out"
run "$OHM" nosuchcommand
check "unknown command fails" [ "$rc" -ne 0 ]
has "unknown command named" "nosuchcommand" "$err"

# output that cannot be written is a failure, not a silent success
if [ -w /dev/full ]; then
	"$OHM" get sim:bps2000v2 > /dev/full 2> "$T/err"; rc=$?
	eq "get > /dev/full exits 1" 1 "$rc"
	has "get > /dev/full says so" "write error" "$(cat "$T/err")"
	"$OHM" -e 'print("x") os.exit(0)' > /dev/full 2> /dev/null; rc=$?
	eq "a script's print to /dev/full, then os.exit(0): exit 1" 1 "$rc"
else
	skip "write errors" "no /dev/full"
fi

# --- malformed URIs, unknown driver, unknown device -----------------------
run "$OHM" get 'modbus-tcp://[::1'
eq "unterminated [ exits 2" 2 "$rc"
has "unterminated [ says so" "[" "$err"
one_line "malformed URI: one-line message"
run "$OHM" get -d bps2000v2 'modbus-tcp://127.0.0.1:99999'
eq "port out of range exits 2" 2 "$rc"
has "port out of range says port" "port" "$err"
run "$OHM" list -d nosuchdriver modbus-tcp://127.0.0.1:1
eq "unknown driver exits 1" 1 "$rc"
has "unknown driver named" "nosuchdriver" "$err"
one_line "unknown driver: one-line message"
run "$OHM" get "$(printf 'modbus-tcp://127.0.0.1:1\nx')"
eq "newline in a URI exits 2" 2 "$rc"
one_line "newline in a URI: the error is still one line"
run "$OHM" get sim:bps2000v2 "$(printf 'in\033[2Jput')"
check "escape in a VAR: not sent to the terminal" \
	sh -c '! printf "%s" "$1" | grep -q "$(printf "\033")"' - "$err"
# a port above 65535 is refused, not wrapped by getaddrinfo (99999 -> 34463)
printf 'pw\n' > "$T/pw"
for lst in "sim bps2000v2 --modbus-tcp 127.0.0.1:99999" \
	"serve --nut 127.0.0.1:99999 sim:bps2000v2" \
	"serve --prometheus 127.0.0.1:99999 sim:bps2000v2" \
	"serve --user a --password-file $T/pw --telnet 127.0.0.1:99999 x"; do
	# shellcheck disable=SC2086
	run timeout 10 "$OHM" $lst
	eq "$lst: usage error" 2 "$rc"
	has "$lst: says the address is bad" "bad address" "$err"
done
run "$OHM" get pdu-not-there
eq "unknown inventory name exits 1" 1 "$rc"
has "unknown inventory name named" "pdu-not-there" "$err"
run "$OHM" get -d bps2000v2 nosuchscheme://127.0.0.1
check "unknown transport fails" [ "$rc" -ne 0 ]
has "unknown transport named" "nosuchscheme" "$err"

# --- ohm drivers ------------------------------------------------------------
run "$OHM" drivers
eq "drivers exits 0" 0 "$rc"
has "drivers lists bps2000v2" "bps2000v2" "$out"
has "drivers lists modbus-tcp" "modbus-tcp" "$out"
run "$OHM" drivers --names
check "drivers --names: bps2000v2 alone on a line" \
	sh -c 'grep -qx bps2000v2 "$1"' - "$T/out"
run "$OHM" drivers --json
json_ok "drivers --json parses" "$T/out"
# the transports of the build (generated registry), as completion offers them
run "$OHM" drivers --schemes
check "drivers --schemes: every transport of the build, as a URI start" \
	sh -c 'grep -qx "modbus-tcp://" "$1" && grep -qx "modbus-rtu:///" "$1" &&
		grep -qx "snmp://" "$1" && grep -qx "serial:///" "$1" &&
		grep -qx "tcp://" "$1" && [ "$(wc -l < "$1")" -eq 6 ]' - "$T/out"

# --- ohm list ---------------------------------------------------------------
run "$OHM" list sim:bps2000v2
eq "list exits 0" 0 "$rc"
row=$(printf '%s\n' "$out" | awk '$1 == "input.L1.current.high.critical"')
eq "list columns: name unit access" "input.L1.current.high.critical A rw" \
	"$(echo "$row" | awk '{print $1, $2, $3}')"
check "list row has a description" [ "$(echo "$row" | awk '{print NF}')" -gt 3 ]
eq "list: every row has ro, rw, cmd or (ro), (rw), (cmd) in column 3" "" \
	"$(printf '%s\n' "$out" | awk '$3 !~ /^\(?(ro|rw|cmd)\)?$/')"
eq "list over Modbus marks console-only variables" \
	"% (rw) sensor high humidity warning (telnet only)" \
	"$(printf '%s\n' "$out" | awk '$1 == "ambient.humidity.high.warning" {$1 = ""; print}' | sed 's/^ *//')"
eq "list over Modbus marks console-only commands" \
	"(cmd) restart the management module (telnet only)" \
	"$(printf '%s\n' "$out" | awk '$1 == "device.restart" {$1 = $2 = ""; print}' | sed 's/^ *//')"
c1=$(printf '%s\n' "$out" | head -1 | awk '{print index($0, $2)}')
c2=$(printf '%s\n' "$out" | tail -1 | awk '{print index($0, $2)}')
eq "list columns aligned" "$c1" "$c2"
has "list shows the commands" "reset.energy.L1" "$out"
run "$OHM" list --json sim:bps2000v2
json_ok "list --json parses" "$T/out"
eq "list --json: access of a threshold" "rw" "$($PYTHON -c '
import json, sys
for r in json.load(open(sys.argv[1])):
    if r["name"] == "input.L1.current.high.critical": print(r["access"])
' "$T/out")"
# no connection needed when the driver is known: a refused port still lists
port=$(free_port)
run "$OHM" list -d bps2000v2 "modbus-tcp://127.0.0.1:$port"
eq "list with a known driver does not connect" 0 "$rc"
has "list offline shows the map" "input.L1.current" "$out"

# --- get against the simulator --------------------------------------------
run "$OHM" get sim:bps2000v2
eq "get sim exits 0" 0 "$rc"
eq "get output sorted by name" "" \
	"$(printf '%s\n' "$out" | cut -d: -f1 | LC_ALL=C sort -c 2>&1)"
eq "get output is 'name: value' lines" "" \
	"$(printf '%s\n' "$out" | grep -Ev '^[A-Za-z0-9._-]+: [^ ].*$')"
has "get: device.mfr as upsc shows it" "device.mfr: BKT ELEKTRONIK" "$out"
has "get: input.phases" "input.phases: 3" "$out"
eq "get prints every variable list shows" \
	"$("$OHM" list sim:bps2000v2 | awk '$3 == "ro" || $3 == "rw" {print $1}')" \
	"$(printf '%s\n' "$out" | cut -d: -f1)"
eq "get: values carry no unit" "" \
	"$(printf '%s\n' "$out" | grep -E '^input\.L1\.current: .* A$')"
run "$OHM" get sim:bps2000v2 input.L1.current device.model
eq "get VARs: two lines sorted" "device.model: BPS2000v2" \
	"$(printf '%s\n' "$out" | head -1)"
eq "get VARs: only those" 2 "$(lines "$out")"
run "$OHM" get sim:bps2000v2 'input.*.current' input.phases
eq "get with a wildcard: the matching variables, sorted" \
	"input.L1.current input.L2.current input.L3.current input.phases" \
	"$(printf '%s\n' "$out" | cut -d: -f1 | tr '\n' ' ' | sed 's/ $//')"
run "$OHM" get sim:bps2000v2 'input.*.curent'
eq "get: a wildcard that matches nothing exits 1" 1 "$rc"
has "get: a wildcard that matches nothing says so" \
	"no variable matches 'input.*.curent'" "$err"
run "$OHM" get sim:bps2000v2 input.L1.current no.such.var
eq "unknown variable exits 1" 1 "$rc"
has "unknown variable named" "'no.such.var'" "$err"
one_line "unknown variable: one-line message"
eq "unknown variable: nothing on stdout" "" "$out"
run "$OHM" get --json sim:bps2000v2
json_ok "get --json parses" "$T/out"
eq "get --json: numbers as numbers, text as strings" "num str str" \
	"$($PYTHON -c '
import json, sys
d = json.load(open(sys.argv[1]))
def kind(x):
    return "str" if isinstance(x, str) else "num" if isinstance(
        x, (int, float)) and not isinstance(x, bool) else "bad"
print(kind(d["input.L1.current"]), kind(d["device.mfr"]),
      kind(d["ambient.contacts.1.status"]))' "$T/out")"
run "$OHM" get --csv sim:bps2000v2 input.phases
eq "get --csv" "$(printf 'name,value\ninput.phases,3')" "$out"

# --- cmd ----------------------------------------------------------------------
run "$OHM" cmd sim:bps2000v2 reset.energy.L1
check "energy reset (dangerous) without --yes and no terminal refused" \
	[ "$rc" -ne 0 ]
run "$OHM" -e 'local d = ohm.open("sim:bps2000v2")
assert(d:get("input.L1.energy") > 0)
assert(d:cmd("reset.energy.L1"))
print(d:get("input.L1.energy"))'
eq "energy reset clears the simulator's counter" "0" "$out"
run "$OHM" cmd sim:bps2000v2 device.factory_reset
check "dangerous cmd without --yes and no terminal refused" [ "$rc" -ne 0 ]
has "refusal says --yes is needed" "--yes" "$err"
run "$OHM" cmd sim:bps2000v2 no.such.cmd
eq "unknown command exits 1" 1 "$rc"
has "unknown command named" "'no.such.cmd'" "$err"

# --- set: validated before sending (independent pymodbus peer) ------------
port=$(free_port)
bg $PYTHON "$PEER" tcp "$port" --set 3=1234 --set 69=50,400 --set 21=0,300,0,0 \
	--log "$T/peer.log" 2> "$T/peer.err"
if wait_port "$port"; then
	U="modbus-tcp://127.0.0.1:$port?driver=bps2000v2"
	run "$OHM" get "$U" input.L1.current input.L1.current.high.critical
	eq "get from pymodbus peer" "$(printf 'input.L1.current: 12.34\ninput.L1.current.high.critical: 40')" "$out"
	run "$OHM" get "$U"
	eq "a var out of spec: exit 1" 1 "$rc"
	has "a var out of spec: named on stderr" "input.L1.energy" "$err"
	has "a var out of spec: the good ones print" "input.L1.current: 12.34" "$out"
	case "$out" in *"input.L1.energy:"*) nok "a var out of spec is not printed" ;;
	*) ok "a var out of spec is not printed" ;; esac
	: > "$T/peer.log"
	run "$OHM" set "$U" input.L1.current=5
	check "set of a read-only var fails" [ "$rc" -ne 0 ]
	has "read-only refusal says so" "read-only" "$err"
	run "$OHM" set "$U" input.L1.current.high.critical=99999
	eq "out-of-range value exits 1" 1 "$rc"
	has "out-of-range refusal names the var" "input.L1.current.high.critical" "$err"
	run "$OHM" set "$U" input.L1.current.high.critical=30 input.L2.current=1
	check "one bad assignment refuses all" [ "$rc" -ne 0 ]
	eq "nothing was written for refused sets" "" \
		"$(grep '^write' "$T/peer.log")"
	run "$OHM" set "$U" input.L1.current.high.critical=25
	eq "set of a threshold exits 0" 0 "$rc"
	has "set used one register write (function 06) of 250" "write 70 250" \
		"$(cat "$T/peer.log")"
	run "$OHM" get "$U" input.L1.current.high.critical
	eq "set then get round trip" "input.L1.current.high.critical: 25" "$out"
	: > "$T/peer.log"
	run "$OHM" cmd --yes "$U" reset.energy.L1
	eq "energy reset over modbus exits 1" 1 "$rc"
	has "energy reset over modbus: clear error" "not supported over modbus" \
		"$err"
	one_line "energy reset over modbus: one-line message"
	eq "energy reset over modbus sends nothing" "" \
		"$(grep '^write' "$T/peer.log")"
else
	nok "pymodbus peer did not start"
fi

# --- a failed read shows nothing as good ------------------------------------
port=$(free_port)
run "$OHM" get --timeout 1 --retries 0 -d bps2000v2 "modbus-tcp://127.0.0.1:$port"
eq "refused connection exits 1" 1 "$rc"
eq "refused connection: nothing on stdout" "" "$out"
one_line "refused connection: one-line message"

# --- inventory -----------------------------------------------------------------
cat > "$T/inv.lua" <<EOF
devices = {
  pdu1 = { uri = "sim:bps2000v2", auth_pass = "unused-by-modbus" },
  pdu2 = { uri = "modbus-tcp://127.0.0.1:$port", driver = "bps2000v2",
           password = "Inv3ntoryPW" },
}
EOF
run "$OHM" get --config "$T/inv.lua" pdu1 device.model
eq "inventory name via --config (an SNMP secret field on a non-SNMP device is not a URI parameter)" \
	"device.model: BPS2000v2" "$out"
run env OHM_CONFIG="$T/inv.lua" "$OHM" get pdu1 input.phases
eq "inventory name via \$OHM_CONFIG" "input.phases: 3" "$out"
run env OHM_CONFIG="$T/inv.lua" "$OHM" help --devices
eq "inventory names for completion" "$(printf 'pdu1\npdu2')" "$out"
run "$OHM" --config "$T/inv.lua" --timeout=5 get pdu1 device.model
eq "--config/--timeout before the command's name" \
	"device.model: BPS2000v2" "$out"
run "$OHM" get --config "$T/missing.lua" pdu1
eq "missing --config file exits 1" 1 "$rc"
has "missing --config file named" "missing.lua" "$err"
echo 'devices = {' > "$T/bad.lua"
run "$OHM" get --config "$T/bad.lua" pdu1
check "syntax error in the config fails" [ "$rc" -ne 0 ]
has "syntax error names the file" "bad.lua" "$err"
echo 'os.execute("touch '"$T"'/pwned")' > "$T/evil.lua"
run "$OHM" get --config "$T/evil.lua" pdu1
check "config runs sandboxed (no os.execute)" [ ! -e "$T/pwned" ]

# --- secrets never shown ---------------------------------------------------------
all=""
run "$OHM" get -v --config "$T/inv.lua" pdu2
all="$all$out$err"
check "inventory device with password: failure reported" [ "$rc" -ne 0 ]
run "$OHM" get -v -d bps2000v2 "modbus-tcp://admin:Ur1S3cret@127.0.0.1:$port"
all="$all$out$err"
has "URI password masked in the message" "***" "$err"
run "$OHM" get -d bps2000v2 "modbus-tcp://127.0.0.1:$port?auth_pass=Qu3ryS3cret"
all="$all$out$err"
run "$OHM" set -d bps2000v2 "modbus-tcp://admin:Ur1S3cret@127.0.0.1:$port" x
all="$all$out$err"
run "$OHM" list -d nosuch "modbus-tcp://admin:Ur1S3cret@127.0.0.1:$port"
all="$all$out$err"
case "$all" in
*Inv3ntoryPW* | *Ur1S3cret* | *Qu3ryS3cret*) nok "no password in any output"
	printf '    %s\n' "$all" ;;
*) ok "no password in any output" ;;
esac

# --- the user's own drivers --------------------------------------------------
mkdir -p "$T/drivers"
cat > "$T/drivers/mymeter.lua" <<'EOM'
return { name = "mymeter", desc = "my test meter", vars = {
  { name = "input.voltage", reg = 0, scale = 0.1, unit = "V", desc = "volts" },
  { name = "input.voltage.high.critical", reg = 1, scale = 0.1, unit = "V",
    access = "rw", min = 0, max = 300, desc = "alarm" },
} }
EOM
run env OHM_DRIVERS="$T/drivers" "$OHM" drivers
has "drivers lists the user's map" "mymeter" "$out"
has "the user's map has its description" "my test meter" "$out"
run env OHM_DRIVERS="$T/drivers" "$OHM" list -d mymeter modbus-tcp://127.0.0.1:1
eq "list of a user's map, offline" \
	"$(printf 'input.voltage V ro\ninput.voltage.high.critical V rw')" \
	"$(printf '%s\n' "$out" | awk '{print $1, $2, $3}')"

# --- confirmation on a terminal (expect drives a pty) --------------------------
if command -v expect > /dev/null; then
	cat > "$T/confirm.exp" <<'EOM'
set timeout 20
spawn -noecho {*}$argv
expect {
	-ex "proceed? \[y/N\]" { send "$env(ANSWER)\r" }
	timeout { puts "NO-PROMPT"; exit 9 }
}
expect eof
catch wait result
exit [lindex $result 3]
EOM
	ANSWER=n expect "$T/confirm.exp" "$OHM" cmd sim:bps2000v2 \
		device.factory_reset > "$T/exp.out" 2>&1
	rc=$?
	check "on a terminal, a dangerous command asks" \
		sh -c '! grep -q NO-PROMPT "$1"' - "$T/exp.out"
	eq "answering no refuses (exit 2)" 2 "$rc"
	ANSWER=y expect "$T/confirm.exp" "$OHM" cmd sim:bps2000v2 \
		device.factory_reset > "$T/exp.out" 2>&1
	rc=$?
	# the in-process simulator does a factory reset (its default thresholds)
	eq "answering yes goes on to the device (exit 0, the sim resets)" 0 "$rc"
	check "answering yes: no error from the device layer" \
		sh -c '! grep -q "^ohm:" "$1"' - "$T/exp.out"
else
	skip "confirmation on a terminal (no expect)"
fi

# --- -q: daemons leave out informational lines -------------------------------
port=$(free_port)
bg "$OHM" sim bps2000v2 -q --modbus-tcp "127.0.0.1:$port" 2> "$T/simq.err"
if wait_port "$port"; then
	run "$OHM" get -d bps2000v2 "modbus-tcp://127.0.0.1:$port" device.model
	eq "sim -q serves" "device.model: BPS2000v2" "$out"
	eq "sim -q prints no listening line" "" "$(cat "$T/simq.err")"
else
	nok "sim -q did not start"
fi

# --- unknown URI parameters are refused, never ignored -------------------------
run "$OHM" get -d bps2000v2 'modbus-tcp://127.0.0.1:1?unti=2'
eq "mistyped ?unit: usage error" 2 "$rc"
has "mistyped ?unit: named, with the known ones" "unknown parameter 'unti'" "$err"
run "$OHM" set 'sim:bps2000v2?unti=2' input.L1.current.high.critical=20
eq "sim: mistyped parameter refused before any write" 2 "$rc"
run "$OHM" get 'modbus-rtu:///dev/null?baud=9600&partiy=E' -d bps2000v2
has "rtu: mistyped parity named" "'partiy'" "$err"
