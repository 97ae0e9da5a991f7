"""device.factory_reset on the simulator: through its console (the man
page's example `ohm cmd --yes telnet://admin@HOST device.factory_reset`)
and through the in-process sim:, the thresholds go back to the
simulator's defaults, as an independent Modbus client (mbpoll) reads
them; without --yes in a script the command is refused and nothing
changes."""
import os, subprocess, sys
sys.path.insert(0, os.path.join(os.environ["OHM_TOP"], "tests"))
from lib import T, OHM, ohm, free_port, start, wait_port, run

REG = 70  # input.L1.current.high.critical, /10 A (manual 0x46)


def mbpoll(port):
    r = subprocess.run(["mbpoll", "-m", "tcp", "-p", str(port), "-a", "1",
                        "-0", "-r", str(REG), "-c", "1", "-1", "127.0.0.1"],
                       capture_output=True, text=True, timeout=20)
    for line in r.stdout.splitlines():
        if line.startswith("[%d]:" % REG):
            return int(line.split(":")[1].split()[0])
    return None


def main():
    mp, tp = free_port(), free_port()
    env = dict(os.environ, OHM_CONSOLE_USER="admin", OHM_PASSWORD="fr-pw")
    start(OHM, "sim", "bps2000v2", "--modbus-tcp", "127.0.0.1:%d" % mp,
          "--telnet", "127.0.0.1:%d" % tp, "-q", env=env)
    T.ok(wait_port(tp) and wait_port(mp), "sim with its console listens")
    default = mbpoll(mp)
    T.ok(default is not None, "mbpoll reads the default threshold (%s)"
         % default)
    mb = "modbus-tcp://127.0.0.1:%d" % mp
    tel = "telnet://admin@127.0.0.1:%d" % tp
    r = ohm("set", "-d", "bps2000v2", mb, "input.L1.current.high.critical=12")
    T.eq((r.returncode, mbpoll(mp)), (0, 120), "threshold set to 12 A")
    r = ohm("cmd", tel, "device.factory_reset", env=env)
    T.ok(r.returncode == 2 and mbpoll(mp) == 120,
         "without --yes in a script: refused, nothing changed",
         r.stderr)
    r = ohm("cmd", "--yes", tel, "device.factory_reset", env=env)
    T.eq((r.returncode, r.stderr), (0, ""), "factory reset through the console")
    T.eq(mbpoll(mp), default, "the threshold is back to its default (mbpoll)")
    lua = """local d = assert(ohm.open("sim:bps2000v2"))
local v = "input.L1.current.high.critical"
local before = d:get(v)
assert(d:set(v, 11))
assert(d:get(v) == 11)
assert(d:cmd("device.factory_reset"))
print(before, d:get(v))"""
    r = ohm("-e", lua)
    T.eq((r.returncode, r.stdout.split()), (0, ["16", "16"]),
         "sim:bps2000v2 in process: factory reset restores 16 A")
    r = ohm("cmd", "--yes", "-d", "bps2000v2", mb, "device.factory_reset")
    T.ok(r.returncode == 1 and "not supported over modbus" in r.stderr,
         "over plain Modbus the command is refused (the map has no register)",
         r.stderr)

run(main)
