"""Issue 10: no wrong value is ever shown as good. Every reading command
(ohm get, ohm poll, Lua ohm.open():get()) against each peer of the shared
faulty-peer corpus (tests/faulty_peers.py): Modbus TCP servers wrong in
one way each, snmpsim agents with wrong types, out-of-range values,
sentinels and missing objects, and agents with none of the map's objects
(net-snmp's snmpd, a UPS-MIB agent read as bps2000v2, a BPS2000v2 agent
read as ups-mib). Each gives exit 1 (or the variable absent), a one-line
error naming the variable or OID, and never the wrong number on stdout;
`ohm poll` and `ohm serve --prometheus` count such devices as failed."""
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.environ["OHM_TOP"], "tests"))
from lib import T, OHM, PY, ohm, free_port, wait_port, procs, start, run  # noqa
import faulty_peers as fp  # noqa: E402
import snmplib  # noqa: E402

TMP = os.environ.get("TMPDIR", "/tmp")
CORPUS = os.path.join(os.environ["OHM_TOP"], "tests", "faulty_peers.py")
OPTS = ["--timeout", "1", "--retries", "0"]
# decodings of the stray reply's 0x0BAD and of 0xFFFF: never on stdout
WRONG = ["298.9", "29.89", "655.35", "6553.5"]
RESYNC = ("dup", "stray")  # discarded: the real reply is used


def one_line(r):
    return r.stderr.startswith("ohm: ") and r.stderr.count("\n") == 1


def lua_get(uri, driver, var, times=2):
    chunk = (f'local d = assert(ohm.open("{uri}", {{driver = "{driver}", '
             'timeout = 1, retries = 0}))\n'
             f'for i = 1, {times} do print(d:get("{var}")) end\n')
    return ohm("-e", chunk, timeout=60)


def modbus_case(mode, port):
    uri = f"modbus-tcp://127.0.0.1:{port}"
    r = ohm("get", "-d", "bps2000v2", *OPTS, uri, timeout=60)
    bad = [w for w in WRONG if w in r.stdout]
    T.ok(not bad, f"modbus {mode}: get shows no wrong number", bad)
    lr = lua_get(uri, "bps2000v2", "input.L1.current")
    if mode in RESYNC:
        T.eq(r.returncode, 0, f"modbus {mode}: discarded, the read succeeds")
        T.ok("input.L1.current: 12.34\n" in r.stdout,
             f"modbus {mode}: get shows the real reply's value")
        T.eq(lr.stdout, "12.34\n12.34\n",
             f"modbus {mode}: Lua gets the real reply twice")
    elif mode == "ffff":
        T.eq(r.returncode, 0, "modbus ffff: the read itself succeeds")
        T.ok(not any(ln.startswith("input.") and "phases" not in ln
                     for ln in r.stdout.splitlines()),
             "modbus ffff: 0xFFFF readings are absent", r.stdout[:200])
        T.ok(lr.stdout.startswith("nil\t") and
             "input.L1.current" in lr.stdout,
             "modbus ffff: Lua get is nil + a message naming the var",
             lr.stdout)
        g = ohm("get", "-d", "bps2000v2", *OPTS, uri, "input.L1.current")
        T.ok(g.returncode == 1 and g.stdout == "" and one_line(g) and
             "input.L1.current" in g.stderr,
             "modbus ffff: get VAR exits 1 naming it", g.stderr)
    else:
        T.eq(r.returncode, 1, f"modbus {mode}: get exits 1")
        T.eq(r.stdout, "", f"modbus {mode}: nothing on stdout")
        T.ok(one_line(r), f"modbus {mode}: a one-line error", r.stderr)
        T.ok(lr.returncode == 0 and lr.stdout.count("nil\t") == 2 and
             "12.34" not in lr.stdout,
             f"modbus {mode}: Lua get is nil + message, twice", lr.stdout)
    return r


def modbus_corpus():
    ports = {}
    for mode in fp.MODBUS_MODES:
        ports[mode] = free_port()
        start(PY, CORPUS, "modbus", str(ports[mode]), mode)
    for p in ports.values():
        wait_port(p)
    msgs = {"wrongunit": "unit 8, asked 1", "protoid": "protocol id 1",
            "mbaplen": "MBAP length 65535", "long": "MBAP length",
            "short": "MBAP length", "wrongfunc": "function 4",
            "badcount": "byte count",
            "exception": "no BPS2000v2 registers at this unit: wrong driver? "
                         "(read registers 0-98 from unit 1 failed (Modbus "
                         "exception 2"}
    for mode, p in ports.items():
        r = modbus_case(mode, p)
        if mode in msgs:
            T.ok(msgs[mode] in r.stderr, f"modbus {mode}: says why",
                 r.stderr)
    return ports


def snmp_corpus(port):
    for case, (drv, var, _, wrong) in fp.SNMP_CASES.items():
        uri = f"snmp://{case}@127.0.0.1:{port}"
        r = ohm("get", "-d", drv, *OPTS, uri, var)
        lr = lua_get(uri, drv, var, times=1)
        if wrong is None:
            T.eq(r.stdout, f"{var}: unknown state 97\n",
                 f"snmp {case}: 'unknown state 97' as over Modbus")
            continue
        T.eq(r.returncode, 1, f"snmp {case}: get {var} exits 1")
        T.eq(r.stdout, "", f"snmp {case}: nothing on stdout")
        T.ok(one_line(r) and (var in r.stderr or ".1.3.6" in r.stderr),
             f"snmp {case}: one line naming the variable or OID", r.stderr)
        T.ok(lr.stdout.startswith("nil\t") and lr.stdout.count("\n") == 1,
             f"snmp {case}: Lua get is nil + a one-line message", lr.stdout)
        a = ohm("get", "-d", drv, *OPTS, uri)
        T.ok(not any(ln.startswith(var + ": ") for ln in
                     a.stdout.splitlines()),
             f"snmp {case}: a full get never shows {var}", a.stdout[:300])


def enum_over_modbus():
    """The same out-of-list state over Modbus reads the same."""
    p = free_port()
    start(PY, os.path.join(os.environ["OHM_TOP"], "tests", "modbus_peer.py"),
          "tcp", str(p), "--set", "61=97", stderr=subprocess.DEVNULL)
    wait_port(p)
    r = ohm("get", "-d", "bps2000v2", *OPTS, f"modbus-tcp://127.0.0.1:{p}",
            "ambient.smoke")
    T.eq(r.stdout, "ambient.smoke: unknown state 97\n",
         "modbus: the same out-of-list state reads 'unknown state 97'")


def refused_blocks():
    """A user map over two register blocks, one of which the device does
    not have (pymodbus: exception 2 past register 99): that block's vars
    are absent, the other's read; a map whose every block is refused is
    the wrong driver."""
    p = free_port()
    start(PY, os.path.join(os.environ["OHM_TOP"], "tests", "modbus_peer.py"),
          "tcp", str(p), "--set", "0=2301", stderr=subprocess.DEVNULL)
    wait_port(p)
    drv = os.path.join(TMP, "faulty-drivers")
    os.makedirs(drv, exist_ok=True)
    with open(os.path.join(drv, "two-blocks.lua"), "w") as f:
        f.write('return { name = "two-blocks", model = "TB1", vars = {\n'
                ' { name = "input.voltage", reg = 0, scale = 0.1 },\n'
                ' { name = "input.current", reg = 500, scale = 0.01 } } }\n')
    with open(os.path.join(drv, "far-only.lua"), "w") as f:
        f.write('return { name = "far-only", model = "FAR", vars = {\n'
                ' { name = "input.current", reg = 500, scale = 0.01 } } }\n')
    env = {"OHM_DRIVERS": drv}
    uri = f"modbus-tcp://127.0.0.1:{p}"
    r = ohm("get", "-d", "two-blocks", *OPTS, uri, env=env)
    T.ok(r.returncode == 0 and "input.voltage: 230.1\n" in r.stdout and
         "input.current" not in r.stdout,
         "modbus: a refused block's vars are absent, the rest read",
         r.stdout + r.stderr)
    r = ohm("get", "-d", "far-only", *OPTS, uri, env=env)
    T.ok(r.returncode == 1 and r.stdout == "" and one_line(r) and
         "no FAR registers at this unit: wrong driver?" in r.stderr,
         "modbus: every block refused is 'wrong driver?', exit 1", r.stderr)


def telnet_corpus():
    """Console screens missing (alien) or garbled: exit 1, one line, no
    value; fixed texts never make the empty read look good."""
    emu = os.path.join(os.environ["OHM_TOP"], "tests", "console_emulator.py")
    for mode in ("alien", "garbled"):
        p = free_port()
        start(PY, emu, str(p), "--user", "bkt", "--password", "pa55",
              "--mode", mode, stdout=subprocess.DEVNULL,
              stderr=subprocess.DEVNULL)
        wait_port(p)
        uri = f"telnet://bkt:pa55@127.0.0.1:{p}"
        r = ohm("get", "-d", "bps2000v2", "--timeout", "3", uri, timeout=60)
        T.ok(r.returncode == 1 and r.stdout == "" and one_line(r),
             f"telnet {mode}: exit 1, one line, nothing on stdout",
             r.stdout[:200] + r.stderr)
        lr = ohm("-e", f'local d = assert(ohm.open("{uri}", {{driver = '
                 '"bps2000v2", timeout = 3}))\n'
                 'print(d:get("device.mfr"))', timeout=60)
        T.ok(lr.stdout.startswith("nil\t"),
             f"telnet {mode}: Lua get of a fixed text is nil + message",
             lr.stdout + lr.stderr)


def missing_objects(snmp_port, snmpd_port):
    """noSuchObject and noSuchInstance (snmpd, v2c) and v1's noSuchName
    (snmpsim): the object is absent, the rest of the map reads, and naming
    it is a one-line error."""
    if snmpd_port:
        drv = os.path.join(TMP, "faulty-drivers")
        os.makedirs(drv, exist_ok=True)
        with open(os.path.join(drv, "sysmap.lua"), "w") as f:
            f.write('return { name = "sysmap", vars = {\n'
                    ' { name = "device.description", type = "string",'
                    ' oid = ".1.3.6.1.2.1.1.1.0" },\n'
                    ' { name = "x.instance", oid = ".1.3.6.1.2.1.1.1.1" },\n'
                    ' { name = "x.object", oid = ".1.3.6.1.4.1.99999.1.0" },'
                    '\n} }\n')
        env = {"OHM_DRIVERS": drv}
        uri = f"snmp://public@127.0.0.1:{snmpd_port}"
        r = ohm("get", "-d", "sysmap", *OPTS, uri, env=env)
        T.ok(r.returncode == 0 and "device.description: ohm test agent" in
             r.stdout and "x." not in r.stdout,
             "snmp noSuchInstance/noSuchObject: absent, the rest read",
             r.stdout + r.stderr)
        for var in ("x.instance", "x.object"):
            r = ohm("get", "-d", "sysmap", *OPTS, uri, var, env=env)
            T.ok(r.returncode == 1 and r.stdout == "" and one_line(r) and
                 var in r.stderr, f"snmp {var}: named, exit 1, one line",
                 r.stderr)
    uri = f"snmp://string_for_int@127.0.0.1:{snmp_port}?version=1"
    r = ohm("get", "-d", "ups-mib", *OPTS, uri, "battery.runtime")
    T.ok(r.returncode == 1 and r.stdout == "" and one_line(r) and
         "battery.runtime" in r.stderr,
         "snmp v1 noSuchName: the object named, exit 1", r.stderr)
    r = ohm("get", "-d", "ups-mib", *OPTS, uri, "device.mfr")
    T.eq(r.stdout, "device.mfr: ACME\n",
         "snmp v1: the objects that exist still read")


def no_objects(snmp_port, snmpd_port):
    cases = [("bps2000v2 on snmpd", "bps2000v2",
              f"snmp://public@127.0.0.1:{snmpd_port}", "BPS2000v2"),
             ("bps2000v2 on a UPS-MIB agent", "bps2000v2",
              f"snmp://ups@127.0.0.1:{snmp_port}", "BPS2000v2"),
             ("ups-mib on a BPS2000v2 agent", "ups-mib",
              f"snmp://bps@127.0.0.1:{snmp_port}", "ups-mib")]
    for name, drv, uri, model in cases:
        if uri.endswith(":None"):
            T.skip(name, "snmpd did not start")
            continue
        r = ohm("get", "-d", drv, *OPTS, uri)
        T.eq(r.returncode, 1, f"{name}: exit 1")
        T.eq(r.stdout, "", f"{name}: nothing on stdout (no fixed texts)")
        T.ok(one_line(r) and f"no {model} objects at this agent" in r.stderr
             and "wrong driver" in r.stderr,
             f"{name}: one line, 'no {model} objects ... wrong driver?'",
             r.stderr)
        lr = lua_get(uri, drv, "device.mfr" if drv == "bps2000v2"
                     else "device.type", times=1)
        T.ok(lr.stdout.startswith("nil\t") and "wrong driver" in lr.stdout,
             f"{name}: Lua get of a fixed text is nil + message", lr.stdout)
    return cases


def nothing_to_read():
    """A map with no location over the transport (ups-mib over Modbus)
    shows no fixed text: it is the wrong driver."""
    r = ohm("get", "-d", "ups-mib", "sim:bps2000v2")
    T.ok(r.returncode == 1 and r.stdout == "" and one_line(r) and
         "reads nothing over modbus-tcp: wrong driver?" in r.stderr,
         "ups-mib over Modbus: no fixed text alone, exit 1", r.stdout +
         r.stderr)


def poll_and_serve(mports, cases):
    cfg = os.path.join(TMP, "faulty.lua")
    with open(cfg, "w") as f:
        f.write("devices = {\n")
        for mode, p in mports.items():
            f.write(f'  ["mb-{mode}"] = {{ uri = "modbus-tcp://127.0.0.1:{p}",'
                    ' driver = "bps2000v2" },\n')
        for i, (_, drv, uri, _) in enumerate(cases):
            if not uri.endswith(":None"):
                f.write(f'  ["wrong{i}"] = {{ uri = "{uri}", driver = "{drv}"'
                        ' },\n')
        f.write("}\n")
    r = ohm("poll", "--config", cfg, "--json", *OPTS, timeout=120)
    T.eq(r.returncode, 3, "poll: some devices failed: exit 3")
    try:
        out = json.loads(r.stdout)
    except ValueError:
        out = {}
    for name, vals in out.items():
        mode = name[3:] if name.startswith("mb-") else None
        if mode in RESYNC:
            T.eq(vals.get("input.L1.current"), 12.34,
                 f"poll {name}: the real reply's value")
        elif mode == "ffff":
            T.ok("input.L1.current" not in vals, "poll mb-ffff: absent")
        else:
            T.ok(list(vals) == ["error"], f"poll {name}: counted as failed",
                 vals)
    T.ok(all(f"ohm: wrong{i}: " in r.stderr for i in range(len(cases))
             if not cases[i][2].endswith(":None")),
         "poll: one error line per wrong-driver device", r.stderr[-600:])
    http = free_port()
    start(OHM, "serve", "--config", cfg, "--prometheus", f"127.0.0.1:{http}",
          "--interval", "30", *OPTS, stderr=subprocess.DEVNULL)
    wait_port(http)
    body = ""
    for _ in range(40):
        body = subprocess.run(["curl", "-sS", f"http://127.0.0.1:{http}/"
                               "metrics"], capture_output=True, text=True,
                              timeout=20).stdout
        if 'ohm_up{device="wrong0"}' in body:
            break
        time.sleep(0.3)
    nut_counts_failed(cfg)
    T.ok('ohm_up{device="wrong0"} 0' in body and
         'ohm_up{device="mb-wrongunit"} 0' in body and
         'ohm_up{device="mb-dup"} 1' in body,
         "serve --prometheus: wrong-driver and faulty devices are down",
         "\n".join(ln for ln in body.splitlines() if "ohm_up" in ln))
    vals = [ln for ln in body.splitlines() if 'device="wrong0"' in ln and
            not ln.startswith(("ohm_up", "ohm_scrape"))]
    T.ok(not vals, "serve --prometheus: no value for a wrong-driver device",
         "\n".join(vals))


def nut_counts_failed(cfg):
    port = free_port()
    start(OHM, "serve", "--config", cfg, "--nut", f"127.0.0.1:{port}",
          "--interval", "30", *OPTS, stderr=subprocess.DEVNULL)
    wait_port(port)
    r = None
    for _ in range(40):
        r = subprocess.run(["upsc", f"wrong0@127.0.0.1:{port}"],
                           capture_output=True, text=True, timeout=20)
        if "stale" in r.stderr.lower() or r.returncode == 0:
            break
        time.sleep(0.3)
    T.ok(r.returncode != 0 and "stale" in r.stderr.lower() and
         not r.stdout, "serve --nut: a wrong-driver device is DATA-STALE, "
         "no value", r.stdout[:200] + r.stderr)


def main():
    enum_over_modbus()
    nothing_to_read()
    refused_blocks()
    telnet_corpus()
    mports = modbus_corpus()
    comms = {c: lines for c, (_, _, lines, _) in fp.SNMP_CASES.items()}
    comms["ups"] = snmplib.ups_records()
    comms["bps"] = snmplib.bps_records(units=[0])
    work = os.path.join(TMP, "faulty-snmp")
    sport = free_port("udp")
    try:
        procs.append(snmplib.start_snmpsim(work, comms, [sport]))
    except Exception as ex:
        T.skip("snmp corpus", f"snmpsimd: {ex}")
        return
    dport = free_port("udp")
    try:
        procs.append(snmplib.start_snmpd(os.path.join(TMP, "snmpd"), dport))
    except Exception as ex:
        print(f"# snmpd: {ex}")
        dport = None
    snmp_corpus(sport)
    missing_objects(sport, dport)
    cases = no_objects(sport, dport)
    poll_and_serve(mports, cases)


run(main)
