#!/bin/sh
# contrib/ohm.service: systemd-analyze accepts it (with this build's binary
# in ExecStart), it runs `ohm serve` and reloads with SIGHUP.
. "$OHM_TOP/tests/lib.sh"
unit="$OHM_TOP/contrib/ohm.service"
check "unit runs ohm serve" grep -q '^ExecStart=.*ohm serve ' "$unit"
check "reload sends SIGHUP" grep -q '^ExecReload=/bin/kill -HUP \$MAINPID' "$unit"
if ! command -v systemd-analyze >/dev/null 2>&1; then
	skip "systemd-analyze verify (not installed)"
	exit 0
fi
sed -e "s|/usr/local/bin/ohm|$OHM|" -e '/^Documentation=/d' "$unit" \
	> "$T/ohm.service"
out=$(systemd-analyze verify "$T/ohm.service" 2>&1)
eq "systemd-analyze verify finds nothing" "" "$out"
