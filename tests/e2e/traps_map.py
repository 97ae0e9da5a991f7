"""`ohm serve --traps`: a trap's kind and varbinds are named by the
`traps` section of the source device's map, not by C: a user map (no C)
declaring a door sensor's traps has its trap named in ev.trap when the
inventory device with the sender's address uses it; a trap the map does
not declare keeps its varbinds by OID; the cps-bm100 map's own section
still names a BM100's probe alarm (sent with snmptrap v1); a bad traps
section is a one-line map error."""
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.environ["OHM_TOP"], "tests"))
from lib import T, OHM, ohm, free_port, start, run, wait_port  # noqa: E402

ENT = "1.3.6.1.4.1.99999"
BM = "1.3.6.1.4.1.3808"
DOOR_MAP = """return { name = "door-sensor", desc = "door sensor (test)",
  vars = { { name = "door.state", oid = ".%s.1.1.0" } },
  traps = { oid = "%s.0", kinds = { [7] = "door opened" },
            varbinds = { ["%s.1.2"] = "door", ["%s.1.3"] = "who" } } }
""" % (ENT, ENT, ENT, ENT)


def wait_for(cond, seconds=5):
    end = time.time() + seconds
    while time.time() < end and not cond():
        time.sleep(0.05)
    return cond()


def snmptrap(tport, *args, src="127.0.0.5"):
    return subprocess.run(
        ["snmptrap", "-v2c", "-c", "public", f"--clientaddr={src}",
         "-M", "/nonexistent", "-m", "", f"udp:127.0.0.1:{tport}", "",
         *args], capture_output=True, text=True).returncode


def main():
    tmp = tempfile.mkdtemp()
    drv = os.path.join(tmp, "drivers")
    os.makedirs(drv)
    with open(os.path.join(drv, "door-sensor.lua"), "w") as f:
        f.write(DOOR_MAP)
    env = dict(os.environ, OHM_DRIVERS=drv)
    cfg = os.path.join(tmp, "inv.lua")
    with open(cfg, "w") as f:
        f.write('devices = { door1 = { uri = "snmp://public@127.0.0.5:'
                f'{free_port("udp")}", driver = "door-sensor",'
                ' timeout = 0.2, retries = 0 } }\n')
    rules = os.path.join(tmp, "rules.lua")
    with open(rules, "w") as f:
        f.write('on("*", "TRAP", log())\n')
    evlog = os.path.join(tmp, "events.jsonl")
    tport = free_port("udp")
    srv = start(OHM, "serve", "--config", cfg, "--rules", rules, "--traps",
                f"127.0.0.1:{tport}", "--events-log", evlog, "--interval",
                "60", "-q", env=env)
    T.ok(wait_port(tport, "udp", 10), "serve --traps listens")

    def traps(dev):
        if not os.path.exists(evlog):
            return []
        return [e["trap"] for e in map(json.loads, open(evlog))
                if e.get("event") == "TRAP" and e.get("device") == dev
                and "jobs" in e]

    T.eq(snmptrap(tport, f"{ENT}.0.7", f"{ENT}.1.2.0", "s", "front",
                  f"{ENT}.1.3.0", "s", "alice"), 0, "snmptrap sends a "
         "door trap")
    T.ok(wait_for(lambda: traps("door1")), "it becomes an event of door1")
    got = (traps("door1") or [{}])[0]
    T.ok(got.get("kind") == "door opened" and got.get("door") == "front"
         and got.get("who") == "alice" and got.get("specific") == 7,
         "the user map's traps section names its kind and varbinds", got)
    T.eq(snmptrap(tport, f"{ENT}.1.0.9", f"{ENT}.1.2.0", "s", "back"), 0,
         "snmptrap sends a trap the map does not declare")
    T.ok(wait_for(lambda: len(traps("door1")) >= 2), "it is an event too")
    got = (traps("door1") + [{}, {}])[1]
    T.ok("kind" not in got and "door" not in got and
         got.get(f"{ENT}.1.2.0") == "back",
         "an undeclared trap keeps its varbinds by OID, no kind", got)
    r = subprocess.run(
        ["snmptrap", "-v1", "-c", "public", "-M", "/nonexistent", "-m", "",
         f"udp:127.0.0.1:{tport}", BM, "127.0.0.1", "6", "603", "",
         f"{BM}.1.1.7.5.3.1.3.4", "i", "2", f"{BM}.1.1.7.5.3.1.4.4", "i",
         "3", f"{BM}.2.2.6.0", "i", "108"], capture_output=True, text=True)
    T.eq(r.returncode, 0, "snmptrap sends a BM100 v1 probe alarm")
    T.ok(wait_for(lambda: traps("127.0.0.1")), "it is an event of its "
         "address")
    got = (traps("127.0.0.1") or [{}])[0]
    T.ok(got.get("kind") == "probe alarm" and got.get("event_id") == 108
         and got.get("string") == 2 and got.get("battery") == 3,
         "cps-bm100's map names the BM100's trap", got)
    srv.send_signal(signal.SIGTERM)
    T.eq(srv.wait(15), 0, "serve --traps stops cleanly")

    bad = os.path.join(tmp, "bad.lua")
    with open(bad, "w") as f:
        f.write('return { name = "bad", vars = { { name = "x", oid = '
                '".1.3.6.1.4.1.99999.1.0" } }, traps = { kinds = '
                '{ [1] = "a" } } }\n')
    r = ohm("get", "-d", bad, "snmp://127.0.0.1:9", "x")
    T.ok(r.returncode != 0 and "traps needs an oid" in r.stderr and
         len(r.stderr.splitlines()) == 1, "a traps section without oid: "
         "one-line map error", r.stderr)


run(main)
