"""ups-mib side by side with NUT's own snmp-ups driver (nut-snmp 2.8.0,
mibs=ietf) on the same snmpsim agents, read through a real /lib/nut/upsd
with upsc: a three-phase RFC 1628 UPS (upsInputNumLines =
upsOutputNumLines = 3) and a single-phase one. Every variable both report
has the same value; the three-phase agent gives NUT's Lx names and never
line 1 under the single-phase names. The comparison table is printed."""
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.environ["OHM_TOP"], "tests"))
from lib import T, ohm, free_port, wait_port, procs, start, run  # noqa
import snmplib  # noqa: E402

TMP = os.environ.get("TMPDIR", "/tmp")
UPS = snmplib.UPS
SNMP_UPS, UPSD = "/lib/nut/snmp-ups", "/lib/nut/upsd"
# NUT's own bookkeeping, not the device's
NUT_ONLY = ("driver.", "device.description", "ups.status",
            "input.bypass.phases")


def three_phase():
    objs = {"1.1.0": (4, "ACME"), "1.2.0": (4, "Tri 30k"),
            "1.3.0": (4, "4.2"), "1.4.0": (4, "card 1.1"),
            "2.1.0": (2, 2), "2.3.0": (2, 25), "2.4.0": (2, 97),
            "2.5.0": (2, 4080), "2.7.0": (2, 27), "3.2.0": (2, 3),
            "4.1.0": (2, 3), "4.2.0": (2, 500), "4.3.0": (2, 3),
            "6.1.0": (66, 0), "7.3.0": (2, 1), "8.5.0": (2, 1),
            "9.1.0": (2, 400), "9.2.0": (2, 500), "9.3.0": (2, 230),
            "9.4.0": (2, 500), "9.5.0": (2, 30000), "9.6.0": (2, 27000),
            "9.7.0": (2, 2), "9.8.0": (2, 2), "9.9.0": (2, 170),
            "9.10.0": (2, 280)}
    for x in (1, 2, 3):
        objs[f"3.3.1.1.{x}"] = (2, x)
        objs[f"3.3.1.2.{x}"] = (2, 499 + x)
        objs[f"3.3.1.3.{x}"] = (2, 229 + x)
        objs[f"3.3.1.4.{x}"] = (2, 100 + x)
        objs[f"3.3.1.5.{x}"] = (2, 2000 + x)
        objs[f"4.4.1.1.{x}"] = (2, x)
        objs[f"4.4.1.2.{x}"] = (2, 230 + x)
        objs[f"4.4.1.3.{x}"] = (2, 30 * x)
        objs[f"4.4.1.4.{x}"] = (2, 400 * x)
        objs[f"4.4.1.5.{x}"] = (2, 10 * x)
    lines = ["1.3.6.1.2.1.1.1.0|4|ACME Tri 30k"]
    lines += [f"{UPS}.{k}|{t}|{v}" for k, (t, v) in objs.items()]
    return sorted(lines, key=lambda l: [int(p) for p in l.split("|")[0]
                                        .split(".")])


def parse(text):
    out = {}
    for ln in text.splitlines():
        k, sep, v = ln.partition(": ")
        if sep:
            out[k] = v
    return out


def same(a, b):
    try:
        return abs(float(a) - float(b)) < 1e-6
    except (TypeError, ValueError):
        return a == b


def start_nut(work, snmp_port, communities):
    """snmp-ups per community and one upsd; returns upsd's port."""
    conf, state = os.path.join(work, "conf"), os.path.join(work, "state")
    for d in (conf, state):
        os.makedirs(d, exist_ok=True)
    port = free_port()
    with open(os.path.join(conf, "ups.conf"), "w") as f:
        for c in communities:
            f.write(f"[{c}]\n  driver = snmp-ups\n"
                    f"  port = 127.0.0.1:{snmp_port}\n  community = {c}\n"
                    "  snmp_version = v2c\n  mibs = ietf\n"
                    "  pollinterval = 1\n")
    with open(os.path.join(conf, "upsd.conf"), "w") as f:
        f.write(f"LISTEN 127.0.0.1 {port}\n")
    open(os.path.join(conf, "upsd.users"), "w").close()
    for n in os.listdir(conf):
        os.chmod(os.path.join(conf, n), 0o600)
    env = dict(os.environ, NUT_CONFPATH=conf, NUT_STATEPATH=state,
               NUT_ALTPIDPATH=state)
    for c in communities:
        start(SNMP_UPS, "-a", c, "-u", "root", "-D", env=env,
              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1)
    start(UPSD, "-u", "root", "-D", env=env, stdout=subprocess.DEVNULL,
          stderr=subprocess.DEVNULL)
    wait_port(port)
    return port


def upsc(name, port):
    for _ in range(50):
        r = subprocess.run(["upsc", f"{name}@127.0.0.1:{port}"],
                           capture_output=True, text=True, timeout=20)
        got = parse(r.stdout)
        if r.returncode == 0 and "battery.charge" in got:
            return got
        time.sleep(0.2)
    return {}


def compare(label, nut, got):
    names = sorted(set(nut) | set(got))
    print(f"# {label}: {'variable':32} {'NUT snmp-ups':>16} {'ohm':>16}")
    for n in names:
        if n.startswith("driver."):
            continue
        print(f"# {label}: {n:32} {nut.get(n, '-'):>16} "
              f"{got.get(n, '-'):>16}")
    both = [n for n in names if n in nut and n in got and
            not n.startswith(NUT_ONLY)]
    diff = [f"{n}: NUT {nut[n]}, ohm {got[n]}" for n in both
            if not same(nut[n], got[n])]
    T.ok(both and not diff, f"{label}: every shared variable has NUT's value",
         "\n".join(diff))
    missing = [n for n in nut if n not in got and not n.startswith(NUT_ONLY)]
    T.ok(not missing, f"{label}: ohm has every variable NUT shows", missing)
    T.eq(set(nut.get("ups.status", "").split()),
         set(got.get("ups.status", "").split()), f"{label}: ups.status flags")


def main():
    if not (os.access(SNMP_UPS, os.X_OK) and os.access(UPSD, os.X_OK)):
        T.skip("NUT side by side", "nut-server/nut-snmp not installed")
        return
    work = os.path.join(TMP, "ups-nut")
    sport = free_port("udp")
    procs.append(snmplib.start_snmpsim(
        os.path.join(work, "snmp"),
        {"three": three_phase(), "one": snmplib.ups_records()}, [sport]))
    nport = start_nut(work, sport, ["three", "one"])
    for c in ("three", "one"):
        r = ohm("get", "-d", "ups-mib", f"snmp://{c}@127.0.0.1:{sport}")
        T.eq(r.returncode, 0, f"{c}-phase: ohm get exits 0")
        compare(f"{c}-phase", upsc(c, nport), parse(r.stdout))
    r = ohm("get", "-d", "ups-mib", f"snmp://three@127.0.0.1:{sport}")
    got = parse(r.stdout)
    T.ok(not any(n in got for n in ("input.voltage", "output.voltage",
                                    "output.current", "output.realpower",
                                    "ups.load", "input.frequency")),
         "three-phase: line 1 never under the single-phase names",
         sorted(got))
    T.eq([got.get(f"output.L{x}.realpower") for x in (1, 2, 3)],
         ["400", "800", "1200"], "three-phase: output.Lx.realpower")
    T.eq([got.get(f"output.L{x}.power.percent") for x in (1, 2, 3)],
         ["10", "20", "30"], "three-phase: output.Lx.power.percent")
    T.eq((got.get("input.phases"), got.get("output.phases")), ("3", "3"),
         "three-phase: input.phases and output.phases")
    T.eq((got.get("output.power.nominal"), got.get("battery.runtime.low"),
          got.get("input.transfer.high")), ("30000", "120", "280"),
         "upsConfig: nominal VA, low-battery runtime (s), transfer high")


run(main)
