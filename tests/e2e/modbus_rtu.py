"""Modbus RTU over a socat pty pair: a python3-pymodbus RTU serial server on
one end, ohm on the other (modbus-rtu://$T/b?baud=9600). Checks a full
BPS2000v2 read (one request of 99 registers), a write (function 06), a
wrong unit and a missing tty, each failure a one-line error."""
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.environ["OHM_TOP"], "tests"))
from lib import T, ohm, wait_file  # noqa: E402

PEER = os.path.join(os.environ["OHM_TOP"], "tests", "modbus_peer.py")
PY = os.environ.get("PYTHON", "/usr/bin/python3")
procs = []


def reads(log):
    try:
        with open(log) as f:
            return [ln.split() for ln in f if ln.startswith("read")]
    except FileNotFoundError:
        return []


def pty_pair(tmp, name):
    """A socat pty pair $tmp/NAME-a <-> $tmp/NAME-b, or (None, None)."""
    a, b = os.path.join(tmp, name + "-a"), os.path.join(tmp, name + "-b")
    procs.append(subprocess.Popen(
        ["socat", "-d", "-d", f"pty,raw,echo=0,link={a}",
         f"pty,raw,echo=0,link={b}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    if not (wait_file(a) and wait_file(b)):
        return None, None
    return a, b


def start(tmp):
    a, b = pty_pair(tmp, "pymodbus")
    if not a:
        return None, None
    log = os.path.join(tmp, "rtu.log")
    procs.append(subprocess.Popen(
        [PY, PEER, "rtu", a, "--baud", "9600", "--log", log,
         "--set", "21=0,27,119,184", "--set", "0=2301", "--set", "59=1,2,2,2"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    return b, log


def wait_server(uri, seconds=15):
    """The serial server has no port to poll: read until it answers."""
    end = time.time() + seconds
    while time.time() < end:
        r = ohm("get", "-d", "bps2000v2", "--timeout", "0.5", uri,
                "input.L1.energy")
        if r.returncode == 0:
            return True
        time.sleep(0.2)
    return False


def raw_faults(tmp):
    """A raw RTU responder that answers with a bad CRC, as the wrong unit,
    or with exception 02: each a one-line error naming it, exit 1."""
    cases = {"badcrc": "bad CRC", "wrongunit": "wrong unit",
             "exception": "Modbus exception 2: illegal data address"}
    for mode, want in cases.items():
        a, b = pty_pair(tmp, mode)
        if not a:
            T.ok(False, f"rtu {mode}: socat pty pair starts")
            continue
        procs.append(subprocess.Popen([PY, PEER, "rawrtu", a, mode],
                                      stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL))
        time.sleep(0.5)  # the responder opens its end
        start = time.time()
        r = ohm("get", "-d", "bps2000v2", "--timeout", "1",
                f"modbus-rtu://{b}", "input.L1.energy")
        T.eq(r.returncode, 1, f"rtu {mode}: exit 1")
        T.ok(want in r.stderr and r.stderr.count("\n") == 1,
             f"rtu {mode}: one-line error says '{want}'", r.stderr)
        T.eq(r.stdout, "", f"rtu {mode}: no value shown")
        T.ok(time.time() - start < 10, f"rtu {mode}: bounded time")


def main():
    if subprocess.run(["which", "socat"], capture_output=True).returncode:
        T.skip("modbus-rtu over socat", "socat not installed")
        return
    tmp = os.environ.get("TMPDIR", "/tmp")
    tty, log = start(tmp)
    if not tty:
        T.ok(False, "socat pty pair starts")
        return
    uri = f"modbus-rtu://{tty}?baud=9600"
    T.ok(wait_server(uri), "pymodbus RTU server answers")
    open(log, "w").close()

    r = ohm("get", "-d", "bps2000v2", uri)
    T.eq(r.returncode, 0, "rtu get exits 0")
    got = dict(ln.split(": ", 1) for ln in r.stdout.splitlines()
               if ": " in ln)
    T.eq(got.get("input.L1.energy"), "1800.12", "rtu energy8 over RTU")
    T.eq(got.get("input.L1-N.voltage"), "230.1", "rtu voltage")
    T.eq(got.get("ambient.contacts.1.status"), "open", "rtu door enum")
    T.eq(reads(log), [["read", "0", "99"]], "rtu full read is one request")

    r = ohm("set", "-d", "bps2000v2", uri, "ambient.temperature.high.critical=41")
    T.eq(r.returncode, 0, "rtu set exits 0")
    with open(log) as f:
        T.ok("write 76 41\n" in f.read(), "rtu set writes register 76 (06)")

    r = ohm("get", "-d", "bps2000v2", "--timeout", "0.5", "--retries", "0",
            uri + "&unit=7", "input.L1.energy")
    T.eq(r.returncode, 1, "rtu wrong unit: exit 1")
    T.ok(r.stderr.count("\n") == 1 and r.stdout == "",
         "rtu wrong unit: one-line error, no value", r.stderr)

    r = ohm("get", "-d", "bps2000v2",
            f"modbus-rtu://{tmp}/nonexistent?baud=9600", "input.L1.energy")
    T.eq(r.returncode, 1, "missing tty: exit 1")
    T.ok("nonexistent" in r.stderr and r.stderr.count("\n") == 1,
         "missing tty: one-line error naming it", r.stderr)

    raw_faults(tmp)

    r = ohm("get", "-d", "bps2000v2", uri + "&parity=X", "input.L1.energy")
    T.ok(r.returncode in (1, 2) and "parity" in r.stderr,
         "bad parity rejected", r.stderr)


try:
    main()
finally:
    for p in reversed(procs):
        p.kill()
        p.wait()
T.done()
