"""ohm's SNMP agent (net-snmp's agent library) read by net-snmp's own
snmpget/snmpwalk/snmpset and by ohm's SNMP client: the simulator over
SNMP (`ohm sim DRIVER --snmp`, sim:DRIVER in process), `ohm serve --snmp`
(its own agent) and `--agentx` (a subagent of snmpd), and NUT's snmp-ups
reading ohm's agent: the same NUT variables as upsc reading `serve --nut`
(the loop closes)."""
import os, re, shutil, signal, socket, subprocess, sys, tempfile, time
sys.path.insert(0, os.path.join(os.environ["OHM_TOP"], "tests"))
from lib import T, ohm, free_port, start, wait_port, run, stop_all, OHM

UPS = ".1.3.6.1.2.1.33.1."
BKT = ".1.3.6.1.4.1.47394.1.2."


def parse(out):
    return dict(l.split(": ", 1) for l in out.splitlines() if ": " in l)


def snmp(tool, port, community, *args):
    r = subprocess.run([tool, "-v2c", "-c", community, "-On", "-t", "1",
                        "-r", "0", f"127.0.0.1:{port}", *args],
                       capture_output=True, text=True, timeout=20)
    return r.returncode, r.stdout, r.stderr


def walk(port, community, root):
    rc, out, _ = snmp("snmpwalk", port, community, root)
    d = {}
    for line in out.splitlines():
        k, _, v = line.partition(" = ")
        d[k] = v
    return d


def sim(driver):
    port = free_port("udp")
    start(OHM, "sim", driver, "--snmp", f"127.0.0.1:{port}",
          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if not wait_port(port, "udp", 10):
        raise SystemExit(f"ohm sim {driver} --snmp did not start")
    return port


def ups_sim():
    port = sim("ups-mib")
    w = walk(port, "public", ".1.3.6.1.2.1.33")
    T.eq(w.get(UPS + "1.1.0"), 'STRING: "ohm"', "sim ups-mib: upsIdentManufacturer")
    T.eq(w.get(UPS + "4.1.0"), "INTEGER: 3", "sim ups-mib: upsOutputSource normal")
    T.ok(all(UPS + g in "".join(w) for g in ("1.", "2.", "3.", "4.", "6.")),
         "sim ups-mib: ident, battery, input, output, alarm groups", w)
    uri = f"snmp://public@127.0.0.1:{port}"
    r = ohm("get", "-d", "ups-mib", uri)
    g = parse(r.stdout)
    T.eq((r.returncode, g.get("ups.status"), g.get("device.mfr")),
         (0, "OL", "ohm"), "sim ups-mib: ohm get reads it")
    T.eq(g.get("battery.charge"), w.get(UPS + "2.4.0", "").split()[-1],
         "sim ups-mib: ohm get and snmpwalk agree on battery.charge")
    rc, out, err = snmp("snmpset", port, "public", UPS + "4.1.0", "i", "5",
                        UPS + "2.1.0", "i", "3")
    T.eq(rc, 0, "sim ups-mib: snmpset upsOutputSource/upsBatteryStatus")
    r = ohm("get", "-d", "ups-mib", uri, "ups.status", "battery.charge")
    T.eq(parse(r.stdout).get("ups.status"), "OB LB",
         "sim ups-mib: ups.status follows the SET (OB LB)")
    rc, out, err = snmp("snmpset", port, "public", UPS + "2.4.0", "i", "5")
    T.ok(rc != 0 and "notWritable" in err,
         "sim ups-mib: a read-only object refuses a SET", err)
    rc, out, err = snmp("snmpget", port, "wrong", UPS + "1.1.0")
    T.ok(rc != 0 and "Timeout" in err,
         "sim ups-mib: an unknown community gets no answer", (rc, out, err))


def bps_sim():
    port = sim("bps2000v2")
    w = walk(port, "public", ".1.3.6.1.4.1.47394")
    T.eq(len([k for k in w if k.startswith(BKT)]), 37,
         "sim bps2000v2: the 37 BKT objects of the master")
    T.ok(re.match(r'STRING: "2[0-9][0-9](\.[0-9])?"', w.get(BKT + "2.0", "")),
         "sim bps2000v2: voltage L1 as decimal text", w.get(BKT + "2.0"))
    T.eq(w.get(BKT + "34.0"), "INTEGER: 2", "sim bps2000v2: smoke as code 2")
    r = ohm("get", "-d", "bps2000v2", f"snmp://public@127.0.0.1:{port}")
    g = parse(r.stdout)
    T.eq((r.returncode, g.get("ambient.smoke"), g.get("input.phases")),
         (0, "no", "3"), "sim bps2000v2: ohm get over SNMP")
    T.ok(abs(float(g.get("input.L1-N.voltage", 0)) - 230) < 15,
         "sim bps2000v2: a plausible voltage", g)


def in_process():
    r = ohm("get", "sim:ups-mib", "ups.status", "device.mfr")
    T.eq((r.returncode, parse(r.stdout)), (0, {"ups.status": "OL",
                                               "device.mfr": "ohm"}),
         "sim:ups-mib: ohm get in process over SNMP")
    r = ohm("walk", "sim:ups-mib", ".1.3.6.1.2.1.33")
    T.ok(r.returncode == 0 and ".1.3.6.1.2.1.33.1.4.1.0" in r.stdout,
         "sim:ups-mib: ohm walk", r.stdout + r.stderr)


def numeq(a, b):
    try:
        return abs(float(a) - float(b)) < 1e-6
    except (TypeError, ValueError):
        return a == b


def upsc(port, dev):
    r = subprocess.run(["upsc", f"{dev}@127.0.0.1:{port}"],
                       capture_output=True, text=True, timeout=20)
    return parse(r.stdout)


def same_vars(a, b, keys):
    return {k: (a.get(k), b.get(k)) for k in keys
            if not numeq(a.get(k), b.get(k))}


def snmp_ups(work, port, community):
    """NUT's own SNMP driver against ohm's agent, one dump."""
    with open(os.path.join(work, "ups.conf"), "w") as f:
        f.write(f"[u]\n driver = snmp-ups\n port = 127.0.0.1:{port}\n"
                f" community = {community}\n snmp_version = v2c\n"
                " mibs = ietf\n")
    env = dict(os.environ, NUT_CONFPATH=work, NUT_STATEPATH=work)
    r = subprocess.run(["/lib/nut/snmp-ups", "-a", "u", "-u", "root", "-d",
                        "1"], capture_output=True, text=True, timeout=60,
                       env=env)
    return parse(r.stdout)


NUT_VARS = ("battery.charge", "battery.runtime", "battery.voltage",
            "battery.current", "battery.temperature", "device.mfr",
            "device.model", "input.voltage", "input.frequency",
            "output.voltage", "output.current", "output.frequency",
            "output.realpower", "ups.load", "ups.status", "ups.firmware")


def serve_agent(work):
    inv = os.path.join(work, "inv.lua")
    with open(inv, "w") as f:
        f.write('devices = { ups1 = { uri = "sim:ups-mib" },\n'
                '  pdu1 = { uri = "sim:bps2000v2" } }\n')
    port, nut = free_port("udp"), free_port()
    serve = start(OHM, "--config", inv, "serve", "--snmp", str(port),
                  "--nut", str(nut), "--interval", "60", "-q",
                  stderr=subprocess.DEVNULL)
    T.ok(wait_port(port, "udp", 15) and wait_port(nut),
         "serve --snmp and --nut listen")
    w = walk(port, "ups1", ".1.3.6.1.2.1.33")
    T.ok(all(any(k.startswith(UPS + g) for k in w)
             for g in ("1.", "2.", "3.", "4.", "6.")),
         "serve --snmp: UPS-MIB ident, battery, input, output, alarm groups",
         w)
    got = parse(ohm("get", "-d", "ups-mib",
                    f"snmp://ups1@127.0.0.1:{port}").stdout)
    fromnut = upsc(nut, "ups1")
    T.ok(len(got) > 15 and not same_vars(got, fromnut, got),
         "serve --snmp: ohm get over SNMP = upsc over serve --nut",
         same_vars(got, fromnut, got))
    if os.path.exists("/lib/nut/snmp-ups"):
        dump = snmp_ups(work, port, "ups1")
        T.ok(len(dump) > 15 and not same_vars(dump, fromnut, NUT_VARS),
             "NUT snmp-ups reading ohm's agent = upsc reading serve --nut",
             same_vars(dump, fromnut, NUT_VARS))
    else:
        T.skip("snmp-ups", "nut-snmp not installed")
    w = walk(port, "pdu1", ".1.3.6.1")
    T.eq(len([k for k in w if k.startswith(BKT)]), 37,
         "serve --snmp: a bps2000v2 device under its 37 BKT objects")
    T.ok(not any(k.startswith(UPS) for k in w),
         "serve --snmp: the PDU is not in UPS-MIB", w)
    rc, out, err = snmp("snmpget", port, "public", UPS + "1.1.0")
    T.ok(rc != 0, "serve --snmp: no answer to a community naming no device",
         out)
    rc, out, err = snmp("snmpset", port, "ups1", UPS + "4.1.0", "i", "5")
    T.ok(rc != 0 and "notWritable" in err,
         "serve --snmp: read-only unless granted", err)
    # SIGHUP: pdu1 gone, ups3 new
    with open(inv, "w") as f:
        f.write('devices = { ups1 = { uri = "sim:ups-mib" },\n'
                '  ups3 = { uri = "sim:ups-mib" } }\n')
    serve.send_signal(signal.SIGHUP)
    w = {}
    for _ in range(50):
        w = walk(port, "ups3", ".1.3.6.1.2.1.33")
        if w.get(UPS + "1.1.0"):
            break
        time.sleep(0.2)
    T.eq(w.get(UPS + "1.1.0"), 'STRING: "ohm"', "SIGHUP: a new device served")
    rc, out, err = snmp("snmpget", port, "pdu1", BKT + "1.0")
    T.ok(rc != 0, "SIGHUP: a device gone is no longer served", out)
    with open(inv, "w") as f:  # as it was, for the AgentX test
        f.write('devices = { ups1 = { uri = "sim:ups-mib" },\n'
                '  pdu1 = { uri = "sim:bps2000v2" } }\n')
    return fromnut


def agentx(work, fromnut):
    if not os.path.exists("/usr/sbin/snmpd"):
        return T.skip("agentx", "snmpd not installed")
    sock, port = os.path.join(work, "agentx.sock"), free_port("udp")
    conf = os.path.join(work, "snmpd.conf")
    with open(conf, "w") as f:
        f.write(f"master agentx\nagentXSocket {sock}\n"
                "com2sec -Cn ups1 s_ups1 127.0.0.1 ups1\n"
                "group g_ups1 v2c s_ups1\nview all included .1\n"
                "access g_ups1 ups1 any noauth exact all none none\n")
    start("/usr/sbin/snmpd", "-f", "-Lo", "-C", "-c", conf,
          "-p", os.path.join(work, "snmpd.pid"), f"udp:127.0.0.1:{port}",
          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    T.ok(wait_port(port, "udp", 10), "snmpd (master agentx) starts")
    # snmpd makes the socket file before it listens: wait until it accepts
    for _ in range(100):
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as c:
                c.connect(sock)
            break
        except OSError:
            time.sleep(0.1)
    inv = os.path.join(work, "inv.lua")
    err = os.path.join(work, "agentx.err")
    start(OHM, "--config", inv, "serve", "--agentx", sock, "--interval",
          "60", "-q", stderr=open(err, "w"))
    got = {}
    for _ in range(50):  # the subagent registers after its first poll
        got = parse(ohm("get", "-d", "ups-mib", "--timeout", "1",
                        f"snmp://ups1@127.0.0.1:{port}").stdout)
        if got:
            break
        time.sleep(0.3)
    T.ok(got.get("device.mfr") == "ohm" and got.get("ups.status") == "OL",
         "serve --agentx: snmpd serves the UPS-MIB of ohm's device",
         (got, open(err).read()))
    w = walk(port, "ups1", ".1.3.6.1.2.1.33")
    T.ok(all(any(k.startswith(UPS + g) for k in w)
             for g in ("1.", "2.", "3.", "4.", "6.")),
         "serve --agentx: snmpwalk through snmpd shows the UPS-MIB groups", w)


ACME = ".1.3.6.1.4.1.99999.1."


def serve_grants(work):
    """The inventory's agent section: a community that may SET, v3 users;
    SETs validated by the map and written to the device."""
    drivers = os.path.join(work, "drivers")
    os.makedirs(drivers, exist_ok=True)
    with open(os.path.join(drivers, "acme.lua"), "w") as f:
        f.write('return { name = "acme", mfr = "ACME", model = "M1",\n'
                ' type = "meter", vars = {\n'
                ' { name = "input.voltage", reg = 0, scale = 0.1,'
                ' unit = "V", oid = "%s1.0" },\n'
                ' { name = "input.current.high.critical", reg = 1,'
                ' scale = 0.1, unit = "A", access = "rw", min = 0,'
                ' max = 63, oid = "%s2.0" } } }\n' % (ACME, ACME))
    inv = os.path.join(work, "grants.lua")
    with open(inv, "w") as f:
        f.write('devices = { m1 = { uri = "sim:acme" } }\n'
                'agent = { communities = { opsrw = { device = "m1",'
                ' set = true } },\n users = {'
                ' admin = { auth_pass = "authpass123", priv_pass ='
                ' "privpass123", set = true },\n'
                ' viewer = { auth_pass = "viewpass123" } } }\n')
    port = free_port("udp")
    start(OHM, "--config", inv, "serve", "--snmp", str(port), "--interval",
          "60", "-q", stderr=subprocess.DEVNULL,
          env=dict(os.environ, OHM_DRIVERS=drivers))
    T.ok(wait_port(port, "udp", 15), "serve --snmp with an agent section")
    oid = ACME + "2.0"
    rc, out, err = snmp("snmpset", port, "m1", oid, "s", "12.5")
    T.ok(rc != 0 and "notWritable" in err,
         "agent: the device-name community is read-only", err)
    rc, out, err = snmp("snmpset", port, "opsrw", oid, "s", "12.5")
    T.eq((rc, err), (0, ""), "agent: a community granted SET writes")
    got = None
    for _ in range(30):
        rc, out, err = snmp("snmpget", port, "m1", oid)
        got = out.strip()
        if got.endswith('"12.5"'):
            break
        time.sleep(0.2)
    T.ok(got.endswith('"12.5"'), "agent: the device holds the new value", got)
    rc, out, err = snmp("snmpset", port, "opsrw", oid, "s", "99")
    T.ok(rc != 0 and "wrongValue" in err,
         "agent: a value the map refuses (above 63 A) is wrongValue", err)
    rc, out, err = snmp("snmpget", port, "m1", oid)
    T.ok(out.strip().endswith('"12.5"'), "agent: nothing written", out)
    v3 = ["-v3", "-l", "authPriv", "-a", "SHA", "-x", "AES", "-n", "m1",
          "-t", "2", "-r", "0", "-On", f"127.0.0.1:{port}"]
    r = subprocess.run(["snmpset", "-u", "admin", "-A", "authpass123", "-X",
                        "privpass123", *v3, oid, "s", "20"],
                       capture_output=True, text=True, timeout=20)
    T.eq((r.returncode, r.stderr), (0, ""), "agent: v3 user with SET, context"
         " = device name")
    r = subprocess.run(["snmpget", "-u", "viewer", "-l", "authNoPriv", "-a",
                        "SHA", "-A", "viewpass123", "-n", "m1", "-On",
                        f"127.0.0.1:{port}", oid], capture_output=True,
                       text=True, timeout=20)
    T.ok(r.returncode == 0 and r.stdout.strip().endswith('"20"'),
         "agent: a v3 read-only user reads it", r.stdout + r.stderr)
    r = subprocess.run(["snmpset", "-u", "viewer", "-l", "authNoPriv", "-a",
                        "SHA", "-A", "viewpass123", "-n", "m1", "-On",
                        f"127.0.0.1:{port}", oid, "s", "30"],
                       capture_output=True, text=True, timeout=20)
    T.ok(r.returncode != 0 and "notWritable" in r.stderr,
         "agent: a v3 user without SET is refused", r.stderr)
    r = subprocess.run(["snmpget", "-u", "admin", "-A", "wrongpass99", "-X",
                        "privpass123", *v3, oid], capture_output=True,
                       text=True, timeout=20)
    T.ok(r.returncode != 0, "agent: a wrong passphrase gets nothing",
         r.stdout)


def lazy():
    """The agent and MQTT libraries are loaded on first use only."""
    r = ohm("get", "sim:bps2000v2", "device.mfr",
            env={"LD_DEBUG": "files"})
    T.ok(r.returncode == 0 and "libnetsnmp" not in r.stderr and
         "libmosquitto" not in r.stderr,
         "ohm get over Modbus loads neither net-snmp's agent nor mosquitto",
         [l for l in r.stderr.splitlines() if "calling init" in l][:20])
    r = ohm("get", "sim:ups-mib", "device.mfr", env={"LD_DEBUG": "files"})
    T.ok(r.returncode == 0 and "libnetsnmpagent" in r.stderr,
         "sim:ups-mib loads the agent library when it needs it")


def traps(work):
    """A UPS going on battery becomes RFC 1628 traps at snmptrapd."""
    if not shutil.which("snmptrapd"):
        return T.skip("traps", "snmptrapd not installed")
    tport, log = free_port("udp"), os.path.join(work, "traps.log")
    conf = os.path.join(work, "snmptrapd.conf")
    with open(conf, "w") as f:
        f.write("disableAuthorization yes\n")
    start("snmptrapd", "-f", "-On", "-Lf", log, "-C", "-c", conf,
          f"udp:127.0.0.1:{tport}", stdout=subprocess.DEVNULL,
          stderr=subprocess.DEVNULL)
    T.ok(wait_port(tport, "udp", 10), "snmptrapd starts")
    sim_port = sim("ups-mib")
    inv = os.path.join(work, "traps.lua")
    with open(inv, "w") as f:
        f.write('devices = { ups9 = { uri = "snmp://public@127.0.0.1:%d",'
                ' driver = "ups-mib" } }\n'
                'agent = { traps = { "127.0.0.1:%d" } }\n' % (sim_port, tport))
    port = free_port("udp")
    start(OHM, "--config", inv, "serve", "--snmp", str(port), "--interval",
          "0.3", "-q", stderr=subprocess.DEVNULL)
    wait_port(port, "udp", 15)
    time.sleep(1)
    snmp("snmpset", sim_port, "public", UPS + "4.1.0", "i", "5")
    text = ""
    for _ in range(50):
        text = open(log).read() if os.path.exists(log) else ""
        if ".1.3.6.1.2.1.33.2.3" in text:
            break
        time.sleep(0.2)
    T.ok(".1.3.6.1.2.1.33.2.1" in text,
         "on battery: upsTrapOnBattery reaches snmptrapd", text)
    T.ok(".1.3.6.1.2.1.33.2.3" in text and ".1.3.6.1.2.1.33.1.6.3.2" in text,
         "on battery: upsTrapAlarmEntryAdded upsAlarmOnBattery", text)
    snmp("snmpset", sim_port, "public", UPS + "4.1.0", "i", "3")
    for _ in range(50):
        text = open(log).read()
        if ".1.3.6.1.2.1.33.2.4" in text:
            break
        time.sleep(0.2)
    T.ok(".1.3.6.1.2.1.33.2.4" in text,
         "back on line: upsTrapAlarmEntryRemoved", text)


def main():
    if not shutil.which("snmpwalk"):
        T.skip("snmp_agent", "snmpwalk not installed")
        return
    lazy()
    ups_sim()
    bps_sim()
    in_process()
    work = tempfile.mkdtemp()
    fromnut = serve_agent(work)
    agentx(work, fromnut)
    serve_grants(work)
    traps(work)
    stop_all(check_ohm=True)


run(main)
