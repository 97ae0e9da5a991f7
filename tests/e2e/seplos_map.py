"""A third YD/T 1363.3 dialect as a user map only: contrib/seplos.lua
(Seplos BMS V2) read with `ohm get -d ./seplos.lua serial://PTY` against an
independent Python peer (tests/seplos_peer.py, pyserial on the other end
of a socat pty pair): every variable of a 3-pack bank (one of 15 cells)
equals what the peer holds; the bank is found without packs=; one pack
alone; an absent pack asked for is one line and exit 1; the map checks."""
import json
import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.environ["OHM_TOP"], "tests"))
from lib import OHM, T, procs, pty_pair, run, wait_file  # noqa: E402
from bms_lib import differences, same, values  # noqa: E402

TOP = os.environ["OHM_TOP"]
PY = os.environ.get("PYTHON", "/usr/bin/python3")
TMP = os.environ.get("TMPDIR", "/tmp")


def ohm_in(d, *args):
    """ohm run in directory d (so -d ./seplos.lua is a relative path)."""
    return subprocess.run([os.path.abspath(OHM), *args], cwd=d,
                          capture_output=True, text=True, timeout=120)


def main():
    d = os.path.join(TMP, "ohm-seplos-%d" % os.getpid())
    os.makedirs(d, exist_ok=True)
    shutil.copy(os.path.join(TOP, "contrib", "seplos.lua"), d)
    a, b = os.path.join(d, "pty-a"), os.path.join(d, "pty-b")
    T.ok(pty_pair(a, b), "socat pty pair")
    st, log = os.path.join(d, "state.json"), os.path.join(d, "peer.log")
    procs.append(subprocess.Popen(
        [PY, os.path.join(TOP, "tests", "seplos_peer.py"), "--pty", b,
         "--packs", "0,1,2", "--state", st, "--log", log],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    T.ok(wait_file(st), "the Seplos peer starts")
    time.sleep(0.3)
    with open(st) as f:
        want = json.load(f)

    r = ohm_in(d, "drivers", "--check", "seplos.lua")
    T.ok(r.returncode == 0 and "battery.pack.15.cell.16.voltage" in r.stdout,
         "ohm drivers --check takes the map", r.stderr)

    r = ohm_in(d, "get", "-d", "./seplos.lua", f"serial://{a}?packs=0,1,2")
    got = values(r)
    bad, extra = differences(got, want)
    T.ok(r.returncode == 0 and not bad and not extra,
         "get -d ./seplos.lua: all %d variables of the 3-pack bank equal "
         "the peer's" % len(want),
         f"rc {r.returncode} {r.stderr}\ndiffer: {bad[:8]}\nextra: "
         f"{extra[:8]}")
    T.eq(got.get("battery.pack.1.cell.16.voltage"), None,
         "pack 1's 15 cells: no 16th cell shown")
    with open(log) as f:
        reqs = f.read().split()
    T.ok(reqs and all(q.startswith("~2000464") or q.startswith("~2001464")
                      or q.startswith("~2002464") for q in reqs),
         "requests are VER 0x20 frames to the packs' own addresses", reqs)

    r = ohm_in(d, "get", "--timeout", "0.3", "-d", "./seplos.lua",
               f"serial://{a}", "battery.packs", "battery.charge")
    T.ok(r.returncode == 0 and values(r).get("battery.packs") == "3" and
         same("battery.charge", values(r).get("battery.charge"),
              want["battery.charge"]),
         "without packs=: the bank is the addresses that answer (0-15)",
         r.stdout + r.stderr)

    r = ohm_in(d, "get", "-d", "./seplos.lua", f"serial://{a}?unit=1",
               "battery.pack.1.cells", "battery.pack.1.cycles")
    T.eq(r.stdout, "battery.pack.1.cells: 15\nbattery.pack.1.cycles: %d\n"
         % want["battery.pack.1.cycles"], "?unit=1 reads pack 1 alone")

    r = ohm_in(d, "get", "--timeout", "0.3", "-d", "./seplos.lua",
               f"serial://{a}?unit=5")
    T.ok(r.returncode == 1 and r.stdout == "" and
         r.stderr.count("\n") == 1 and "pack 5" in r.stderr,
         "an absent pack asked for: one line naming it, exit 1", r.stderr)


run(main)
