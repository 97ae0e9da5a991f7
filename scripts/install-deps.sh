#!/bin/sh
# Install the Debian packages ohm needs to build, test and benchmark.
# Idempotent: does nothing when everything is already installed.
set -eu

BUILD="gcc make pkg-config clang clang-format libclang-rt-14-dev
  liblua5.4-dev lua5.4 libmodbus-dev libsnmp-dev libserialport-dev
  libtelnet-dev libcurl4-openssl-dev libreadline-dev libmosquitto-dev"
TEST="python3 python3-pymodbus python3-serial python3-serial-asyncio mbpoll socat expect
  snmp snmpd snmpsim mosquitto mosquitto-clients tftpd-hpa tftp-hpa
  python3-pyftpdlib curl nut-client nut-server nut-snmp python3-nut prometheus
  python3-prometheus-client hyperfine valgrind iproute2 tmux man-db
  python3-aiosmtpd snmptrapd strace lua-cjson"

missing=""
for p in $BUILD $TEST; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed' ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0

echo "install-deps: installing:$missing" >&2
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
# Package scripts must not start system daemons (snmpd, tftpd-hpa) on
# well-known ports: the tests start their own on loopback. A policy-rc.d
# the machine already has (container images ship one) is left alone.
if [ ! -e /usr/sbin/policy-rc.d ]; then
	$SUDO sh -c 'printf "#!/bin/sh\nexit 101\n" > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d'
	# removed however apt-get ends
	trap '$SUDO rm -f /usr/sbin/policy-rc.d' EXIT
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq || true
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
