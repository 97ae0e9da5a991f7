"""`ohm watch`: plain `TIME DEVICE VAR: VALUE` lines when not on a
terminal (VAR patterns select, a dead device is an error line); on a
terminal (a pty) a redrawn table whose values are coloured by their
.status (green good, red critical) with a sparkline per numeric value.
Peers: python3-pymodbus and a silent TCP server."""
import os
import pty
import select
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.environ["OHM_TOP"], "tests"))
from lib import T, OHM, ohm, free_port, wait_port  # noqa: E402

PEER = os.path.join(os.environ["OHM_TOP"], "tests", "modbus_peer.py")
PY = os.environ.get("PYTHON", "/usr/bin/python3")
TMP = os.environ.get("TMPDIR", "/tmp")


def run_pty(args, seconds=20):
    """Run on a pty until it exits; everything it wrote."""
    pid, fd = pty.fork()
    if pid == 0:
        os.execv(OHM, [OHM, *args])
    out, end = b"", time.time() + seconds
    while time.time() < end:
        r, _, _ = select.select([fd], [], [], 0.2)
        if r:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
    os.waitpid(pid, 0)
    return out.decode("utf-8", "replace")


def main():
    pa, pdead = free_port(), free_port()
    procs = [subprocess.Popen([PY, PEER, "tcp", str(pa), "--set",
                               "0=2301,2302,2303", "--set", "87=0,16,1"],
                              stderr=subprocess.DEVNULL),
             subprocess.Popen([PY, PEER, "raw", str(pdead), "silent"])]
    try:
        wait_port(pa)
        wait_port(pdead)
        cfg = os.path.join(TMP, "config.lua")
        with open(cfg, "w") as f:
            f.write('devices = {\n'
                    f'  pdu1 = {{ uri = "modbus-tcp://127.0.0.1:{pa}",'
                    ' driver = "bps2000v2" },\n'
                    f'  dead = {{ uri = "modbus-tcp://127.0.0.1:{pdead}",'
                    ' driver = "bps2000v2" },\n}\n')
        r = ohm("watch", "--config", cfg, "--count", "2", "--every", "0.1",
                "--timeout", "0.3", "--retries", "0", "pdu1", "dead",
                "input.L*-N.voltage", timeout=30)
        lines = r.stdout.splitlines()
        T.eq(r.returncode, 3, "one device failed: exit 3")
        got = [l.split(" ", 1)[1] for l in lines]
        T.eq(sorted({g for g in got if g.startswith("pdu1 ")}),
             ["pdu1 input.L1-N.voltage: 230.1",
              "pdu1 input.L2-N.voltage: 230.2",
              "pdu1 input.L3-N.voltage: 230.3"],
             "plain lines: the selected vars of each device")
        T.ok(sum(1 for g in got if g.startswith("dead error:")) == 2 and
             "timed out" in r.stdout, "the dead device: an error per round")
        T.eq(len([g for g in got if g.startswith("pdu1")]), 6,
             "two rounds of three values")
        T.ok(all(l[:4].isdigit() and "T" in l.split(" ")[0] for l in lines),
             "each line starts with an ISO 8601 time")

        # each device refreshes on its own: the dead one (1 s x 2
        # attempts) never holds up pdu1's rounds
        r = ohm("watch", "--config", cfg, "--count", "2", "--every", "0.2",
                "--timeout", "1", "--retries", "1", "pdu1", "dead",
                "input.L1-N.voltage", timeout=30)
        got = [l.split(" ", 1)[1] for l in r.stdout.splitlines()]
        first_dead = next((k for k, g in enumerate(got)
                           if g.startswith("dead ")), -1)
        T.ok(r.returncode == 3 and
             got[:2] == ["pdu1 input.L1-N.voltage: 230.1"] * 2 and
             first_dead == 2 and
             got[2:] == [got[2]] * 2 and "timed out" in got[2],
             "a dead device does not stall the others: both of pdu1's "
             "rounds come before the dead one's first error",
             r.stdout + r.stderr)

        r = ohm("watch", "--config", cfg, "--count", "2", "--every", "0.1",
                "pdu1", "input.L1.curent", timeout=30)
        T.ok(r.returncode == 1 and r.stdout == "" and
             "no variable matches 'input.L1.curent' (did you mean input.L1.current?" in r.stderr,
             "a VAR that matches nothing is an error, not silence",
             r.stdout + r.stderr)

        out = run_pty(["watch", "--config", cfg, "--count", "3", "--every",
                       "0.1", "pdu1", "input.L*-N.voltage*"])
        T.ok("\033[H\033[2J" in out, "on a terminal the table is redrawn")
        T.ok("\033[32m" in out and "230.1" in out,
             "a good value is green", out[-600:])
        T.ok("\033[31m" in out, "a critical value is red")
        last = out.split("\033[H\033[2J")[-1]
        row = next((l for l in last.splitlines()
                    if "input.L1-N.voltage " in l), "")
        T.ok(any(c in row for c in "\u2581\u2582\u2583\u2584\u2585\u2586"
                 "\u2587\u2588"), "a sparkline of recent values", row)
        r = ohm("watch", "--config", cfg, "--every", "0")
        T.eq(r.returncode, 2, "bad --every: exit 2")
    finally:
        for p in procs:
            p.kill()
            p.wait()


main()
T.done()
