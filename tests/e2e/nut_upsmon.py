"""NUT's own upsmon as primary and two secondaries against `ohm serve
--nut` and, side by side in the same test, against real upsd + dummy-ups
(PEERS.md): when the UPS goes OB+LB, every secondary shuts down before
the primary (which waits for them to log out, as NUMLOGINS tells it), and
ohm's order and timing match upsd's. SHUTDOWNCMD writes who and when."""
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.environ["OHM_TOP"], "tests"))
from lib import T, OHM, free_port, start, run, wait_port  # noqa: E402
from ups_agent import start_agent, ups  # noqa: E402

TMP = os.environ.get("TMPDIR", "/tmp")
NUT = "/lib/nut"
USERS = {"mon": ("pw1", "primary"), "sec": ("pw2", "secondary")}
pidfiles = []


def nut_env(d):
    return dict(os.environ, NUT_CONFPATH=d, NUT_STATEPATH=d)


def start_upsd(port):
    d = os.path.join(TMP, "upsd")
    os.makedirs(d)
    open(os.path.join(d, "ups.conf"), "w").write(
        "[ups1]\n  driver = dummy-ups\n  port = ups1.dev\n  desc = \"t\"\n")
    open(os.path.join(d, "ups1.dev"), "w").write(
        "ups.status: OL\nbattery.charge: 100\n")
    open(os.path.join(d, "upsd.conf"), "w").write(f"LISTEN 127.0.0.1 {port}\n")
    open(os.path.join(d, "upsd.users"), "w").write("".join(
        f"[{u}]\n  password = {p}\n  upsmon {r}\n"
        for u, (p, r) in USERS.items()))
    for f in os.listdir(d):
        os.chmod(os.path.join(d, f), 0o600)
    start(f"{NUT}/dummy-ups", "-a", "ups1", "-F", "-u", "root",
          env=nut_env(d), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1)
    start(f"{NUT}/upsd", "-F", "-u", "root", env=nut_env(d),
          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return d


def start_ohm(port, state):
    aport = free_port("udp")
    start_agent(TMP, aport, state)
    cfg = os.path.join(TMP, "inv.lua")
    open(cfg, "w").write(
        f'devices = {{ ups1 = {{ uri = "snmp://public@127.0.0.1:{aport}", '
        'driver = "ups-mib" } }\nnut = { users = {\n' + "".join(
            f'  {u} = {{ password = "{p}", upsmon = "{r}" }},\n'
            for u, (p, r) in USERS.items()) + "} }\n")
    start(OHM, "serve", "--config", cfg, "--nut", f"127.0.0.1:{port}",
          "--interval", "0.5", "-q")


def start_upsmon(tag, name, port, user, log):
    d = os.path.join(TMP, f"mon-{tag}-{name}")
    os.makedirs(d)
    pw, role = USERS[user]
    conf = os.path.join(d, "upsmon.conf")
    open(conf, "w").write(
        "RUN_AS_USER root\n"
        f"MONITOR ups1@127.0.0.1:{port} 1 {user} {pw} {role}\n"
        "MINSUPPLIES 1\n"
        f"SHUTDOWNCMD \"/bin/sh -c 'echo {name} $(date +%s.%N) >> {log}'\"\n"
        "POLLFREQ 1\nPOLLFREQALERT 1\nHOSTSYNC 10\nDEADTIME 15\n"
        f"FINALDELAY 0\nPOWERDOWNFLAG {d}/killpower\n")
    os.chmod(conf, 0o600)
    argv0 = os.path.join(d, f"upsmon-{tag}-{name}-{os.getpid()}")
    os.symlink(f"{NUT}/upsmon", argv0)
    pidfiles.append(f"/run/nut/{os.path.basename(argv0)}.pid")
    start(argv0, "-F", "-p", env=nut_env(d), stdout=subprocess.DEVNULL,
          stderr=subprocess.DEVNULL)


def shutdowns(log):
    try:
        return [(l.split()[0], float(l.split()[1])) for l in open(log)]
    except FileNotFoundError:
        return []


def main():
    if not os.path.exists(f"{NUT}/upsmon") or not os.path.exists(
            f"{NUT}/upsd"):
        T.ok(False, "NUT's upsd, upsmon and dummy-ups installed")
        return
    os.makedirs("/run/nut", exist_ok=True)
    uport, oport = free_port(), free_port()
    state = os.path.join(TMP, "ups.json")
    d = start_upsd(uport)
    start_ohm(oport, state)
    T.ok(wait_port(uport) and wait_port(oport), "upsd and ohm listen")
    logs = {}
    for tag, port in (("upsd", uport), ("ohm", oport)):
        logs[tag] = os.path.join(TMP, f"shutdown-{tag}.log")
        for name, user in (("primary", "mon"), ("secondary1", "sec"),
                           ("secondary2", "sec")):
            start_upsmon(tag, name, port, user, logs[tag])
    time.sleep(4)  # every upsmon logged in and polling
    t0 = time.time()
    dev = os.path.join(d, "ups1.dev")
    open(dev, "w").write("ups.status: OB LB\nbattery.charge: 5\n")
    os.utime(dev, (t0 + 2, t0 + 2))  # dummy-ups needs a whole second
    ups(state, source=5, battery=3)
    end = time.time() + 30
    while time.time() < end and not all(len(shutdowns(l)) == 3
                                        for l in logs.values()):
        time.sleep(0.1)
    order = {}
    for tag, log in logs.items():
        got = shutdowns(log)
        order[tag] = [n for n, _ in got]
        T.ok(len(got) == 3 and got[-1][0] == "primary",
             f"{tag}: both secondaries shut down before the primary", got)
        T.ok(len(got) == 3 and got[-1][1] - t0 < 20,
             f"{tag}: all within 20 s", [t - t0 for _, t in got])
    u, o = shutdowns(logs["upsd"]), shutdowns(logs["ohm"])
    if len(u) == 3 and len(o) == 3:
        du = [t - t0 for _, t in u]
        do = [t - t0 for _, t in o]
        print(f"# upsd: {[f'{n} {t:.2f}' for (n, _), t in zip(u, du)]}")
        print(f"# ohm:  {[f'{n} {t:.2f}' for (n, _), t in zip(o, do)]}")
        T.ok(abs(do[-1] - du[-1]) < 3,
             "the primary's shutdown comes as late after ohm as after upsd "
             f"(ohm {do[-1]:.1f} s, upsd {du[-1]:.1f} s)")
        T.ok(max(do[:2]) - min(do[:2]) < 2.5,
             "ohm's secondaries shut down together, as with upsd")


try:
    run(main)
finally:
    for p in pidfiles:
        if os.path.exists(p):
            os.unlink(p)
