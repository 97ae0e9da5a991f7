"""Ctrl-C (SIGINT) and SIGTERM during `ohm poll` over a fleet larger than
the event loop's window: 3,000 Modbus TCP devices, two good ones from the
python-sockets farm (tests/modbus_farm.py) and the rest on a listener that
completes the handshake but never answers (a few named by host name, so
the worker threads' blocking path is interrupted too). The loop admits no
more devices: the run ends at once, the good devices' rows are printed with
their own values, every other device is one 'interrupted' error line (in
--json an error object), a summary line counts them, exit status 3."""
import json
import os
import signal
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.environ["OHM_TOP"], "tests"))
from lib import T, OHM, PY, inventory, procs, run  # noqa: E402

TMP = os.environ.get("TMPDIR", "/tmp")
FARM = os.path.join(os.environ["OHM_TOP"], "tests", "modbus_farm.py")
N = 3000
BOUND = 15  # seconds from the signal to the exit: generous, not a target


def fleet():
    farm = subprocess.Popen([PY, FARM, "2"], stdout=subprocess.PIPE,
                            text=True)
    procs.append(farm)
    good = json.loads(farm.stdout.readline())["good"]
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(4096)  # never accepted: handshakes done, no reply ever
    sp = silent.getsockname()[1]
    devs = [(f"d{j:04d}", f"modbus-tcp://127.0.0.1:{good[j]}")
            for j in range(2)]
    for j in range(2, N):
        host = "localhost" if j in (3, 2500) else "127.0.0.1"
        devs.append((f"d{j:04d}", f"modbus-tcp://{host}:{sp}"))
    cfg = inventory(os.path.join(TMP, "fleet_interrupt.lua"), devs)
    return cfg, silent


def queued(port):
    """Connections the silent listener holds (its accept queue)."""
    out = subprocess.run(["ss", "-Hltn", f"sport = :{port}"],
                         capture_output=True, text=True).stdout.split()
    return int(out[1]) if len(out) > 1 else 0


def interrupted(cfg, port, mode, sig):
    """Start the poll, signal it once the window is full of silent devices
    (and, for --csv, the good ones' rows are out: the first in order);
    (rc, stdout, stderr, seconds from the signal to the exit)."""
    p = subprocess.Popen([OHM, "poll", "--config", cfg, mode, "--timeout",
                          "60", "--retries", "0", "input.L1-N.voltage"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    procs.append(p)
    head = []
    while mode == "--csv" and not any(ln.startswith("d0001,") for ln in head):
        ln = p.stdout.readline()
        if not ln:
            break
        head.append(ln)
    end = time.monotonic() + 30
    while queued(port) < 1000 and time.monotonic() < end:
        time.sleep(0.1)
    time.sleep(0.3)
    t0 = time.monotonic()
    p.send_signal(sig)
    try:
        out, err = p.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
    return p.returncode, "".join(head) + out, err, time.monotonic() - t0


def check_errors(err, what, read=("d0000", "d0001")):
    lines = err.splitlines()
    bad = [ln for ln in lines[:-1]
           if not (ln.startswith("ohm: d") and ln.endswith(" interrupted"))]
    names = [ln.split(":")[1].strip() for ln in lines[:-1]]
    T.ok(not bad, f"{what}: every error line says interrupted",
         f"{len(bad)} others, e.g. {bad[:2]}")
    T.ok(sorted(names) == [f"d{j:04d}" for j in range(N)
                           if f"d{j:04d}" not in read],
         f"{what}: one line for each device not read",
         f"{len(names)} lines: {names[:3]}...")
    T.eq(lines[-1:], [f"ohm: interrupted: {len(read)} devices read, 0 "
                      f"failed, {N - len(read)} not read"],
         f"{what}: the summary line")


def main():
    cfg, silent = fleet()
    port = silent.getsockname()[1]
    rc, out, err, took = interrupted(cfg, port, "--csv", signal.SIGINT)
    T.eq(rc, 3, "Ctrl-C: exit 3 (some devices read, the rest not)")
    T.ok(took < BOUND, "Ctrl-C: the run ends at once, not at the timeout",
         f"{took:.1f} s")
    T.eq(out.splitlines(), ["device,name,value",
                            "d0000,input.L1-N.voltage,200",
                            "d0001,input.L1-N.voltage,200.1"],
         "Ctrl-C: rows only for the devices read, with their own values")
    check_errors(err, "Ctrl-C")
    silent.close()  # a fresh queue for the second run
    cfg, silent = fleet()
    port = silent.getsockname()[1]
    rc, out, err, took = interrupted(cfg, port, "--json", signal.SIGTERM)
    T.ok(took < BOUND, "SIGTERM: the run ends at once", f"{took:.1f} s")
    try:
        doc = json.loads(out)
    except ValueError:
        doc = {}
    T.ok(list(doc) == [f"d{j:04d}" for j in range(N)],
         "SIGTERM --json: a whole document, every device in order",
         out[-200:])
    # the good devices are first in order: read, unless the signal came
    # before their replies (a loaded machine), then interrupted like all
    read = [n for n in ("d0000", "d0001") if "error" not in doc.get(n, {})]
    want = {"d0000": 200, "d0001": 200.1}
    odd = [n for n, v in doc.items()
           if (n in read and v != {"input.L1-N.voltage": want[n]}) or
           (n not in read and not v.get("error", "").endswith("interrupted"))]
    T.ok(not odd, "SIGTERM --json: an 'interrupted' error object for each "
         "device not read, its own values for each read", odd[:3])
    T.eq(rc, 3 if read else 1, "SIGTERM: exit 3 (1 if nothing was read)")
    check_errors(err, "SIGTERM", read)
    silent.close()


run(main)
