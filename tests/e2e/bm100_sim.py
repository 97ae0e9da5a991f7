"""The cps-bm100 simulator (`ohm sim cps-bm100 --snmp`, sim:cps-bm100):
2 strings x 8 blocks by default and --strings/--blocks, values that
drift, thresholds written and read back (validated before sending:
resistance-health thresholds are above 100 %), status words that follow
them, measure-now with --wait (complete; rejected; timeout: one-line
errors), indicator tests as commands, and net-snmp's snmpget reading the
simulator's tables (an independent client)."""
import os, re, subprocess, sys, time
sys.path.insert(0, os.path.join(os.environ["OHM_TOP"], "tests"))
from lib import T, ohm, free_port, start, OHM
import snmplib as S

D = ["-d", "cps-bm100"]


def parse(out):
    return dict(line.split(": ", 1) for line in out.splitlines())


def blocks(vals):
    return sorted({tuple(int(x) for x in re.match(
        r"battery\.string\.(\d+)\.block\.(\d+)\.", k).groups())
        for k in vals if k.startswith("battery.string.") and ".block." in k})


def main():
    # --- sim:cps-bm100: 2 x 8 by default, every block named
    r = ohm("get", "sim:cps-bm100")
    got = parse(r.stdout) if r.returncode == 0 else {}
    T.eq((r.returncode, blocks(got)),
         (0, [(s, b) for s in (1, 2) for b in range(1, 9)]),
         "sim:cps-bm100 has 2 strings of 8 blocks")
    T.ok(all(k in got for k in (
        "battery.string.2.block.8.voltage", "battery.string.2.block.8.pack",
        "battery.string.1.block.1.resistance.health",
        "battery.string.1.block.3.temperature.status",
        "battery.probes.connected", "battery.resistance.interval",
        "device.serial", "battery.equalization.elapsed")),
        "every kind of object is served", sorted(got)[:5])

    r = ohm("list", "sim:cps-bm100")
    T.ok(r.returncode == 0 and "(snmp only)" not in r.stdout and
         re.search(r"^battery\.resistance\.measure +- +cmd ", r.stdout, re.M),
         "list sim:cps-bm100: its SNMP vars and commands carried, none "
         "'(snmp only)'", r.stdout[-300:])

    # --- ohm sim cps-bm100 --snmp with --strings / --blocks
    port = free_port("udp")
    sim = start(OHM, "sim", "cps-bm100", "--snmp", f"127.0.0.1:{port}",
                "--strings", "4", "--blocks", "40", "-q")
    end = time.time() + 20
    while time.time() < end and subprocess.run(
            ["snmpget", "-v1", "-c", "public", "-t", "0.3", "-r", "0",
             f"127.0.0.1:{port}", f"{S.BMG}.1.1.0"],
            capture_output=True).returncode != 0:
        time.sleep(0.1)
    U = f"snmp://public@127.0.0.1:{port}"
    r = ohm("get", *D, U)
    got = parse(r.stdout) if r.returncode == 0 else {}
    T.eq((r.returncode, len(blocks(got)), got.get("battery.probes.connected")),
         (0, 160, "160"), "--strings 4 --blocks 40: 160 blocks over v1")
    r = ohm("poll", "--csv", *D, U, "battery.string.4.block.40.voltage",
            "device.model")
    T.ok(r.returncode == 0 and "battery.string.4.block.40.voltage," in
         r.stdout and "device.model,BM100" in r.stdout,
         "ohm poll (the fleet's SNMP path) reads the tables too", r.stdout)
    # an independent client: snmpget of a row's index columns
    p = (3 - 1) * 40 + 17
    r2 = subprocess.run(["snmpget", "-v1", "-c", "public", "-Oqv",
                         f"127.0.0.1:{port}",
                         f"{S.BMG}.5.5.1.3.{p}", f"{S.BMG}.5.5.1.4.{p}",
                         f"{S.BMG}.5.5.1.7.{p}"],
                        capture_output=True, text=True)
    vals = r2.stdout.split()
    T.ok(len(vals) == 3 and vals[:2] == ["3", "17"] and
         abs(int(vals[2]) / 100 - float(
             got.get("battery.string.3.block.17.voltage", "0"))) < 0.2,
         "snmpget: the row of string 3 block 17 says 3, 17 and its voltage",
         vals)
    t1 = parse(ohm("get", *D, U).stdout)
    time.sleep(1.2)
    t2 = parse(ohm("get", *D, U).stdout)
    k = "battery.string.1.block.40.resistance"
    T.ok(float(t2.get(k, 0)) > float(t1.get(k, 0)),
         "the last block of string 1: its resistance climbs",
         (t1.get(k), t2.get(k)))

    # --- thresholds: validated before sending, written, read back
    r = ohm("set", *D, U, "battery.block.resistance.health.warning=100")
    T.ok(r.returncode == 1 and r.stderr.count("\n") == 1 and
         "out of range (101..1000 %)" in r.stderr and
         "nothing written" in r.stderr,
         "a health threshold of 100 % is refused before sending", r.stderr)
    r = ohm("set", *D, U, "battery.block.resistance.high.warning=4.1",
            "battery.block.resistance.high.critical=40",
            "device.location=rack 4", "battery.resistance.interval=7200")
    got = parse(ohm("get", *D, U).stdout)
    T.eq((r.returncode, got.get("battery.block.resistance.high.warning"),
          got.get("battery.block.resistance.high.critical"),
          got.get("device.location"), got.get("battery.resistance.interval")),
         (0, "4.1", "40", "rack 4", "7200"),
         "thresholds, location and interval written and read back")
    T.eq(got.get("battery.string.2.block.5.resistance.status"),
         "warning-high", "the status words follow the thresholds")
    r = ohm("set", *D, U, "battery.resistance.interval=5000")
    T.ok(r.returncode == 1 and "resolution (3600)" in r.stderr,
         "an interval not a whole number of hours is refused", r.stderr)

    # --- measure-now: --wait until complete; rejected; timeout
    t0 = time.time()
    r = ohm("cmd", "--wait", *D, U, "battery.resistance.measure")
    took = time.time() - t0
    res = parse(ohm("get", *D, U, "battery.resistance.measure.result").stdout)
    T.ok(r.returncode == 0 and r.stderr == "" and took >= 1.0 and
         res.get("battery.resistance.measure.result") == "complete",
         "measure --wait returns once the result is complete", (r, took))
    r = ohm("cmd", "--wait", *D, U, "battery.resistance.measure")
    T.eq(r.returncode, 0, "a second measure --wait waits for its own result "
         "(complete before the command does not count)")
    ohm("cmd", *D, U, "battery.resistance.measure")
    r = ohm("cmd", "--wait=10", *D, U, "battery.resistance.measure")
    T.ok(r.returncode == 1 and r.stderr.count("\n") == 1 and
         "says rejected" in r.stderr,
         "measure while one runs: rejected, a one-line error", r.stderr)
    time.sleep(0.1)
    r = ohm("cmd", "--wait=0.5", *D, U, "battery.resistance.measure")
    T.ok(r.returncode == 1 and r.stderr.count("\n") == 1 and
         "not complete after 0.5 s" in r.stderr,
         "--wait=0.5 on a 1.5 s measurement: a one-line timeout", r.stderr)
    r = ohm("cmd", "--wait", *D, U, "test.panel.start")
    T.ok(r.returncode == 2 and "nothing to wait for" in r.stderr,
         "--wait on a command without a result is a usage error", r.stderr)
    for c in ("test.panel.start", "test.probes.start"):
        r = ohm("cmd", *D, U, c)
        T.eq((r.returncode, r.stderr), (0, ""), f"indicator test {c}")
    r = ohm("cmd", *D, U)
    T.ok("battery.resistance.measure - " in r.stdout and
         "(telnet only)" not in r.stdout, "cmd lists the SNMP commands",
         r.stdout)
    sim.terminate()
    sim.wait(10)
    T.eq(sim.returncode, 0, "the simulator stops cleanly")


from lib import run  # noqa: E402
run(main)
