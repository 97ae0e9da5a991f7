#!/bin/sh
# Issue 9, "The shell and Lua" and "Commands and errors": did-you-mean for
# commands, drivers and variables; -v is verbosity, --version the version;
# unfinished input reports as lua.c does; ohm.drivers()/ohm.devices() see
# user drivers, the sim transport and sim: devices' drivers; a broken user
# map's error names its file. Peer: the built-in simulator (sim:bps2000v2).
. "$OHM_TOP/tests/lib.sh"
SIM=sim:bps2000v2
run() {
	"$@" > "$T/out" 2> "$T/err" < /dev/null
	rc=$?
	out=$(cat "$T/out"); err=$(cat "$T/err")
}
lacks() {
	case "$3" in *"$2"*) nok "$1"; printf '    unwanted: %s\n    in: %s\n' "$2" "$3" ;;
	*) ok "$1" ;; esac
}

# --- a mistyped command -----------------------------------------------------
run "$OHM" gett $SIM
eq "ohm gett exits 2" 2 "$rc"
eq "ohm gett: unknown command, did you mean get" \
	"ohm: unknown command 'gett' (did you mean get?)" "$err"
run "$OHM" -v gett $SIM
eq "ohm -v gett: unknown command too" "ohm: unknown command 'gett' (did you mean get?)" "$err"
run "$OHM" lsit $SIM
has "ohm lsit suggests list" "did you mean list?" "$err"
cd "$T" && printf 'print("script ran")\n' > gett && run "$OHM" gett && cd - > /dev/null
eq "a file named like a typo still runs as a script" "script ran" "$out"

# --- -v is verbose, --version the version -----------------------------------
run "$OHM" -v get $SIM input.phases
eq "ohm -v get exits 0" 0 "$rc"
eq "ohm -v get prints the reading, not the version" "input.phases: 3" "$out"
run "$OHM" -vv get $SIM input.phases
eq "ohm -vv get exits 0" 0 "$rc"
run "$OHM" get -vv $SIM input.phases
eq "ohm get -vv exits 0" 0 "$rc"
run "$OHM" -v -e 'print("chunk")'
eq "ohm -v -e runs the chunk, no version" "chunk" "$out"
run "$OHM" --version
has "--version prints the version" "ohm " "$out"

# --- unfinished input ---------------------------------------------------------
printf 'for i=1,2 do\n' | "$OHM" > "$T/out" 2> "$T/err"; rc=$?
eq "unfinished chunk on stdin exits 1" 1 "$rc"
eq "unfinished chunk: lua.c's message" "ohm: stdin:1: 'end' expected near <eof>" "$(cat "$T/err")"
printf 'x = 2\nfor i=1,x do\n\nprint(i)\nend\n' | "$OHM" > "$T/out" 2> "$T/err"
eq "a finished multi-line chunk runs" "1
2" "$(cat "$T/out")"

# --- drivers: suggestions, user maps, a broken map names its file ---------------
run "$OHM" get -d bps2000 $SIM
has "-d bps2000 suggests bps2000v2" "did you mean bps2000v2?" "$err"
mkdir -p "$T/drivers"
printf 'return { name = "broken", vars = {\n' > "$T/drivers/broken.lua"
cp "$OHM_TOP/devices/bps2000v2/map.lua" "$T/drivers/mymap.lua"
sed -i 's/name = "bps2000v2"/name = "mymap"/' "$T/drivers/mymap.lua"
OHM_DRIVERS=$T/drivers run "$OHM" get -d broken $SIM
eq "a broken user map exits 1" 1 "$rc"
has "a broken user map's error names its file" "$T/drivers/broken.lua" "$err"
OHM_DRIVERS=$T/drivers run "$OHM" -e 'local d, t = ohm.drivers()
print(table.concat(d, " ")); print(table.concat(t, " "))'
has "ohm.drivers() lists user drivers" "mymap" "$out"
has "ohm.drivers() lists the broken user driver too (as ohm drivers)" "broken" "$out"
has "ohm.drivers() lists the sim transport" " sim" "$out"
printf '.drivers\n' | OHM_DRIVERS=$T/drivers "$OHM" > "$T/out" 2>&1
has ".drivers lists user drivers" "mymap" "$(cat "$T/out")"
has ".drivers lists the sim transport" "sim" "$(cat "$T/out")"

# --- ohm.devices(): the driver of sim: devices -----------------------------------
printf 'devices = { rack = { uri = "sim:bps2000v2" }, ups = { uri = "sim:ups-mib?unit=1" } }\n' > "$T/inv.lua"
OHM_CONFIG=$T/inv.lua run "$OHM" -e 'for _, d in ipairs(ohm.devices()) do print(d.name, d.driver) end'
has "ohm.devices() shows sim:bps2000v2's driver" "rack	bps2000v2" "$out"
has "ohm.devices() shows sim:ups-mib's driver (without the query)" "ups	ups-mib" "$out"

# --- variables: suggestions ----------------------------------------------------
run "$OHM" get $SIM input.L1.curent
eq "get of a misspelt variable fails" 1 "$rc"
has "get input.L1.curent suggests input.L1.current" "did you mean input.L1.current?" "$err"
run "$OHM" get $SIM input.l1.current
has "get input.l1.current suggests the right case" "did you mean input.L1.current?" "$err"
run "$OHM" set $SIM input.L1.current.high.criticl=20
has "set of a misspelt variable suggests" "did you mean input.L1.current.high.critical?" "$err"
run "$OHM" get --jsn $SIM
eq "a misspelt option exits 2" 2 "$rc"
has "a misspelt option suggests the nearest" "unknown option '--jsn' (did you mean --json?)" "$err"
# commands with options of their own (shell/opts.c sh_parse_own)
run "$OHM" config diff --jbs 2 f d
eq "config: a misspelt own option exits 2" 2 "$rc"
eq "config: it suggests the nearest of its own" "ohm: config: unknown option '--jbs' (did you mean --jobs?)" "$err"
run "$OHM" push --bogus x
has "push: an unknown option is refused with its usage" "ohm: push: bad option '--bogus'; usage: ohm push --file CONFIG" "$err"
run "$OHM" upgrade --fle x --yes t
has "upgrade: a misspelt option suggests" "unknown option '--fle' (did you mean --file?)" "$err"
printf 'devices = { rack1 = { uri = "sim:bps2000v2" } }\n' > "$T/inv1.lua"
OHM_CONFIG=$T/inv1.lua run "$OHM" get rakc1
has "a misspelt inventory name suggests the nearest" "did you mean rack1?" "$err"

# --- REPL tables: numbers right-aligned ------------------------------------------
run "$OHM" -e 'print(ohm.format({a = 1, bb = 22.5, c = "x"}))'
eq "format: numbers right-aligned, text left" "a      1
bb  22.5
c   x" "$out"
run "$OHM" -e 'print(ohm.format({{name = "a", n = 1}, {name = "bb", n = 100}}))'
eq "format of records: number column right-aligned" "NAME    N
a       1
bb    100" "$out"
run "$OHM" -e 'local t = ohm.open("sim:bps2000v2"):get()
local s = tostring(t)
print(s:match("\ninput%.phases[^\n]*"):find("3$"), s:match("\ninput%.energy%.apparent +[%d.]+"):len())'
set -- $out
eq "get() table: a number ends where the widest number does" "$1" "$2"

# --- exit codes as the man page says ----------------------------------------------
run "$OHM" get foo://127.0.0.1
eq "a bad URI scheme is a usage error (2)" 2 "$rc"
run "$OHM" get modbus-tpc://127.0.0.1
has "a misspelt scheme suggests the nearest" "did you mean modbus-tcp?" "$err"
run "$OHM" get "modbus-tcp://127.0.0.1?bogus=1"
eq "a bad URI parameter is a usage error (2)" 2 "$rc"
run "$OHM" upgrade --file "$T/no-such-firmware.bin" --yes tftp://127.0.0.1
eq "a missing firmware file exits 1" 1 "$rc"
has "a missing firmware file is named" "no-such-firmware.bin" "$err"
for c in get poll drivers; do
	if [ $c = drivers ]; then run "$OHM" $c --json --csv
	else run "$OHM" $c --json --csv $SIM; fi
	eq "$c --json --csv is a usage error (2)" 2 "$rc"
	has "$c --json --csv says why" "--json and --csv together" "$err"
done

# --- help: every command's page ------------------------------------------------
for c in $("$OHM" help --commands); do
	run "$OHM" $c --help
	eq "$c --help exits 0" 0 "$rc"
	has "$c --help: usage" "usage: ohm $c" "$out"
	desc=$(printf '%s\n' "$out" | sed -n 2p)
	check "$c --help: a one-line description" test -n "$desc"
	n=$(printf '%s\n' "$out" | sed -n '/^examples:/,/^options:/p' | grep -c "^  ohm $c")
	eq "$c --help: two examples" 2 "$n"
	has "$c --help: its options" "options:" "$out"
	case $c in help|drivers) ;;
	*) case "$out" in *URI*|*"://"*|*ADDR:*) ok "$c --help: the URI forms it takes" ;;
		*) nok "$c --help: the URI forms it takes" ;; esac ;;
	esac
	run "$OHM" help $c
	eq "ohm help $c prints the same page" "$(cd "$T" && "$OHM" $c --help)" "$out"
done
run "$OHM" get --help
lacks "get --help does not list --yes" "--yes" "$out"
lacks "get --help does not list --quiet" "--quiet" "$out"
run "$OHM" drivers --help
lacks "drivers --help does not list --driver" "--driver" "$out"
lacks "drivers --help does not list --timeout" "--timeout" "$out"
run "$OHM" serve sim:bps2000v2
eq "serve without a listener: usage error" 2 "$rc"
has "serve without a listener says which options are missing" \
	"give --nut ADDR, --prometheus ADDR, --telnet ADDR, --snmp ADDR" "$err"

# --- did you mean, everywhere a name is rejected ------------------------------------
run "$OHM" --verison
eq "a misspelt Lua-side option exits 2" 2 "$rc"
has "a misspelt Lua-side option suggests" "did you mean --version?" "$err"
run "$OHM" poll --jbos 2 $SIM
eq "poll: a misspelt option exits 2" 2 "$rc"
has "poll: a misspelt option suggests" "did you mean --jobs?" "$err"
run "$OHM" upgrade --fiel x tftp://127.0.0.1
has "upgrade: a misspelt option suggests" "did you mean --file?" "$err"
run "$OHM" cmd $SIM reset.energy.L4
has "cmd: a misspelt command suggests" "did you mean reset.energy.L1?" "$err"
run "$OHM" help gett
has "help: a misspelt command suggests" "did you mean get?" "$err"
printf '.opne x y\n' | "$OHM" > "$T/out" 2> "$T/err"
has "a misspelt dot-command suggests" "did you mean .open?" "$(cat "$T/err")"
OHM_CONFIG=$T/inv1.lua run "$OHM" upgrade --file "$T/inv1.lua" --dry-run rakc1
has "upgrade: a misspelt inventory name suggests" "did you mean rack1?" "$err"
run "$OHM" -e 'local d = ohm.open("sim:bps2000v2"); print(pcall(d.cmd, d, "reset.energy.l1"))'
has "dev:cmd with a misspelt command suggests" "did you mean reset.energy.L1?" "$out"
