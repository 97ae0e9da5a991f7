#!/bin/sh
# ohm as a script interpreter (lua(1) conventions): `arg` laid out exactly
# as lua5.4 lays it out, -e, - (stdin), a #!/usr/bin/env ohm script, the
# error format and exit codes, os.exit, piped statements, --help/-v, and
# scripts/energy-report.lua, threshold-audit.lua and threshold-drift.lua
# against the simulator (in process and as an `ohm sim` peer named in an
# inventory).
. "$OHM_TOP/tests/lib.sh"
cd "$T"

# arg layout, compared with lua5.4 itself running the same script
cat > args.lua <<'LUA'
local lo = 0
while arg[lo - 1] do lo = lo - 1 end
local t = {}
for i = lo + 1, #arg do t[#t + 1] = i .. "=" .. arg[i] end
print(lo, table.concat(t, " "), select("#", ...), ...)
LUA
want=$(lua5.4 -e 'x=1' args.lua one "two words" 2>&1)
got=$($OHM -e 'x=1' args.lua one "two words" 2>&1)
eq "arg table as lua(1): -e before the script" "$want" "$got"
want=$(lua5.4 args.lua 2>&1); got=$($OHM args.lua 2>&1)
eq "arg table as lua(1): no arguments" "$want" "$got"
want=$(lua5.4 -- args.lua -x 2>&1); got=$($OHM -- args.lua -x 2>&1)
eq "arg table as lua(1): after --" "$want" "$got"
got=$($OHM args.lua a b | cut -f1)
eq "arg[-1] is the interpreter" "-1" "$got"

eq "-e runs a chunk" "42" "$($OHM -e 'print(6*7)')"
eq "several -e in order" "1
2" "$($OHM -e 'print(1)' -e 'print(2)')"
eq "- reads the script from stdin with args" "a	b" \
	"$(echo 'print(...)' | $OHM - a b)"
eq "ohm module preloaded in -e" "function" "$($OHM -e 'print(type(ohm.open))')"

# shebang script found through PATH, as cron would run it
mkdir -p bin && ln -s "$OHM" bin/ohm
printf '#!/usr/bin/env ohm\nprint("shebang", ...)\n' > sb.lua
chmod +x sb.lua
eq "#!/usr/bin/env ohm script" "shebang	x" "$(PATH="$T/bin:$PATH" ./sb.lua x)"

# errors
printf 'local x = nil\nprint(x.y)\n' > err.lua
$OHM err.lua > out 2> errout; rc=$?
eq "uncaught error exits 1" "1" "$rc"
eq "error line is ohm: SCRIPT:LINE: message" \
	"ohm: err.lua:2: attempt to index a nil value (local 'x')" \
	"$(head -n 1 errout)"
has "error has a traceback" "stack traceback:" "$(cat errout)"
eq "nothing on stdout" "" "$(cat out)"
printf 'x = = 1\n' > syn.lua
$OHM syn.lua 2> errout; rc=$?
eq "syntax error exits 1" "1" "$rc"
has "syntax error names script and line" "ohm: syn.lua:1:" "$(cat errout)"
$OHM nosuch.lua 2> errout; rc=$?
eq "missing script exits 1" "1" "$rc"
has "missing script message" "ohm: cannot open nosuch.lua" "$(cat errout)"
$OHM -e 'error("boom")' 2> errout; rc=$?
eq "error in -e exits 1" "1" "$rc"
has "error in -e message" "ohm: (command line):1: boom" "$(cat errout)"
$OHM -e 'error({})' 2> errout; rc=$?
has "non-string error object" "ohm: (error object is a table value)" \
	"$(cat errout)"
$OHM -e 'os.exit(3)'; eq "os.exit(3) exits 3" "3" "$?"
$OHM -e 'os.exit(true)'; eq "os.exit(true) exits 0" "0" "$?"
$OHM -e 'os.exit(false)'; eq "os.exit(false) exits 1" "1" "$?"
$OHM -x 2> errout; rc=$?
eq "unknown option exits 2" "2" "$rc"
has "unknown option message" "ohm: unrecognized option '-x'" "$(cat errout)"

# piped statements (no terminal): results printed, no prompts
out=$(printf '1+1\nx = 2\nx * 3\n"s"\n' | $OHM)
eq "piped statements print expression results" "2
6
s" "$out"
printf 'error("bad")\nprint("after")\n' | $OHM > out 2> errout; rc=$?
eq "piped input continues after an error" "after" "$(cat out)"
eq "piped input with an error exits 1" "1" "$rc"
has "piped error message" "bad" "$(cat errout)"
out=$(printf 'function f(a)\n  return a + 1\nend\nf(1)\n' | $OHM)
eq "piped multi-line function" "2" "$out"
out=$(printf '.mode json\n{x = 1}\n' | $OHM)
eq "piped dot-command" '{"x": 1}' "$out"

has "--version prints the version" "ohm " "$($OHM --version)"
has "--help lists subcommands" "get" "$($OHM --help)"
has "--help lists -e" "-e CHUNK" "$($OHM --help)"

# energy-report.lua against the in-process simulator
R="$OHM_TOP/scripts/energy-report.lua"
$OHM "$R" sim:bps2000v2 > csv 2> errout; rc=$?
eq "energy-report exits 0" "0" "$rc"
eq "energy-report header" "device,phase,kwh,kvah,timestamp" "$(head -n 1 csv)"
n=$(grep -cE '^sim:bps2000v2,(L1|L2|L3|total),[0-9]+\.[0-9]{3},[0-9]+\.[0-9]{3},[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$' csv)
eq "energy-report: four well-formed rows" "4" "$n"
check "energy-report: total is the sum of the phases" awk -F, '
	NR > 1 && $2 != "total" { s += $3 } $2 == "total" { t = $3 }
	END { d = s - t; exit !(NR == 5 && d < 0.01 && d > -0.01) }' csv
eq "energy-report: nothing on stderr" "" "$(cat errout)"

# energy-report across an inventory: one good `ohm sim` peer, one refused
port=$(free_port)
bg $OHM sim bps2000v2 --modbus-tcp 127.0.0.1:$port
wait_port "$port" tcp 10 || nok "ohm sim peer listens"
cat > inv.lua <<LUA
devices = {
  good = { uri = "modbus-tcp://127.0.0.1:$port", driver = "bps2000v2" },
  down = { uri = "modbus-tcp://127.0.0.1:1", driver = "bps2000v2" },
  ups = { uri = "snmp://public@127.0.0.1:1", driver = "ups-mib" },
}
LUA
$OHM --config inv.lua "$R" --timeout 2 > csv 2> errout; rc=$?
eq "energy-report with a failed device exits 1" "1" "$rc"
eq "energy-report: the good device's rows" "4" "$(grep -c '^good,' csv)"
has "energy-report: the failed device on stderr" "energy-report: down:" \
	"$(cat errout)"
case "$(cat errout csv)" in
*ups*) nok "energy-report: a UPS in the inventory is left out, not failed" ;;
*) ok "energy-report: a UPS in the inventory is left out, not failed" ;;
esac
has "energy-report: 1 of the 2 meters failed" "1 of 2 devices failed" \
	"$(cat errout)"
OHM_CONFIG=inv.lua $OHM "$R" --timeout 1 ups > csv 2> errout; rc=$?
eq "energy-report of a named UPS fails" "1" "$rc"
OHM_CONFIG=inv.lua $OHM "$R" good > csv 2> errout; rc=$?
eq "energy-report of a named device exits 0" "0" "$rc"
eq "energy-report: named device rows" "4" "$(grep -c '^good,' csv)"

# threshold-audit.lua: defaults comply, a stricter policy finds the
# simulator's 253 V limits, a low limit raised to its high one is found
A="$OHM_TOP/scripts/threshold-audit.lua"
$OHM "$A" sim:bps2000v2 > out 2> errout; rc=$?
eq "threshold-audit: the simulator's defaults comply" "0" "$rc"
eq "threshold-audit: only the header" "device,variable,value,problem" "$(cat out)"
printf 'return { { var = "voltage%%.high%%.critical$", min = 240, max = 250 } }\n' \
	> pol.lua
$OHM "$A" --policy pol.lua sim:bps2000v2 > out 2> errout; rc=$?
eq "threshold-audit: out of policy exits 3" "3" "$rc"
eq "threshold-audit: one finding per phase" "3" \
	"$(grep -cE '^sim:bps2000v2,input\.L[123]-N\.voltage\.high\.critical,253,outside 240\.\.250$' out)"
$OHM -e "local d = assert(ohm.open('modbus-tcp://127.0.0.1:$port',
	{driver = 'bps2000v2'})) assert(d:set('input.L2.current.low.critical', 16))"
$OHM --config inv.lua "$A" good > out 2> errout; rc=$?
eq "threshold-audit: a bad low limit exits 3" "3" "$rc"
has "threshold-audit: low not below high" \
	"good,input.L2.current.low.critical,16,not below input.L2.current.high.critical (16)" \
	"$(cat out)"
$OHM --config inv.lua "$A" > out 2> errout; rc=$?
eq "threshold-audit: an unreachable device exits 1" "1" "$rc"
has "threshold-audit: the unreachable device on stderr" "threshold-audit: down:" \
	"$(cat errout)"
printf 'return 5\n' > badpol.lua
$OHM "$A" --policy badpol.lua sim:bps2000v2 2> errout; rc=$?
eq "threshold-audit: a bad policy is a usage error" "2" "$rc"

# threshold-drift.lua: the `good` peer's L2 low limit is 16 A now (above);
# against a saved reference and against the other units' majority
D="$OHM_TOP/scripts/threshold-drift.lua"
$OHM "$D" sim:bps2000v2 > out 2> errout; rc=$?
eq "threshold-drift: one default unit, no drift" "0 device,variable,value,reference" \
	"$rc $(cat out)"
$OHM config save sim:bps2000v2 -o ref.lua 2> errout
$OHM --config inv.lua "$D" --reference ref.lua good > out 2> errout; rc=$?
eq "threshold-drift: drift from the reference exits 3" "3" "$rc"
eq "threshold-drift: the drifted threshold, its value and the reference's" \
	"good,input.L2.current.low.critical,16,0" "$(sed 1d out)"
cat > inv2.lua <<LUA
devices = {
  a = { uri = "sim:bps2000v2" }, b = { uri = "sim:bps2000v2" },
  good = { uri = "modbus-tcp://127.0.0.1:$port", driver = "bps2000v2" },
}
LUA
$OHM --config inv2.lua "$D" > out 2> errout; rc=$?
eq "threshold-drift: across the inventory, the odd unit out" \
	"3 good,input.L2.current.low.critical,16,0" "$rc $(sed 1d out)"
$OHM --config inv.lua "$D" --timeout 1 --reference ref.lua > out 2> errout; rc=$?
eq "threshold-drift: an unreachable device exits 1" "1" "$rc"
has "threshold-drift: the unreachable device on stderr" "threshold-drift: down:" \
	"$(cat errout)"
has "threshold-drift: the others still compared" "good,input.L2.current.low.critical" \
	"$(cat out)"
printf 'return { values = {} }\n' > badref.lua
$OHM "$D" --reference badref.lua sim:bps2000v2 2> errout; rc=$?
eq "threshold-drift: a bad reference is a usage error" "2" "$rc"
has "threshold-drift: says what is wrong with it" "no 'driver'" "$(cat errout)"

$OHM "$R" "modbus-tcp://admin:s3cret@127.0.0.1:1?driver=bps2000v2" \
	> csv 2> errout
case "$(cat csv errout)" in
*s3cret*) nok "energy-report never prints a password" ;;
*) ok "energy-report never prints a password" ;;
esac
