"""`ohm scan`: a python3-pymodbus RTU bus on a socat pty answering units 1,
7 and 42 is found exactly; three snmpsim agents on 127.0.0.1-3 (BKT
BPS2000v2, UPS-MIB, and a BM100-like battery manager described by a user
map's signature) are each named with the right driver, from the maps'
signatures; --json; the snippet is an inventory ohm reads; nothing found
is an error."""
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.environ["OHM_TOP"], "tests"))
from lib import T, ohm, free_port, PY, procs, run, wait_file  # noqa: E402
import snmplib  # noqa: E402

TOP = os.environ["OHM_TOP"]
TMP = os.environ.get("TMPDIR", "/tmp")
BM = "1.3.6.1.4.1.3808.1.1.6"  # BM100-like: Cyber (3808) battery manager

BM_MAP = """return { name = "bm100-like", desc = "battery manager (test)",
  signature = { oid = ".%s.1.1.0", sysobjectid = ".1.3.6.1.4.1.3808" },
  vars = { { name = "battery.voltage", oid = ".%s.2.1.0", scale = 0.1 } } }
""" % (BM, BM)


def rtu_bus(d):
    a, b = os.path.join(d, "bus-a"), os.path.join(d, "bus-b")
    procs.append(subprocess.Popen(
        ["socat", "-d", "-d", f"pty,raw,echo=0,link={a}",
         f"pty,raw,echo=0,link={b}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    if not (wait_file(a) and wait_file(b)):
        return None
    procs.append(subprocess.Popen(
        [PY, os.path.join(TOP, "tests", "modbus_meter_peer.py"), "rtu", a,
         "1,7,42"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    uri = "modbus-rtu://%s?baud=9600" % b
    end = time.time() + 15
    while time.time() < end:  # no port to poll: read until it answers
        if ohm("modbus", "read", "--timeout", "0.5", uri + "&unit=7",
               "0").returncode == 0:
            return uri
        time.sleep(0.2)
    return None


def sysrecs(objid, descr):
    return ["1.3.6.1.2.1.1.1.0|4|" + descr, "1.3.6.1.2.1.1.2.0|6|" + objid]


def snmp_part(d):
    port = free_port("udp")
    bkt = sysrecs("1.3.6.1.4.1.47394", "BKT BPS2000v2") + \
        snmplib.bps_records(units=range(1))
    ups = sysrecs("1.3.6.1.4.1.2254.2.4", "IEI AUPS2-B20") + \
        snmplib.ups_records()[1:]
    bm = sysrecs(BM, "BM100 battery manager") + \
        [BM + ".1.1.0|4|BM100", BM + ".2.1.0|2|1275",
         BM + ".10.1.0|2|100", BM + ".12.1.0|2|120"]
    cps = snmplib.bm_records()  # a real BM100's battmgr (cps-bm100)
    for host, lines in (("127.0.0.1", bkt), ("127.0.0.2", ups),
                        ("127.0.0.3", bm), ("127.0.0.4", cps)):
        procs.append(snmplib.snmpsim_public(
            os.path.join(d, host), sorted(lines, key=lambda l: [
                int(p) for p in l.split("|")[0].split(".")]),
            ["%s:%d" % (host, port)]))
    ok = all(snmplib.answers(h, port) for h in
             ("127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.4"))
    T.ok(ok, "four snmpsim agents answer")
    drv = os.path.join(d, "drivers")
    os.makedirs(drv, exist_ok=True)
    with open(os.path.join(drv, "bm100-like.lua"), "w") as f:
        f.write(BM_MAP)
    env = {"OHM_DRIVERS": drv}
    t0 = time.time()
    r = ohm("scan", "--json", "--port", str(port),
            "snmp://public@127.0.0.0/29", env=env, timeout=60)
    took = time.time() - t0
    got = json.loads(r.stdout) if r.returncode == 0 else []
    byhost = {x["name"]: x for x in got}
    T.eq(sorted(byhost), ["127.0.0.1", "127.0.0.2", "127.0.0.3",
                          "127.0.0.4"],
         "snmp scan finds the four agents of the range, no more")
    for host, drvname in (("127.0.0.1", "bps2000v2"),
                          ("127.0.0.2", "ups-mib"),
                          ("127.0.0.3", "bm100-like"),
                          ("127.0.0.4", "cps-bm100")):
        T.eq(byhost.get(host, {}).get("driver"), drvname,
             "snmp scan names %s for %s" % (drvname, host))
    T.ok(byhost.get("127.0.0.2", {}).get("sysdescr") == "IEI AUPS2-B20" and
         byhost.get("127.0.0.2", {}).get("sysobjectid") ==
         ".1.3.6.1.4.1.2254.2.4", "sysDescr and sysObjectID reported",
         byhost.get("127.0.0.2"))
    T.ok(took < 20, "a /29 scan is bounded in time", took)

    # -d auto and no driver at all: detected the same way, said with -v
    for args in (["-d", "auto"], []):
        r = ohm("get", "-v", *args, "snmp://public@127.0.0.3:%d" % port,
                "battery.voltage", env=env)
        T.ok(r.returncode == 0 and r.stdout == "battery.voltage: 127.5\n" and
             "driver bm100-like (from its map's signature, detected)" in
             r.stderr, "get %s: the driver detected, -v says so" %
             (" ".join(args) or "without -d"), r.stdout + r.stderr)

    # a chain of units behind one agent is map data (oid_unit), not code
    with open(os.path.join(drv, "chain-test.lua"), "w") as f:
        f.write('return { name = "chain-test", oid_unit = { base = 10, '
                'max = 2 }, vars = { { name = "x", oid = ".%s.%%d.1.0" } } }'
                % BM)
    r = ohm("get", "-d", "chain-test",
            "snmp://public@127.0.0.3:%d?unit=2" % port, "x", env=env)
    r2 = ohm("get", "-d", "chain-test",
             "snmp://public@127.0.0.3:%d?unit=3" % port, "x", env=env)
    T.ok(r.stdout == "x: 120\n" and r2.returncode != 0 and
         "unit 3 out of range" in r2.stderr,
         "a user map's oid_unit chain: unit 2 is subtree 12, 3 is refused",
         r.stdout + r.stderr + r2.stderr)

    # the snippet is an inventory ohm reads: get through it
    r = ohm("scan", "--port", str(port), "snmp://public@127.0.0.2", env=env)
    cfg = os.path.join(d, "config.lua")
    with open(cfg, "w") as f:
        f.write(r.stdout)
    r2 = ohm("get", "--config", cfg, "127.0.0.2", "ups.model", env=env)
    T.ok(r.returncode == 0 and r2.stdout == "ups.model: AUPS2-B20\n",
         "the snippet is an inventory ohm get reads", (r.stdout, r2.stderr))


def main():
    d = os.path.join(TMP, "ohm-scan-%d" % os.getpid())
    os.makedirs(d, exist_ok=True)
    uri = rtu_bus(d)
    T.ok(uri is not None, "pymodbus RTU bus on a pty answers")
    if uri:
        r = ohm("scan", "--units", "1-60", "--timeout", "0.2", uri,
                timeout=60)
        units = [ln.split('"')[1] for ln in r.stdout.splitlines()
                 if ln.startswith("  [")]
        T.eq(units, ["unit1", "unit7", "unit42"],
             "rtu scan finds exactly units 1, 7 and 42")
        T.ok(r.stdout.startswith("devices = {\n") and
             r.stdout.endswith("}\n") and "&unit=42" in r.stdout,
             "rtu scan prints an inventory snippet", r.stdout)
        r = ohm("scan", "--units", "2-6", "--timeout", "0.2", uri)
        T.ok(r.returncode == 1 and "nothing answered" in r.stderr and
             r.stdout == "", "nothing found: exit 1, one line", r.stderr)
    snmp_part(d)


run(main)
