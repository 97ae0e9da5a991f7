"""SNMP peers for the end-to-end tests and the benchmark: snmpsim (Debian's
snmpsimd 0.4.5) with generated .snmprec files, and net-snmp's snmpd with a
generated snmpd.conf. Both on 127.0.0.1, started and killed by the caller.

BPS2000v2 data follow the manual's section 10.1: subtree .1.N (N = 2
master, 3..7 slave one to five), 37 fields each. Values are made from the
unit and field so that each unit's numbers differ.
"""
import os, shutil, subprocess, sys, time

BKT = "1.3.6.1.4.1.47394.1"
UPS = "1.3.6.1.2.1.33.1"

# field -> (var name, value in the var's unit, INTEGER scale as the map's
# registers: INTEGER = value / scale)
def bps_fields(unit):
    f = {}
    for x in (1, 2, 3):
        b, L = 9 * (x - 1), f"input.L{x}"
        f[b + 1] = (f"{L}.current", 10 + unit + x / 100, 0.01)
        f[b + 2] = (f"{L}-N.voltage", 230 + unit + x / 10, 0.1)
        f[b + 3] = (f"{L}.realpower", 2000 + 100 * unit + x + 0.5, 0.1)
        f[b + 4] = (f"{L}.reactivepower", 100 + unit + x / 10, 0.1)
        f[b + 5] = (f"{L}.power", 2100 + 100 * unit + x / 10, 0.1)
        f[b + 6] = (f"{L}.frequency", 50 + x / 100, 0.01)
        f[b + 7] = (f"{L}.energy", 1800.123 + unit + x, 0.001)
        f[b + 8] = (f"{L}.energy.apparent", 2000.5 + unit + x, 0.001)
        f[b + 9] = (f"{L}.powerfactor", 0.9 + x / 100, 0.01)
    f[28] = ("ambient.temperature", 20 + unit + 0.5, 0.1)
    f[29] = ("ambient.1.temperature", -5.5 - unit, 0.1)
    f[30] = ("ambient.2.temperature", 30.1 + unit, 0.1)
    f[31] = ("ambient.humidity", 40 + unit + 0.2, 0.1)
    f[32] = ("ambient.1.humidity", 50 + unit + 0.3, 0.1)
    f[33] = ("ambient.2.humidity", 60 + unit + 0.4, 0.1)
    f[34] = ("ambient.smoke", 2, 1)
    f[35] = ("ambient.water", 1 if unit == 3 else 2, 1)
    f[36] = ("ambient.contacts.1.status", 1, 1)
    f[37] = ("ambient.contacts.2.status", 2, 1)
    return f

ENUMS = {"ambient.smoke": {1: "yes", 2: "no"},
         "ambient.water": {1: "yes", 2: "no"},
         "ambient.contacts.1.status": {1: "open", 2: "closed"},
         "ambient.contacts.2.status": {1: "open", 2: "closed"}}


def fmt(x):
    """A number as ohm prints it (no trailing zeros)."""
    s = f"{x:.6f}".rstrip("0").rstrip(".")
    return "0" if s == "-0" else s


def bps_expected(unit):
    """var name -> the text `ohm get` should print for that unit."""
    out = {}
    for _, (name, val, _) in bps_fields(unit).items():
        out[name] = ENUMS[name][val] if name in ENUMS else fmt(val)
    return out


def bps_records(encoding="text", units=range(6), skip=(), bad=None):
    """snmprec lines: encoding "text" (OCTET STRING decimal text) or "int"
    (INTEGER scaled like the registers). skip: (unit, field) pairs left
    out; bad: {(unit, field): "text"} sent as an OCTET STRING."""
    lines = [f"{BKT}.1.1.0|4|BPS2000v2 test"]
    for u in units:
        for fld, (name, val, scale) in sorted(bps_fields(u).items()):
            if (u, fld) in skip:
                continue
            oid = f"{BKT}.{u + 2}.{fld}.0"
            if bad and (u, fld) in bad:
                lines.append(f"{oid}|4|{bad[(u, fld)]}")
            elif encoding == "int":
                lines.append(f"{oid}|2|{round(val / scale)}")
            else:
                lines.append(f"{oid}|4|{fmt(val)}")
    return sorted(lines, key=lambda l: [int(p) for p in l.split("|")[0]
                                        .split(".")])


def ups_records(source=5, battery=3, minutes=7, charge=18, skip=()):
    """An RFC 1628 UPS (upsOutputSource 5 = battery, upsBatteryStatus
    3 = low by default)."""
    objs = {
        "1.1.0": (4, "IEI"), "1.2.0": (4, "AUPS2-B20"),
        "1.3.0": (4, "1.02"), "1.4.0": (4, "agent 2.1"),
        "2.1.0": (2, battery), "2.2.0": (2, 300), "2.3.0": (2, minutes),
        "2.4.0": (2, charge), "2.5.0": (2, 236), "2.6.0": (2, -52),
        "2.7.0": (2, 31), "3.2.0": (2, 1), "3.3.1.2.1": (2, 0),
        "3.3.1.3.1": (2, 0), "4.1.0": (2, source), "4.2.0": (2, 500),
        "4.3.0": (2, 1), "4.4.1.2.1": (2, 24), "4.4.1.3.1": (2, 83),
        "4.4.1.4.1": (2, 199), "4.4.1.5.1": (2, 40), "6.1.0": (66, 2),
    }
    lines = [f"1.3.6.1.2.1.1.1.0|4|IEI AUPS2-B20"]
    for k, (tag, v) in objs.items():
        if k not in skip:
            lines.append(f"{UPS}.{k}|{tag}|{v}")
    return sorted(lines, key=lambda l: [int(p) for p in l.split("|")[0]
                                        .split(".")])


def _open_up(path):
    """snmpsim drops root to nobody: let it read the data and the path."""
    if os.getuid() != 0:
        return
    p = os.path.abspath(path)
    while p not in ("/", ""):
        try:
            os.chmod(p, os.stat(p).st_mode | 0o755)
        except OSError:
            pass
        p = os.path.dirname(p)


def start_snmpsim(workdir, communities, endpoints, log=None):
    """Start one snmpsimd serving communities ({name: [lines]}) on each of
    endpoints (UDP ports on 127.0.0.1). Returns the Popen (caller kills).
    Waits until the first endpoint answers (bounded)."""
    data = os.path.join(workdir, "data")
    cache = os.path.join(workdir, "cache")
    for d in (data, cache):
        os.makedirs(d, exist_ok=True)
    for name, lines in communities.items():
        with open(os.path.join(data, name + ".snmprec"), "w") as f:
            f.write("\n".join(lines) + "\n")
    _open_up(data)
    os.chmod(cache, 0o777)
    argv = ["snmpsimd", "--data-dir=" + data, "--cache-dir=" + cache,
            "--logging-method=" + ("file:" + log if log else "null")]
    if os.getuid() == 0:
        argv += ["--process-user=nobody", "--process-group=nogroup"]
        if log:
            open(log, "a").close()
            os.chmod(log, 0o666)
    if len(endpoints) > 100:
        argf = os.path.join(workdir, "args")
        with open(argf, "w") as f:
            for p in endpoints:
                f.write(f"--agent-udpv4-endpoint=127.0.0.1:{p}\n")
        _open_up(argf)
        argv.append("--args-from-file=" + argf)
    else:
        argv += [f"--agent-udpv4-endpoint=127.0.0.1:{p}" for p in endpoints]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL,
                            stderr=open(os.path.join(workdir, "snmpsim.err"),
                                        "w"))
    first = next(iter(communities))
    wait_answer(endpoints[0], first, proc, seconds=60)
    return proc


def wait_answer(port, community, proc=None, seconds=20.0, version="2c"):
    end = time.time() + seconds
    while time.time() < end:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError("agent exited with %s" % proc.returncode)
        r = subprocess.run(["snmpget", "-v" + version, "-c", community,
                            "-t", "0.3", "-r", "0", "-On",
                            f"127.0.0.1:{port}", "1.3.6.1.2.1.1.1.0",
                            ], capture_output=True, text=True)
        if r.returncode == 0 and "Timeout" not in r.stderr:
            return True
        time.sleep(0.1)
    raise RuntimeError(f"no agent on udp port {port} after {seconds} s")


def snmpsim_public(workdir, lines, endpoints):
    """Start one snmpsimd serving community public (the .snmprec lines)
    on each of endpoints ("HOST:PORT", any loopback address), without
    waiting; returns the Popen (caller kills)."""
    data, cache = os.path.join(workdir, "data"), os.path.join(workdir, "cache")
    for x in (data, cache):
        os.makedirs(x, exist_ok=True)
    with open(os.path.join(data, "public.snmprec"), "w") as f:
        f.write("\n".join(lines) + "\n")
    _open_up(data)
    os.chmod(cache, 0o777)
    argv = ["snmpsimd", "--data-dir=" + data, "--cache-dir=" + cache,
            "--logging-method=null"]
    argv += ["--agent-udpv4-endpoint=" + e for e in endpoints]
    if os.getuid() == 0:
        argv += ["--process-user=nobody", "--process-group=nogroup"]
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


def answers(host, port, seconds=60):
    """Whether an agent on host:port answers (community public) in time."""
    end = time.time() + seconds
    while time.time() < end:
        r = subprocess.run(["snmpget", "-v2c", "-c", "public", "-t", "0.3",
                            "-r", "0", "-On", "%s:%d" % (host, port),
                            "1.3.6.1.2.1.1.1.0"], capture_output=True,
                           text=True)
        if r.returncode == 0 and "Timeout" not in r.stderr:
            return True
        time.sleep(0.2)
    return False


SNMPD_USERS = [
    # name, auth, auth pass, priv, priv pass, access level
    ("shaaes", "SHA", "authpass-sha", "AES", "privpass-aes", "priv"),
    ("md5des", "MD5", "authpass-md5", "DES", "privpass-des", "priv"),
    ("sha256u", "SHA-256", "authpass-256", "AES", "privpass-256", "priv"),
    ("authonly", "SHA", "authpass-only", None, None, "auth"),
]


def start_snmpd(workdir, port):
    """net-snmp's snmpd on 127.0.0.1:port: rocommunity public, rwcommunity
    private, the SNMPD_USERS (shaaes may write), sysContact writable."""
    conf = os.path.join(workdir, "snmpd.conf")
    persist = os.path.join(workdir, "persist")
    os.makedirs(persist, exist_ok=True)
    lines = [f"agentAddress udp:127.0.0.1:{port}",
             "rocommunity public 127.0.0.1",
             "rwcommunity private 127.0.0.1",
             "sysDescr ohm test agent",
             "sysName ohmtest"]
    for name, a, ap, p, pp, lvl in SNMPD_USERS:
        lines.append(f'createUser {name} {a} "{ap}"' +
                     (f' {p} "{pp}"' if p else ""))
        lines.append(f"{'rwuser' if name == 'shaaes' else 'rouser'} "
                     f"{name} {lvl}")
    with open(conf, "w") as f:
        f.write("\n".join(lines) + "\n")
    env = dict(os.environ, SNMP_PERSISTENT_DIR=persist, MIBS="")
    proc = subprocess.Popen(["snmpd", "-f", "-Lf",
                             os.path.join(workdir, "snmpd.log"), "-C",
                             "-c", conf, "-M", "/nonexistent", "-m", ""],
                            stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env=env)
    wait_answer(port, "public", proc)
    return proc


def start_bm_snmpd(workdir, port, conf_lines, spawn=subprocess.Popen,
                   version="2c"):
    """net-snmp's snmpd on 127.0.0.1:port serving the BM100 subtree from
    tests/bm_pass.py (pass_persist), with conf_lines (communities, users,
    VACM, sysObjectID ...) before it; waits until community public
    answers over version. Returns the process (spawn's result)."""
    wrapper = os.path.join(workdir, "pass.sh")
    bm_pass = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                           "bm_pass.py")
    with open(wrapper, "w") as f:
        f.write(f"#!/bin/sh\nexec {sys.executable} {bm_pass}\n")
    os.chmod(wrapper, 0o755)
    conf = os.path.join(workdir, "snmpd.conf")
    with open(conf, "w") as f:
        f.write("\n".join([f"agentAddress udp:127.0.0.1:{port}"] +
                          list(conf_lines) +
                          [f"pass_persist .{BMG} {wrapper}"]) + "\n")
    p = spawn(["snmpd", "-f", "-Lf", os.path.join(workdir, "snmpd.log"),
               "-C", "-c", conf, "-M", "/nonexistent", "-m", ""],
              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
              env=dict(os.environ, SNMP_PERSISTENT_DIR=workdir, MIBS=""))
    wait_answer(port, "public", p, version=version)
    return p


def oid_key(oid):
    """A numeric OID as a list of ints, for OID order."""
    return [int(x) for x in oid.strip(".").split(".")]


def pass_lookup(objs, mode, oid):
    """snmpd pass_persist "get"/"getnext" of oid in objs {oid: (type,
    value)}: (oid, type, value) of oid itself or of the next OID, or None."""
    if mode == "get":
        hit = oid if oid in objs else None
    else:
        later = [o for o in objs if oid_key(o) > oid_key(oid)]
        hit = min(later, key=oid_key) if later else None
    return (hit, *objs[hit]) if hit else None


def pass_persist(lookup, write=None):
    """snmpd's pass_persist protocol on stdin/stdout, for a test's agent
    program. lookup(mode, oid): (oid, type, value) or None, as pass_lookup;
    write(oid, "TYPE VALUE"): the reply line of a set (without one, every
    set is not-writable). Empty lines (snmpd ends a set with one) are
    skipped; an unknown command ends the program."""
    for line in sys.stdin:
        cmd = line.strip()
        if not cmd:
            continue
        if cmd == "PING":
            out = "PONG\n"
        elif cmd in ("get", "getnext"):
            hit = lookup(cmd, sys.stdin.readline().strip())
            out = "%s\n%s\n%s\n" % hit if hit else "NONE\n"
        elif cmd == "set":
            oid = sys.stdin.readline().strip()
            typed = sys.stdin.readline().strip()
            out = write(oid, typed) if write else "not-writable\n"
        else:
            return
        sys.stdout.write(out)
        sys.stdout.flush()


def stop(proc):
    if proc and proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# ---- CyberPower BM100 (CPS-MIB battmgr, DESIGN.md "Driver cps-bm100") ----
BMG = "1.3.6.1.4.1.3808.1.1.7"


def bm_probe(s, b, strings, blocks):
    """The probe index of string s, block b: numbered block-major (all
    strings' block 1 first), so a row's number is never s * blocks + b."""
    return (b - 1) * strings + s


def bm_block(s, b):
    """One block's raw MIB values: {(table, column): value}."""
    status = 5 if (s, b) == (2, 3) else 2 if (s, b) == (1, 2) else 1
    return {(5, 6): status, (5, 7): 1300 + 10 * s + b, (5, 8): 10 * s + b,
            (7, 6): 1, (7, 7): 200 + 10 * s + b,
            (9, 6): 3 if (s, b) == (2, 3) else 1,
            (9, 7): 400 + 25 * s + 3 * b, (9, 8): 100 + 2 * s + b}


BM_NAMES = {(5, 6): ("voltage.status", None), (5, 7): ("voltage", 0.01),
            (5, 8): ("equalization", 1), (7, 6): ("temperature.status", None),
            (7, 7): ("temperature", 0.1), (9, 6): ("resistance.status", None),
            (9, 7): ("resistance", 0.01), (9, 8): ("resistance.health", 1)}
BM_STATUS = {1: "good", 2: "warning-low", 3: "warning-high",
             4: "critical-low", 5: "critical-high"}


def bm_expected(strings=2, blocks=4):
    """What `ohm get` prints for each block var of bm_records' data."""
    out = {}
    for s in range(1, strings + 1):
        for b in range(1, blocks + 1):
            pre = f"battery.string.{s}.block.{b}."
            out[pre + "pack"] = str(s)
            for key, raw in bm_block(s, b).items():
                name, scale = BM_NAMES[key]
                out[pre + name] = BM_STATUS[raw] if scale is None \
                    else fmt(raw * scale)
    return out


def bm_records(strings=2, blocks=4, swap=None, drop=(), retype=None,
               renumber=False):
    """A BM100's snmprec lines, sorted. swap = (table, probe, string,
    battery): that row of that table names another block; drop = (table,
    column, probe) cells left out; retype = (table, column, probe): that
    cell sent as a STRING; renumber: the probes numbered string-major and
    every block value 1 raw unit higher (the unit after a probe change)."""
    recs = {}

    def put(oid, tag, val):
        recs[oid] = f"{oid}|{tag}|{val}"
    put("1.3.6.1.2.1.1.1.0", 4, "CyberPower BM100")
    put("1.3.6.1.2.1.1.2.0", 6, "1.3.6.1.4.1.3808.1.1.7")
    ident = ["BM100", "1.0", "1.2.0", "LCD-1", "1.1", "01/02/2024",
             "QBM1234567", "bm-row-7", "room 3"]
    for i, v in enumerate(ident, 1):
        put(f"{BMG}.1.{i}.0", 4, v)
    for i, v in ((1, 4), (2, 40), (3, "2V-12V"), (4, 5)):
        put(f"{BMG}.2.{i}.0", 4 if isinstance(v, str) else 2, v)
    conf = [1000, strings, blocks, 105, 145, 10, 0, 450, 100, 2000, 150,
            1500, 130, 120, 1050, 1450, 2]
    for i, v in enumerate(conf, 1):
        put(f"{BMG}.3.{i}.0", 2, v)
    put(f"{BMG}.5.1.0", 2, strings * blocks)
    put(f"{BMG}.5.2.0", 2, strings * blocks)
    for s in range(1, strings + 1):
        for b in range(1, blocks + 1):
            p = (s - 1) * blocks + b if renumber else \
                bm_probe(s, b, strings, blocks)
            cells = {(3, 2): s, (3, 3): s, (3, 4): b}
            for t in (5, 7, 9):
                cells[(t, 3)], cells[(t, 4)] = s, b
            cells.update({k: v + (1 if renumber and k[1] in (7, 8) else 0)
                          for k, v in bm_block(s, b).items()})
            if swap and swap[1] == p:
                cells[(swap[0], 3)], cells[(swap[0], 4)] = swap[2], swap[3]
            for (t, c), v in cells.items():
                if (t, c, p) in drop:
                    continue
                tag = 4 if retype == (t, c, p) else 2
                put(f"{BMG}.5.{t}.1.{c}.{p}", tag, v)
    for i, v in ((1, 2), (3, 3), (4, "2026/11/30 10:00:00")):
        put(f"{BMG}.6.1.{i}.0", 4 if isinstance(v, str) else 2, v)
    for i, v in ((1, 1), (2, 1380), (3, 3), (4, "2026/11/29 08:00:00")):
        put(f"{BMG}.7.{i}.0", 4 if isinstance(v, str) else 2, v)
    put(f"{BMG}.7.5.0", 67, 360000)
    return [recs[k] for k in sorted(recs, key=lambda o: [
        int(x) for x in o.split(".")])]
