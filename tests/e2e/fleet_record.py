"""`ohm record`: CSV per device per day with one header and ISO 8601 UTC
times; survives kill -9 at random moments mid-run (every file stays whole
CSV: complete lines, one header, same columns); a torn last line (power
cut) is cut back before appending; a dead device is reported and gets no
file; retention by age and by size removes only recorded files, never
today's. Peers: python3-pymodbus, `ohm sim` and a silent TCP server."""
import csv
import datetime
import os
import random
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.environ["OHM_TOP"], "tests"))
from lib import (  # noqa: E402
    T, OHM, ohm, free_port, wait_port, PEER, PY, procs, start, run)

TMP = os.environ.get("TMPDIR", "/tmp")



def check_file(path):
    """(ok, why): whole lines, one header first, equal columns, ISO times."""
    with open(path, newline="") as f:
        data = f.read()
    if not data.endswith("\n"):
        return False, "does not end with a newline"
    rows = list(csv.reader(data.splitlines()))
    if not rows or rows[0][0] != "time":
        return False, "no header"
    if sum(1 for r in rows if r and r[0] == "time") != 1:
        return False, "more than one header"
    last = None
    for r in rows[1:]:
        if len(r) != len(rows[0]):
            return False, f"row with {len(r)} of {len(rows[0])} fields: {r[:3]}"
        t = datetime.datetime.fromisoformat(r[0].replace("Z", "+00:00"))
        if last and t < last:
            return False, "time goes back"
        last = t
    return True, f"{len(rows) - 1} rows"


def main():
    pa, psim, pdead = free_port(), free_port(), free_port()
    start(PY, PEER, "tcp", str(pa), "--set", "0=2301,2302,2303",
          stderr=subprocess.DEVNULL)
    start(OHM, "sim", "bps2000v2", "--modbus-tcp", f"127.0.0.1:{psim}",
          stderr=subprocess.DEVNULL)
    start(PY, PEER, "raw", str(pdead), "silent")
    for p in (pa, psim, pdead):
        wait_port(p)
    cfg = os.path.join(TMP, "config.lua")
    with open(cfg, "w") as f:
        f.write('devices = {\n'
                f'  pdu1 = {{ uri = "modbus-tcp://127.0.0.1:{pa}",'
                ' driver = "bps2000v2" },\n'
                f'  ["sim/1"] = {{ uri = "modbus-tcp://127.0.0.1:{psim}",'
                ' driver = "bps2000v2" },\n'
                f'  dead = {{ uri = "modbus-tcp://127.0.0.1:{pdead}",'
                ' driver = "bps2000v2" },\n}\n')
    out = os.path.join(tempfile.mkdtemp(dir=TMP), "rec")
    base = ["record", "--config", cfg, "--out", out, "--timeout", "0.3",
            "--retries", "0"]

    r = ohm(*base, "--every", "1", "--count", "1")
    T.eq(r.returncode, 3, "one round with a dead device: exit 3")
    T.ok("ohm: dead: " in r.stderr and "timed out" in r.stderr,
         "the dead device is reported", r.stderr)
    day = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")
    files = sorted(os.listdir(out))
    T.eq(files, [f"pdu1-{day}.csv", f"sim_1-{day}.csv"],
         "one file per device per UTC day; no file for the dead device")
    with open(os.path.join(out, f"pdu1-{day}.csv")) as f:
        rows = list(csv.DictReader(f))
    T.ok(len(rows) == 1 and rows[0]["input.L1-N.voltage"] == "230.1" and
         rows[0]["time"].endswith("Z"), "a row: ISO 8601 time and values",
         f"{len(rows)} rows; first: {rows[0]['time'] if rows else None}")

    # kill -9 at random moments while rounds run every 20 ms
    rnd = random.Random(1234)
    for i in range(8):
        p = subprocess.Popen([OHM, *base, "--every", "0.02", "pdu1", "sim/1"],
                             stderr=subprocess.DEVNULL)
        time.sleep(rnd.uniform(0.2, 0.6))
        p.send_signal(signal.SIGKILL)
        p.wait()
        for fn in sorted(os.listdir(out)):
            ok, why = check_file(os.path.join(out, fn))
            if not ok and i == 7:
                T.ok(ok, f"after kill -9: {fn} is whole CSV", why)
    for fn in sorted(os.listdir(out)):
        ok, why = check_file(os.path.join(out, fn))
        T.ok(ok, f"after 8 kill -9: {fn} is whole CSV ({why})", why)
    with open(os.path.join(out, f"pdu1-{day}.csv")) as f:
        n_before = len(f.read().splitlines())
    T.ok(n_before > 10, "rows were recorded between the kills",
         f"{n_before} lines")

    # a power cut: a torn last line
    path = os.path.join(out, f"pdu1-{day}.csv")
    with open(path, "a") as f:
        f.write("2026-01-01T00:00:00Z,12")
    r = ohm(*base, "--every", "1", "--count", "1", "pdu1")
    T.eq(r.returncode, 0, "one round on a good device: exit 0")
    ok, why = check_file(path)
    T.ok(ok, "a torn last line is cut back before appending", why)
    with open(path) as f:
        lines = f.read().splitlines()
    T.ok(len(lines) == n_before + 1 and "2026-01-01T00:00:00Z,12" not in
         lines, "earlier lines kept, torn line gone, new row added")

    # retention
    old = os.path.join(out, "pdu1-2000-01-01.csv")
    older = os.path.join(out, "sim_1-1999-12-31-2.csv")
    other = os.path.join(out, "notes-2000-01-01.txt")
    for fn in (old, older, other):
        with open(fn, "w") as f:
            f.write("time,x\n" + "2000-01-01T00:00:00Z,1\n" * 2000)
    r = ohm(*base, "--every", "1", "--count", "1", "--keep-days", "30",
            "pdu1")
    T.ok(not os.path.exists(old) and not os.path.exists(older),
         "--keep-days removes old recorded files")
    T.ok(os.path.exists(other) and os.path.exists(path),
         "--keep-days keeps other files and today's")
    yesterday = (datetime.datetime.now(datetime.timezone.utc) -
                 datetime.timedelta(days=1)).strftime("%Y-%m-%d")
    y = os.path.join(out, f"pdu1-{yesterday}.csv")
    with open(y, "w") as f:
        f.write("time,x\n" + "2000-01-01T00:00:00Z,1\n" * 5000)
    r = ohm(*base, "--every", "1", "--count", "1", "--max-size", "1K",
            "pdu1")
    T.ok(not os.path.exists(y) and os.path.exists(path),
         "--max-size removes the oldest, never today's")

    # VAR patterns after the devices select the columns
    vout = os.path.join(tempfile.mkdtemp(dir=TMP), "vars")
    r = ohm("record", "--config", cfg, "--out", vout, "--every", "1",
            "--count", "1", "pdu1", "input.L?-N.voltage", "input.phases")
    try:
        with open(os.path.join(vout, f"pdu1-{day}.csv")) as f:
            head = f.readline().strip()
    except OSError as ex:
        head = str(ex)
    T.eq((r.returncode, head),
         (0, "time,input.L1-N.voltage,input.L2-N.voltage,"
          "input.L3-N.voltage,input.phases"),
         "record DEVICE VAR...: columns are the variables selected")
    r = ohm("record", "--config", cfg, "--out", vout, "--every", "1",
            "--count", "1", "pdu1", "input.L1.curent")
    T.ok(r.returncode == 1 and "no variable matches 'input.L1.curent' "
         "(did you mean input.L1.current?" in r.stderr,
         "record: a VAR that matches nothing is an error, with a suggestion",
         r.stderr)

    for bad in (["--every", "0"], ["--every", "5x"], ["--max-size", "-1"]):
        r = ohm(*base, *bad, "--count", "1")
        T.eq(r.returncode, 2, f"usage error {' '.join(bad)}: exit 2")
    r = ohm("record", "--config", cfg, "--every", "1")
    T.eq(r.returncode, 2, "--out is required: exit 2")

    # SIGTERM between rounds: clean exit
    p = subprocess.Popen([OHM, *base, "--every", "0.2", "pdu1"],
                         stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    p.terminate()
    try:
        rc = p.wait(10)
    except subprocess.TimeoutExpired:
        rc = None
    T.eq(rc, 0, "SIGTERM stops recording cleanly")


run(main)
