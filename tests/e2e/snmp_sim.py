"""ohm over SNMP against snmpsim (an independent agent simulator): the
BPS2000v2 OID map with both value encodings and every chain unit, the
ups-mib driver on an RFC 1628 UPS on battery, ohm walk, Lua raw access,
and the faults: no agent, wrong community, an object missing, a string
where a number belongs."""
import json, os, re, shutil, subprocess, sys, tempfile, time
sys.path.insert(0, os.path.join(os.environ["OHM_TOP"], "tests"))
from lib import T, ohm, free_port
import snmplib as S

if not shutil.which("snmpsimd") or not shutil.which("snmpget"):
    T.skip("snmp_sim", "snmpsimd or snmpget not installed")
    T.done()

work = tempfile.mkdtemp()
port = free_port("udp")
communities = {
    "bpstext": S.bps_records("text"),
    "bpsint": S.bps_records("int"),
    "bpsmiss": S.bps_records("text", units=[0], skip={(0, 1), (0, 28)}),
    "bpsbad": S.bps_records("text", units=[0], bad={(0, 2): "n/a"}),
    "upsob": S.ups_records(source=5, battery=3),
    "upsol": S.ups_records(source=3, battery=2, minutes=45, charge=100,
                           skip={"2.7.0"}),
    "upsbypass": S.ups_records(source=4, battery=2),
}
try:
    agent = S.start_snmpsim(work, communities, [port])
except Exception as ex:  # an agent that cannot start is a failure here
    T.ok(False, "snmpsim starts", str(ex))
    T.done()

URI = f"snmp://%s@127.0.0.1:{port}"


def parse(out):
    d = {}
    for line in out.splitlines():
        k, _, v = line.partition(": ")
        d[k] = v
    return d


def snmpget(community, oid):
    r = subprocess.run(["snmpget", "-v2c", "-c", community, "-Oqv",
                        f"127.0.0.1:{port}", oid], capture_output=True,
                       text=True)
    return r.stdout.strip().strip('"')


try:
    # --- BPS2000v2: both encodings, all six units of a chain
    fixed = {"device.mfr": "BKT ELEKTRONIK", "device.model": "BPS2000v2",
             "device.type": "pdu", "input.phases": "3"}
    for enc in ("text", "int"):
        for unit in range(6):
            r = ohm("get", "-d", "bps2000v2",
                    (URI % ("bps" + enc)) + f"?unit={unit}")
            want = dict(S.bps_expected(unit), **fixed)
            T.eq((r.returncode, r.stderr), (0, ""),
                 f"bps2000v2 {enc} unit {unit}: exit 0, quiet")
            T.eq(parse(r.stdout), want,
                 f"bps2000v2 {enc} unit {unit}: every OID-table variable")

    # the same names as over Modbus, for what the OID table carries
    lst = ohm("list", "-d", "bps2000v2", URI % "bpstext")
    names = set(S.bps_expected(0)) | set(fixed)
    r = ohm("get", "-d", "bps2000v2", URI % "bpstext")
    T.eq(sorted(parse(r.stdout)), sorted(names),
         "bps2000v2: 37 OID fields + fixed values, Modbus names")
    T.eq((lst.returncode, lst.stderr), (0, ""), "ohm list -d bps2000v2 snmp://")
    missing = sorted(n for n in names if n not in lst.stdout.split())
    T.eq(missing, [], "every printed name is a map variable (ohm list)")

    # values agree with snmpget on the same agent
    v = snmpget("bpsint", f"{S.BKT}.2.2.0")
    r = ohm("get", "-d", "bps2000v2", URI % "bpsint", "input.L1-N.voltage")
    T.eq(r.stdout.strip(), f"input.L1-N.voltage: {S.fmt(int(v) / 10)}",
         "INTEGER voltage = snmpget value x 0.1")
    v = snmpget("bpsint", f"{S.BKT}.4.7.0")
    r = ohm("get", "-d", "bps2000v2", URI % "bpsint" + "?unit=2",
            "input.L1.energy")
    T.eq(r.stdout.strip(), f"input.L1.energy: {S.fmt(int(v) / 1000)}",
         "INTEGER energy (Wh) = snmpget value / 1000 kWh, unit 2 = .1.4")
    v = snmpget("bpstext", f"{S.BKT}.7.1.0")
    r = ohm("get", "-d", "bps2000v2", URI % "bpstext" + "?unit=5",
            "input.L1.current")
    T.eq(r.stdout.strip(), f"input.L1.current: {v}",
         "text current = snmpget string, unit 5 = slave five (.1.7)")
    for unit, want in ((2, "102.2"), (5, "105.2")):
        r = ohm("get", "-d", "bps2000v2", "--json",
                URI % "bpsint" + f"?unit={unit}", "input.L2.reactivepower")
        T.ok(f'"input.L2.reactivepower": {want}' in r.stdout,
             f"unit {unit}: reactive power L2 is .13.0 (erratum resolved)",
             r.stdout)

    r = ohm("get", "-d", "bps2000v2", URI % "bpstext" + "?unit=6")
    T.ok(r.returncode != 0 and "unit 6" in r.stderr and
         len(r.stderr.strip().splitlines()) == 1,
         "unit 6: one-line error, non-zero exit", r.stderr)

    # --- objects missing: left out, never shown as zero
    r = ohm("get", "-d", "bps2000v2", URI % "bpsmiss")
    got = parse(r.stdout)
    T.ok(r.returncode == 0 and "input.L1.current" not in got and
         "ambient.temperature" not in got and "input.L2.current" in got,
         "missing objects are left out, the rest printed", r.stdout +
         r.stderr)
    r = ohm("get", "-d", "bps2000v2", URI % "bpsmiss", "input.L1.current")
    T.ok(r.returncode == 1 and r.stdout == "" and
         "input.L1.current" in r.stderr and
         len(r.stderr.strip().splitlines()) == 1,
         "a named missing object: one-line error, exit 1", r.stderr)

    # --- a string where a number belongs
    r = ohm("get", "-d", "bps2000v2", URI % "bpsbad")
    T.ok(r.returncode == 1 and "input.L1-N.voltage" in r.stderr and
         "n/a" in r.stderr and len(r.stderr.strip().splitlines()) == 1 and
         "input.L1-N.voltage" not in r.stdout,
         "a string for a number: one-line error naming it, exit 1",
         r.stderr + r.stdout)

    # --- faults: no agent, wrong community
    dead = free_port("udp")
    t0 = time.time()
    r = ohm("get", "--timeout", "0.5", "--retries", "1", "-d", "bps2000v2",
            f"snmp://public@127.0.0.1:{dead}")
    dt = time.time() - t0
    T.ok(r.returncode == 1 and "no answer" in r.stderr and
         len(r.stderr.strip().splitlines()) == 1 and r.stdout == "",
         "no agent: one-line 'no answer' error, exit 1", r.stderr)
    T.ok(dt < 5, "no agent: gives up within the configured time",
         f"{dt:.2f} s for 2 tries of 0.5 s")
    r = ohm("get", "--timeout", "0.5", "--retries", "0", "-d", "ups-mib",
            URI % "nosuchcommunity")
    T.ok(r.returncode == 1 and "wrong community?" in r.stderr and
         len(r.stderr.strip().splitlines()) == 1,
         "wrong community: one-line error saying so", r.stderr)
    r = ohm("walk", "--timeout", "0.3", "--retries", "0",
            URI % "nosuchcommunity", ".1.3")
    T.ok(r.returncode == 1 and "wrong community?" in r.stderr,
         "walk, wrong community: error, exit 1", r.stderr)

    # --- ups-mib: NUT's names and scales
    r = ohm("get", "-d", "ups-mib", URI % "upsob")
    got = parse(r.stdout)
    want = {"device.mfr": "IEI", "device.model": "AUPS2-B20",
            "device.type": "ups", "ups.firmware": "1.02",
            "battery.charge": "18", "battery.runtime": "420",
            "battery.voltage": "23.6", "battery.current": "-5.2",
            "battery.temperature": "31", "battery.status": "low",
            "input.voltage": "0", "input.frequency": "0",
            "output.voltage": "24", "output.current": "8.3",
            "output.realpower": "199", "output.frequency": "50",
            "ups.load": "40", "ups.status": "OB LB",
            "ups.alarms.count": "2", "input.phases": "1",
            "output.phases": "1", "ups.mfr": "IEI", "ups.model": "AUPS2-B20",
            "ups.firmware.aux": "agent 2.1"}
    T.eq((r.returncode, got), (0, want), "ups-mib on battery, low: NUT names")
    r = ohm("get", "-d", "ups-mib", URI % "upsol")
    got = parse(r.stdout)
    T.eq((got.get("ups.status"), got.get("battery.runtime"),
          "battery.temperature" in got), ("OL", "2700", False),
         "ups-mib online: OL, runtime 45 min = 2700 s, absent temperature "
         "left out")
    r = ohm("get", "-d", "ups-mib", URI % "upsbypass", "ups.status")
    T.eq(r.stdout, "ups.status: OL BYPASS\n", "ups-mib bypass: OL BYPASS")
    v = snmpget("upsob", f"{S.UPS}.2.5.0")
    T.eq(got and parse(ohm("get", "-d", "ups-mib", URI % "upsob",
                            "battery.voltage").stdout)["battery.voltage"],
         S.fmt(int(v) / 10), "battery.voltage = snmpget x 0.1 V")
    r = ohm("set", "-d", "ups-mib", URI % "upsob", "ups.load=5")
    T.ok(r.returncode != 0 and len(r.stderr.strip().splitlines()) == 1,
         "ups-mib is read-only: set refused", r.stderr)

    # --- net-snmp's snmp.conf defaults are honoured; MIBs stay unloaded
    home = os.path.join(work, "home")
    os.makedirs(os.path.join(home, ".snmp"))
    with open(os.path.join(home, ".snmp", "snmp.conf"), "w") as f:
        f.write("defCommunity upsob\nmibs +ALL\n")
    r = ohm("get", "-d", "ups-mib", f"snmp://127.0.0.1:{port}", "ups.status",
            env={"HOME": home})
    T.eq((r.returncode, r.stdout, r.stderr), (0, "ups.status: OB LB\n", ""),
         "snmp.conf defCommunity used; 'mibs +ALL' loads nothing, prints "
         "nothing")

    # --- ohm walk: same lines as snmpwalk -On
    ref = subprocess.run(["snmpwalk", "-v2c", "-c", "upsob", "-On",
                          f"127.0.0.1:{port}", S.UPS],
                         capture_output=True, text=True).stdout
    ref = "".join(l + "\n" for l in ref.splitlines()
                  if "No more variables" not in l)
    r = ohm("walk", URI % "upsob", S.UPS)
    T.eq((r.returncode, r.stdout), (0, ref), "ohm walk = snmpwalk -On")
    r = ohm("walk", "--json", URI % "bpsint" + "?version=1",
            f"{S.BKT}.1")
    T.ok(r.returncode == 0 and '"value": "BPS2000v2 test"' in r.stdout,
         "ohm walk --json over SNMPv1 (GETNEXT)", r.stdout + r.stderr)
    r = ohm("walk", URI % "upsob", "1.3.6.1.2.1.33.1.1.1.0")
    T.eq(r.stdout, '.1.3.6.1.2.1.33.1.1.1.0 = STRING: "IEI"\n',
         "ohm walk of a leaf shows the leaf")
    r = ohm("walk", "--csv", URI % "upsob", "1.3.6.1.2.1.33.1.1.1.0")
    T.eq((r.returncode, r.stdout),
         (0, 'oid,type,value\n.1.3.6.1.2.1.33.1.1.1.0,STRING,"IEI"\n'),
         "ohm walk --csv starts with its header line")
    r = ohm("walk", "--json", URI % "upsob", S.UPS + ".2.1.0")
    try:
        vals = [x["value"] for x in json.loads(r.stdout)]
    except ValueError:
        vals = []
    T.ok(r.returncode == 0 and vals and all(
        isinstance(x, int) and not isinstance(x, bool) for x in vals),
         "ohm walk --json: INTEGERs are JSON numbers", r.stdout + r.stderr)
    r = ohm("walk", URI % "upsob", "1.3.6.1.4.1.99999.1")
    T.ok(r.returncode == 1 and r.stdout == "" and
         "no object under 1.3.6.1.4.1.99999.1" in r.stderr
         and len(r.stderr.splitlines()) == 1,
         "ohm walk of an empty subtree: exit 1 and a message",
         repr((r.returncode, r.stdout, r.stderr)))
    r = ohm("walk", URI % "upsob", "1.3.x")
    T.ok(r.returncode == 2 and "bad OID" in r.stderr, "bad OID: usage error",
         r.stderr)

    # --- Lua raw access
    script = os.path.join(work, "raw.lua")
    with open(script, "w") as f:
        f.write(f"""
local s = assert(ohm.connect("{URI % 'upsob'}"))
local mfr, src = assert(s:get("{S.UPS}.1.1.0", "{S.UPS}.4.1.0"))
print(mfr, src, math.type(src))
local w = assert(s:walk("{S.UPS}.1"))
print(#w, w[1].oid, w[1].type, w[1].value)
print(s:get("{S.UPS}.9.9.0"))
print(s:set("{S.UPS}.9.9.0", "s", "x"))
s:close()
local bad = ohm.connect("snmp://public@127.0.0.1:{free_port('udp')}",
                        {{timeout = 0.3, retries = 0}})
print(bad:get("{S.UPS}.1.1.0"))
""")
    r = ohm(script)
    lines = r.stdout.splitlines()
    T.eq(lines[:2], ["IEI\t5\tinteger",
                     f"4\t.{S.UPS}.1.1.0\tSTRING\tIEI"],
         "Lua s:get (typed values) and s:walk")
    T.ok(len(lines) >= 4 and lines[2].startswith("nil\t") and
         "No Such" in lines[2] and lines[4].startswith("nil\t") and
         "no answer" in lines[4], "Lua: absent object and timeout are "
         "nil, message", r.stdout + r.stderr)
    T.ok(len(lines) >= 5 and lines[3].startswith("nil\t") and
         "not taken" in lines[3], "Lua: a SET the agent did not take "
         "(varbind exception, no error status) is nil, message",
         r.stdout + r.stderr)
finally:
    S.stop(agent)
    shutil.rmtree(work, ignore_errors=True)
T.done()
