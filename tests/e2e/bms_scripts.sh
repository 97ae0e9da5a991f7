#!/bin/sh
# Battery banks read by scripts and Lua (issue 13): the cell-balance audit
# exits 3 when a pack's cell delta is above the limit (a runaway cell in
# the simulator), 0 when every pack is within it, 1 for a device it cannot
# read; Lua reaches a cell by integer path parts.
. "$OHM_TOP/tests/lib.sh"
A="$OHM_TOP/scripts/cell-balance-audit.lua"

"$OHM" "$A" "sim:pace?packs=2&runaway=5" > "$T/out" 2> "$T/err"
eq "cell-balance-audit: a runaway cell exits 3" 3 "$?"
eq "cell-balance-audit: pack 0 is over, at cell 5" \
	"sim:pace?packs=2&runaway=5,0,16,3.320,3.660,340,1,5,over" \
	"$(grep '^sim:pace?packs=2&runaway=5,0,' "$T/out")"
eq "cell-balance-audit: pack 1 is ok" "ok" \
	"$(grep '^sim:pace?packs=2&runaway=5,1,' "$T/out" | cut -d, -f9)"

"$OHM" "$A" "sim:pylontech?packs=3" > "$T/out" 2> "$T/err"
eq "cell-balance-audit: a balanced bank exits 0" 0 "$?"
eq "cell-balance-audit: one line per pack" 4 "$(wc -l < "$T/out")"

"$OHM" "$A" --max-delta 2 "sim:pylontech?packs=1" > "$T/out" 2> "$T/err"
eq "cell-balance-audit: --max-delta 2 mV finds the normal spread" 3 "$?"

"$OHM" "$A" --timeout 0.2 "serial://$T/none?driver=pace" > "$T/out" \
	2> "$T/err"
eq "cell-balance-audit: an unreadable device exits 1" 1 "$?"
eq "cell-balance-audit: one line on stderr" 1 "$(wc -l < "$T/err")"

out=$("$OHM" -e 'local b = assert(ohm.open("sim:pace?packs=2"))
print(b.battery.pack[1].cell[5].voltage ==
      b:get("battery.pack.1.cell.5.voltage"), b.battery.packs + 0)' 2>&1)
eq "Lua: bank.battery.pack[1].cell[5].voltage by integer parts" "true	2" \
	"$out"
