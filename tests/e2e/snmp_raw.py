"""`ohm snmp get/set` against net-snmp's snmpd, compared line for line with
snmpget/snmpset -On: several OIDs in one GET, a missing object (printed as
snmpget does, exit status 1), a SET with snmpset's type letter read back
by snmpget, --json, writes refused without --yes, a bad type letter."""
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.environ["OHM_TOP"], "tests"))
from lib import T, ohm, free_port, run  # noqa: E402
import snmplib  # noqa: E402

TMP = os.environ.get("TMPDIR", "/tmp")
DESCR, NAME, CONTACT = (".1.3.6.1.2.1.1.1.0", ".1.3.6.1.2.1.1.5.0",
                        ".1.3.6.1.2.1.1.4.0")


def snmpget(port, community, *oids):
    r = subprocess.run(["snmpget", "-v2c", "-c", community, "-On", "-m", "",
                        "127.0.0.1:%d" % port, *oids],
                       capture_output=True, text=True, timeout=20)
    return r.stdout


def main():
    d = os.path.join(TMP, "ohm-snmpraw-%d" % os.getpid())
    os.makedirs(d, exist_ok=True)
    port = free_port("udp")
    proc = snmplib.start_snmpd(d, port)
    try:
        pub = "snmp://public@127.0.0.1:%d" % port
        prv = "snmp://private@127.0.0.1:%d" % port
        r = ohm("snmp", "get", pub, DESCR, NAME)
        T.ok(r.returncode == 0 and r.stdout == snmpget(port, "public", DESCR,
                                                        NAME),
             "snmp get: two OIDs, as snmpget -On", r.stdout + r.stderr)
        r = ohm("snmp", "get", pub, DESCR, ".1.3.6.1.2.1.1.99.0")
        T.ok(r.returncode == 1 and r.stdout == snmpget(
            port, "public", DESCR, ".1.3.6.1.2.1.1.99.0"),
            "snmp get: a missing object as snmpget prints it, exit 1",
            r.stdout + r.stderr)
        r = ohm("snmp", "get", "--json", pub, NAME)
        T.ok(r.returncode == 0 and json.loads(r.stdout) ==
             [{"oid": NAME, "type": "STRING", "value": "ohmtest"}],
             "snmp get --json", r.stdout)
        r = ohm("snmp", "set", prv, CONTACT, "s", "ops@example")
        T.ok(r.returncode != 0 and "--yes" in r.stderr and
             "ops@example" not in snmpget(port, "public", CONTACT),
             "snmp set refused without --yes and a terminal", r.stderr)
        r = ohm("snmp", "set", "--yes", prv, CONTACT, "s", "ops@example")
        after = snmpget(port, "public", CONTACT)
        T.ok(r.returncode == 0 and r.stdout == after and
             'STRING: "ops@example"' in after,
             "snmp set with type s: snmpget reads it back, printed as it",
             r.stdout + r.stderr + after)
        r = ohm("snmp", "set", "--yes", prv, CONTACT, "str", "x")
        T.ok(r.returncode == 2 and "bad type" in r.stderr and
             r.stderr.count("\n") == 1, "a bad type letter: usage error",
             r.stderr)
        r = ohm("snmp", "set", "--yes", pub, CONTACT, "s", "x")
        T.ok(r.returncode == 1 and r.stderr.count("\n") == 1 and
             r.stdout == "", "a refused set (read-only community): one line",
             r.stderr)
    finally:
        snmplib.stop(proc)


run(main)
