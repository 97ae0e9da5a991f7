#!/bin/sh
# The docs read the one map: the man page's bps2000v2 table is what the map
# says (scripts/gen-man-vars.sh --check), the page renders without warnings,
# and the bash completions offer what the binary knows.
. "$OHM_TOP/tests/lib.sh"
cd "$OHM_TOP"

# --- man page --------------------------------------------------------------
if sh scripts/gen-man-vars.sh "$OHM" bps2000v2 --check man/ohm.1 \
	2> "$T/gen.err"; then
	ok "man page bps2000v2 table matches the map"
else
	nok "man page bps2000v2 table matches the map"; cat "$T/gen.err"
fi
if sh scripts/gen-man-vars.sh "$OHM" ups-mib --check man/ohm.1 \
	2> "$T/gen.err"; then
	ok "man page ups-mib table matches the map"
else
	nok "man page ups-mib table matches the map"; cat "$T/gen.err"
fi
for d in pace pylontech cps-bm100; do
	if sh scripts/gen-man-vars.sh "$OHM" $d --check man/ohm.1 \
		2> "$T/gen.err"; then
		ok "man page $d table matches the map"
	else
		nok "man page $d table matches the map"; cat "$T/gen.err"
	fi
done
eq "the cps-bm100 table shows each block var once, by S and B" 1 \
	"$(sed -n '/@VARS cps-bm100 BEGIN@/,/@VARS cps-bm100 END@/p' man/ohm.1 |
		grep -c '^battery.string.S.block.B.resistance.health@')"
eq "the pace table shows each repeated group once" 1 \
	"$(sed -n '/@VARS pace BEGIN@/,/@VARS pace END@/p' man/ohm.1 |
		grep -c '^battery.pack.P.cell.C.voltage@')"
LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l man/ohm-maps.5 > "$T/maps.txt" \
	2> "$T/maps.err"
eq "ohm-maps(5) renders without warnings" "" "$(cat "$T/maps.err")"
has "ohm-maps(5) documents repeated groups" "REPEATED GROUPS" \
	"$(cat "$T/maps.txt")"
# a changed map must make the check fail: fake one with an extra var
mkdir -p "$T/drivers"
cat > "$T/drivers/bps2000v2x.lua" <<'EOF'
return { name = "bps2000v2x", desc = "test", vars = {
  { name = "input.L1.current", reg = 3, scale = 0.01, unit = "A", desc = "c" },
} }
EOF
sed 's/@VARS bps2000v2 /@VARS bps2000v2x /' man/ohm.1 > "$T/ohm.1"
if OHM_DRIVERS="$T/drivers" sh scripts/gen-man-vars.sh "$OHM" bps2000v2x \
	--check "$T/ohm.1" 2> /dev/null; then
	nok "the man check notices a table that differs from the map"
else
	ok "the man check notices a table that differs from the map"
fi
OHM_DRIVERS="$T/drivers" sh scripts/gen-man-vars.sh "$OHM" bps2000v2x \
	--update "$T/ohm.1"
check "regenerated from the changed map, the check passes" env \
	OHM_DRIVERS="$T/drivers" sh scripts/gen-man-vars.sh "$OHM" bps2000v2x \
	--check "$T/ohm.1"
eq "the regenerated table holds the changed map's one variable" 1 \
	"$(sed -n '/@VARS bps2000v2x BEGIN@/,/@VARS bps2000v2x END@/p' \
		"$T/ohm.1" | grep -c '@ro@')"
LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l man/ohm.1 > "$T/man.txt" \
	2> "$T/man.err"
eq "man page renders without warnings" "" "$(cat "$T/man.err")"
man=$(cat "$T/man.txt")
for s in SYNOPSIS COMMANDS OPTIONS "EXIT STATUS" ENVIRONMENT FILES EXAMPLES; do
	has "man page has $s" "$s" "$man"
done
has "man page lists a bps2000v2 register" "input.L1.current.high.critical" "$man"
for m in SNMP CONSOLE UPGRADE FLEET; do
	check "man page keeps the @$m@ marker" grep -q "@$m@" man/ohm.1
done

# --- usage lines: `ohm help CMD` (the command table) says what CMD --help says
bad=""
for c in $("$OHM" help --commands); do
	[ "$("$OHM" help "$c" | head -n 1)" = "$("$OHM" "$c" --help | head -n 1)" ] ||
		bad="$bad $c"
done
eq "ohm help CMD and ohm CMD --help give the same usage" "" "$bad"

# --- bash completion ----------------------------------------------------------
if command -v bash > /dev/null; then
	cat > "$T/inv.lua" <<'EOF'
devices = { pdu1 = { uri = "sim:bps2000v2" }, rack7 = "sim:bps2000v2" }
EOF
	cat > "$T/comp.bash" <<'EOF'
source "$OHM_TOP/completions/ohm.bash"
comp() {
	COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
	COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
	COMPREPLY=(); _ohm
	printf '%s\n' "${COMPREPLY[@]}" | sed 's/ $//' | sort | tr '\n' ' '; echo
}
comp "$OHM" g
comp "$OHM" get -d b
comp "$OHM" get --config "$T/inv.lua" r
comp "$OHM" get sim:bps2000v2 input.L1.current.s
comp "$OHM" set sim:bps2000v2 input.L1.current.h
comp "$OHM" cmd sim:bps2000v2 reset.energy.L
comp "$OHM" cmd -d bps2000v2 telnet://127.0.0.1:1 reset.energy.L
comp "$OHM" cmd -d bps2000v2 modbus-tcp://127.0.0.1:1 reset.energy.L
EOF
	T=$T bash "$T/comp.bash" > "$T/comp.out" 2>&1
	eq "completes subcommands" "get " "$(sed -n 1p "$T/comp.out")"
	eq "completes drivers after -d" "bps2000v2 " "$(sed -n 2p "$T/comp.out")"
	eq "completes inventory names" "rack7 " "$(sed -n 3p "$T/comp.out")"
	eq "completes variables for get" "input.L1.current.status " \
		"$(sed -n 4p "$T/comp.out")"
	eq "completes writable variables for set" \
		"input.L1.current.high.critical= " "$(sed -n 5p "$T/comp.out")"
	eq "completes commands for cmd" \
		"reset.energy.L1 reset.energy.L2 reset.energy.L3 " \
		"$(sed -n 6p "$T/comp.out")"
	eq "completes commands for cmd over telnet" \
		"reset.energy.L1 reset.energy.L2 reset.energy.L3 " \
		"$(sed -n 7p "$T/comp.out")"
	eq "completion offers no command Modbus cannot carry" "" \
		"$(sed -n 8p "$T/comp.out" | tr -d ' ')"
else
	skip "bash completion (no bash)"
fi
