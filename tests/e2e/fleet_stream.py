"""`ohm poll` over a fleet larger than its window (issue 17): 300 Modbus
TCP devices from one python-sockets farm (tests/modbus_farm.py, each device
with values of its own), among them a device that refuses the connection,
one that never answers, one that answers garbage, and one named by host
name. Every good device's rows come out complete, in inventory order, with
its own values; each bad one is one error line with its reason; rows are
streamed as devices finish (the table too, in fixed columns) while a slow
device is still waiting; numeric hosts are connected without a name
lookup, a host name is still resolved; a device read the blocking way
does not time out the others; 300 SNMP agents fit 200 descriptors."""
import json
import os
import resource
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.environ["OHM_TOP"], "tests"))
from lib import (  # noqa: E402
    T, OHM, ohm, free_port, wait_port, PY, procs, run, inventory)

TMP = os.environ.get("TMPDIR", "/tmp")
FARM = os.path.join(os.environ["OHM_TOP"], "tests", "modbus_farm.py")
NGOOD = 300


def start_farm(*counts):
    p = subprocess.Popen([PY, FARM, *map(str, counts)],
                         stdout=subprocess.PIPE, text=True)
    procs.append(p)
    return json.loads(p.stdout.readline())


def fleet(ports):
    """(name, uri, j) in inventory (name) order; j the farm's device index,
    or a reason for the bad ones."""
    devs = [(f"pdu{j:03d}", f"modbus-tcp://127.0.0.1:{p}", j)
            for j, p in enumerate(ports["good"])]
    devs[10] = ("pdu010", f"modbus-tcp://localhost:{ports['good'][10]}", 10)
    devs[5] = ("pdu005", f"modbus-tcp://127.0.0.1:{free_port()}", "refused")
    devs[150] = ("pdu150", f"modbus-tcp://127.0.0.1:{ports['silent'][0]}",
                 "timed out")
    devs[290] = ("pdu290", f"modbus-tcp://127.0.0.1:{ports['garbage'][0]}",
                 "malformed reply")
    return devs


def check_csv(r, devs):
    rows = {}
    order = []
    lines = r.stdout.splitlines()
    T.ok(lines[:1] == ["device,name,value"] and
         lines.count("device,name,value") == 1, "--csv: one header")
    for ln in lines[1:]:
        dev, name, val = ln.split(",", 2)
        if not order or order[-1] != dev:
            order.append(dev)
        rows.setdefault(dev, {})[name] = val
    good = [d for d in devs if isinstance(d[2], int)]
    T.eq(order, [d[0] for d in good],
         "every good device's rows, together, in inventory order")
    counts = {len(v) for v in rows.values()}
    T.ok(len(counts) == 1 and counts.pop() > 50,
         "every good device's rows are complete (the same count each)")
    wrong = [name for name, _, j in good
             if rows.get(name, {}).get("input.L1-N.voltage") !=
             f"{200 + j / 10:g}" or
             rows.get(name, {}).get("input.L1.current") != f"{1 + j / 100:g}"]
    T.eq(wrong, [], "every good device shows its own values")
    for name, _, why in devs:
        if isinstance(why, str):
            errs = [ln for ln in r.stderr.splitlines()
                    if ln.startswith(f"ohm: {name}: ")]
            T.ok(len(errs) == 1 and why in errs[0],
                 f"{name}: one error line ({why})", r.stderr[-400:])
    T.eq(len(r.stderr.splitlines()), 3, "no other error line")


def streamed_table(ports):
    """A good device's table rows are out while a silent one waits."""
    cfg = inventory(os.path.join(TMP, "stream.lua"), [
        ("a-good", f"modbus-tcp://127.0.0.1:{ports['good'][1]}"),
        ("b-silent", f"modbus-tcp://127.0.0.1:{ports['silent'][0]}")])
    p = subprocess.Popen([OHM, "poll", "--config", cfg, "--timeout", "4",
                          "--retries", "0"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    procs.append(p)
    head = p.stdout.readline()
    first = p.stdout.readline()
    running = p.poll() is None
    rest, err = p.communicate(timeout=30)
    T.ok(first.startswith("a-good ") and running,
         "table rows come out while a slow device is still waiting",
         f"{first!r} running={running}")
    lines = [head, first] + rest.splitlines(keepends=True)
    cols = {ln.index(ln.split()[2], len(ln.split()[0]) + 2 +
                     len(ln.split()[1])) for ln in lines if ln.strip()}
    T.ok(head.split() == ["DEVICE", "NAME", "VALUE"] and len(cols) == 1,
         "the table's columns line up (fixed widths)", lines[:3])
    T.eq(p.returncode, 3, "the silent device fails: exit 3")
    T.ok("ohm: b-silent: " in err and "timed out" in err,
         "the silent device's error line", err)


def no_lookup(ports):
    """Numeric hosts: no getaddrinfo (its netlink socket), one TCP socket
    a device; a host name is still resolved."""
    if not shutil.which("strace"):
        T.skip("no name lookup for numeric hosts", "strace not installed")
        return
    devs = [(f"n{j:02d}", f"modbus-tcp://127.0.0.1:{p}")
            for j, p in enumerate(ports["good"][:20])]
    cfg = inventory(os.path.join(TMP, "numeric.lua"), devs)
    trace = os.path.join(TMP, "strace.txt")
    env = dict(os.environ)  # LeakSanitizer cannot run under ptrace
    env["ASAN_OPTIONS"] = env.get("ASAN_OPTIONS", "") + ":detect_leaks=0"
    r = subprocess.run(["strace", "-f", "-e", "trace=socket", "-o", trace,
                        OHM, "poll", "--config", cfg, "--csv"],
                       capture_output=True, text=True, timeout=60, env=env)
    with open(trace) as f:
        calls = f.read()
    T.ok(r.returncode == 0, "20 numeric devices read", r.stderr[-300:])
    T.ok("AF_NETLINK" not in calls and calls.count("AF_INET,") == 20,
         "numeric hosts: one socket a device, no name lookup",
         calls[-400:])


def busy_loop(ports):
    """A device the loop hands to the blocking path (its block refused,
    then silent: 1 s) while others' replies arrive: those are read, not
    timed out because their deadline passed while the loop was busy."""
    devs = [("a-trap", f"modbus-tcp://127.0.0.1:{ports['trap'][0]}")] + [
        (f"late{j:02d}", f"modbus-tcp://127.0.0.1:{p}")
        for j, p in enumerate(ports["late"])]
    cfg = inventory(os.path.join(TMP, "busy.lua"), devs)
    r = ohm("poll", "--config", cfg, "--csv", "--timeout", "1",
            "--retries", "0", "input.L1-N.voltage", timeout=60)
    got = {ln.split(",")[0]: ln.split(",")[2]
           for ln in r.stdout.splitlines()[1:]}
    T.eq(got, {f"late{j:02d}": f"{300 + j / 10:g}"
               for j in range(len(ports["late"]))},
         "replies that came while the loop was busy are read")
    T.ok(r.returncode == 3 and r.stderr.count("ohm: ") == 1 and
         "ohm: a-trap: " in r.stderr, "only the refusing device fails",
         r.stderr)


def start_snmpd():
    """One snmpd serving a BPS2000v2 master subtree as decimal text (as
    bench/fair.py does); its UDP port, or None if it cannot run."""
    if not shutil.which("snmpd"):
        return None
    import snmplib
    port = free_port("udp")
    d = os.path.join(TMP, "snmpd")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "snmpd.conf"), "w") as f:
        f.write(f"agentAddress udp:127.0.0.1:{port}\n"
                "rocommunity public 127.0.0.1\n")
        for line in snmplib.bps_records("text", units=[0]):
            o, _, v = line.split("|", 2)
            if o.startswith(snmplib.BKT + ".2."):
                f.write(f'override .{o} octet_str "{v}"\n')
    procs.append(subprocess.Popen(
        ["snmpd", "-f", "-Lf", os.path.join(d, "log"), "-C", "-c",
         os.path.join(d, "snmpd.conf"), "-M", "/nonexistent", "-m", ""],
        env=dict(os.environ, SNMP_PERSISTENT_DIR=d, MIBS=""),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    return port if wait_port(port, "udp", 10) else None


def snmp_window():
    """300 SNMP devices (one snmpd under 300 names, a session each) under
    a 200-descriptor limit: read through a window, never 300 sessions at
    once, so every one is read."""
    port = start_snmpd()
    if not port:
        T.skip("300 SNMP agents under 200 descriptors", "no snmpd")
        return
    cfg = inventory(os.path.join(TMP, "agents.lua"), [
        (f"pdu{j:03d}", f"snmp://public@127.0.0.1:{port}")
        for j in range(300)])
    r = subprocess.run([OHM, "poll", "--config", cfg, "--csv", "--timeout",
                        "5", "input.L1-N.voltage"], capture_output=True,
                       text=True, timeout=120, preexec_fn=lambda:
                       resource.setrlimit(resource.RLIMIT_NOFILE,
                                          (200, 200)))
    rows = r.stdout.splitlines()[1:]
    T.ok(r.returncode == 0 and len(rows) == 300 and
         all(ln.endswith(",input.L1-N.voltage,230.1") for ln in rows),
         "300 SNMP agents under 200 descriptors: all read",
         f"{r.returncode} {len(rows)} {rows[:1]} {r.stderr[-300:]}")


def main():
    ports = start_farm(NGOOD, 1, 1, 20, 1)
    devs = fleet(ports)
    cfg = inventory(os.path.join(TMP, "fleet.lua"),
                    [(n, u) for n, u, _ in devs])
    t0 = time.time()
    r = ohm("poll", "--config", cfg, "--csv", "--timeout", "4",
            "--retries", "0", timeout=120)
    elapsed = time.time() - t0
    T.eq(r.returncode, 3, "some devices failed: exit 3")
    check_csv(r, devs)
    T.ok(elapsed < 30, "300 devices and a 4 s timeout within 30 s",
         f"{elapsed:.1f} s")
    # 600 descriptors: a window of 88, so slots are reused and devices
    # wait for the first unfinished one to be printed
    lim = subprocess.run([OHM, "poll", "--config", cfg, "--csv", "--timeout",
                          "4", "--retries", "0"], capture_output=True,
                         text=True, timeout=120, preexec_fn=lambda:
                         resource.setrlimit(resource.RLIMIT_NOFILE,
                                            (600, 600)))
    T.eq(lim.stdout, r.stdout, "600 descriptors: the same rows")
    T.eq(sorted(lim.stderr.splitlines()), sorted(r.stderr.splitlines()),
         "600 descriptors: the same errors")
    j = ohm("poll", "--config", cfg, "--json", "--timeout", "4",
            "--retries", "0", timeout=120)
    try:
        out = json.loads(j.stdout)
    except ValueError:
        out = {}
    T.eq(list(out), [d[0] for d in devs], "--json: every device, in order")
    odd = [(n, out.get(n)) for n, _, w in devs
           if ("error" in out.get(n, {})) != isinstance(w, str)]
    T.eq(odd, [], "--json: an error object for each bad one, only them")
    T.eq(out.get("pdu010", {}).get("input.L1-N.voltage"), 201,
         "a device named by host name is resolved and read")
    streamed_table(ports)
    no_lookup(ports)
    busy_loop(ports)
    snmp_window()


run(main)
