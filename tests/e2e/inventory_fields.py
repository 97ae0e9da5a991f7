"""The inventory's device entries: a misspelt field is an error naming it
and the nearest known field; one bad entry fails that entry only, the
other devices still work; per-device timeout/retries are honoured.
Peers: tests/modbus_peer.py (a server that never answers) and sim:."""
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.environ["OHM_TOP"], "tests"))
from lib import T, ohm, free_port, run, start_listening, PEER, PY  # noqa: E402


def main():
    with tempfile.TemporaryDirectory() as tmp:
        checks(os.path.join(tmp, "config.lua"))


def checks(cfg):
    silent = free_port()
    start_listening([PY, PEER, "raw", str(silent), "silent"], silent)
    with open(cfg, "w") as f:
        f.write(f'''devices = {{
  good = {{ uri = "sim:bps2000v2" }},
  typo = {{ uri = "sim:bps2000v2", drvier = "bps2000v2" }},
  typo2 = {{ uri = "sim:bps2000v2", timout = 3 }},
  badvalue = {{ uri = "sim:bps2000v2", retries = "many" }},
  notatable = 5,
  nouri = {{ driver = "bps2000v2" }},
  slow = {{ uri = "modbus-tcp://127.0.0.1:{silent}", driver = "bps2000v2",
           timeout = 0.2, retries = 0 }},
}}
''')
    r = ohm("get", "--config", cfg, "good", "input.phases")
    T.eq((r.returncode, r.stdout), (0, "input.phases: 3\n"),
         "bad entries elsewhere in the inventory: a good device still works")
    r = ohm("get", "--config", cfg, "typo")
    T.ok(r.returncode == 1 and "unknown field 'drvier'" in r.stderr and
         "did you mean driver?" in r.stderr and
         len(r.stderr.splitlines()) == 1 and r.stdout == "",
         "a misspelt field (drvier) is an error naming the nearest field",
         r.stderr)
    r = ohm("get", "--config", cfg, "typo2")
    T.ok(r.returncode == 1 and "unknown field 'timout'" in r.stderr and
         "did you mean timeout?" in r.stderr, "timout: did you mean timeout",
         r.stderr)
    r = ohm("get", "--config", cfg, "badvalue")
    T.ok(r.returncode == 1 and "retries = many" in r.stderr,
         "a field with a bad value is an error naming it", r.stderr)
    for name in ("notatable", "nouri"):
        r = ohm("get", "--config", cfg, name)
        T.ok(r.returncode == 1 and f"devices.{name}:" in r.stderr,
             f"a malformed entry ({name}) fails that entry", r.stderr)
    r = ohm("poll", "--config", cfg, "--csv", "good", "typo", "input.phases")
    T.ok(r.returncode == 3 and "good,input.phases,3" in r.stdout and
         "unknown field 'drvier'" in r.stderr,
         "poll: the bad entry fails, the good one is read (exit 3)",
         r.stdout + r.stderr)
    # without the entry's timeout/retries: 2 s x 2 attempts at least
    t0 = time.time()
    r = ohm("get", "--config", cfg, "slow", timeout=60)
    took = time.time() - t0
    T.ok(r.returncode == 1 and "timed out" in r.stderr and took < 2.0,
         "per-device timeout = 0.2, retries = 0 honoured (within 2 s)",
         f"{took:.2f} s: {r.stderr}")
    t0 = time.time()
    r = ohm("get", "--config", cfg, "--timeout", "1", "--retries", "1",
            "slow", timeout=60)
    took = time.time() - t0
    T.ok(r.returncode == 1 and took >= 1.9,
         "--timeout/--retries on the command line win over the entry's",
         f"{took:.2f} s")


run(main)
