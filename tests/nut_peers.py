"""NUT's own programs as test peers (PEERS.md): real upsd + dummy-ups,
`ohm serve --nut` over a UPS simulated by snmpd (tests/ups_agent.py), and
upsmon instances (primary or secondary) whose SHUTDOWNCMD writes who shut
down and when. Each upsmon gets its own argv[0] (a symlink), so its PID
file is its own and `upsmon -c fsd` finds it; remove_pidfiles() cleans
up."""
import os
import subprocess
import time

from lib import OHM, free_port, start
from ups_agent import start_agent

NUT = "/lib/nut"
USERS = {"mon": ("pw1", "primary"), "sec": ("pw2", "secondary")}
pidfiles = []


def tmp():
    return os.environ.get("TMPDIR", "/tmp")


def installed():
    return all(os.path.exists(f"{NUT}/{p}")
               for p in ("upsmon", "upsd", "dummy-ups"))


def nut_env(d):
    return dict(os.environ, NUT_CONFPATH=d, NUT_STATEPATH=d)


def start_upsd(port):
    """upsd + dummy-ups serving ups1 (OL) from ups1.dev; the directory."""
    d = os.path.join(tmp(), "upsd")
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
    """ohm serve --nut on port over the simulated UPS (state file)."""
    aport = free_port("udp")
    start_agent(tmp(), aport, state)
    cfg = os.path.join(tmp(), "inv.lua")
    open(cfg, "w").write(
        f'devices = {{ ups1 = {{ uri = "snmp://public@127.0.0.1:{aport}", '
        'driver = "ups-mib" } }\nnut = { users = {\n' + "".join(
            f'  {u} = {{ password = "{p}", upsmon = "{r}" }},\n'
            for u, (p, r) in USERS.items()) + "} }\n")
    start(OHM, "serve", "--config", cfg, "--nut", f"127.0.0.1:{port}",
          "--interval", "0.5", "-q")


def start_upsmon(tag, name, port, user, log):
    """upsmon NAME watching ups1 on port as user; (argv0, env) to run
    `argv0 -c fsd` with."""
    d = os.path.join(tmp(), f"mon-{tag}-{name}")
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
    return argv0, nut_env(d)


def shutdowns(log):
    """[(name, time)] in the order SHUTDOWNCMD ran."""
    try:
        return [(l.split()[0], float(l.split()[1])) for l in open(log)]
    except FileNotFoundError:
        return []


def start_pair(state):
    """upsd and ohm, each with a primary and two secondaries; (logs by
    tag, the primaries' (argv0, env) by tag, the upsd directory)."""
    os.makedirs("/run/nut", exist_ok=True)
    uport, oport = free_port(), free_port()
    d = start_upsd(uport)
    start_ohm(oport, state)
    logs, prim = {}, {}
    for tag, port in (("upsd", uport), ("ohm", oport)):
        logs[tag] = os.path.join(tmp(), f"shutdown-{tag}.log")
        for name, user in (("primary", "mon"), ("secondary1", "sec"),
                           ("secondary2", "sec")):
            mon = start_upsmon(tag, name, port, user, logs[tag])
            if name == "primary":
                prim[tag] = mon
    return logs, prim, d, (uport, oport)


def wait_shutdowns(logs, seconds=30):
    end = time.time() + seconds
    while time.time() < end and not all(len(shutdowns(l)) == 3
                                        for l in logs.values()):
        time.sleep(0.1)


def remove_pidfiles():
    for p in pidfiles:
        if os.path.exists(p):
            os.unlink(p)


def numlogins(port):
    """GET NUMLOGINS ups1 on port, or -1."""
    import socket
    try:
        with socket.create_connection(("127.0.0.1", port), 2) as s:
            s.settimeout(2)
            s.sendall(b"GET NUMLOGINS ups1\n")
            line = s.makefile().readline().split()
            return int(line[2]) if line[:2] == ["NUMLOGINS", "ups1"] else -1
    except (OSError, ValueError, IndexError):
        return -1


def wait_logins(ports, n=3, seconds=30):
    """Until every upsmon has logged in on every port (NUMLOGINS = n)."""
    end = time.time() + seconds
    while time.time() < end:
        if all(numlogins(p) == n for p in ports):
            return True
        time.sleep(0.2)
    return False


def compare_timing(T, u, o, t0):
    """The shutdowns (name, time) under upsd (u) and ohm (o), printed, and
    checked to come in the same shape: the primary as late, the two
    secondaries together."""
    if len(u) != 3 or len(o) != 3:
        return
    du = [t - t0 for _, t in u]
    do = [t - t0 for _, t in o]
    print(f"# upsd: {[f'{n} {t:.2f}' for (n, _), t in zip(u, du)]}")
    print(f"# ohm:  {[f'{n} {t:.2f}' for (n, _), t in zip(o, do)]}")
    T.ok(abs(do[-1] - du[-1]) < 3,
         "the primary's shutdown comes as late after ohm as after upsd "
         f"(ohm {do[-1]:.1f} s, upsd {du[-1]:.1f} s)")
    T.ok(max(do[:2]) - min(do[:2]) < 2.5,
         "ohm's secondaries shut down together, as with upsd")
