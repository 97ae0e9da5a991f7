"""Modbus faults: each gives a one-line error on stderr, exit status 1, no
value on stdout, no crash, and ends within the timeout bound
(timeout x attempts + slack). Peers: tests/modbus_peer.py (raw misbehaving
servers and a pymodbus server that has unit 1 only)."""
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.environ["OHM_TOP"], "tests"))
from lib import T, ohm, free_port, wait_port  # noqa: E402

PEER = os.path.join(os.environ["OHM_TOP"], "tests", "modbus_peer.py")
PY = os.environ.get("PYTHON", "/usr/bin/python3")
TIMEOUT, RETRIES = 1, 1
BOUND = TIMEOUT * (RETRIES + 1) * 2 + 5  # two full reads at worst + slack
procs = []


def peer(*args):
    port = free_port()
    p = subprocess.Popen([PY, PEER, args[0], str(port), *args[1:]],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    procs.append(p)
    if not wait_port(port):
        print(f"peer {args} did not start")
    return port


def fault(name, uri, want, *extra):
    """Run ohm get on uri; check the failure contract and that stderr
    mentions each string of want."""
    start = time.time()
    r = ohm("get", "-d", "bps2000v2", "--timeout", str(TIMEOUT),
            "--retries", str(RETRIES), *extra, uri, timeout=60)
    took = time.time() - start
    T.eq(r.returncode, 1, f"{name}: exit status 1")
    err = r.stderr
    T.ok(err.startswith("ohm: ") and err.count("\n") == 1,
         f"{name}: one-line error", err)
    for w in want:
        T.ok(w.lower() in err.lower(), f"{name}: error says '{w}'", err)
    T.eq(r.stdout, "", f"{name}: no value shown")
    T.ok(took < BOUND, f"{name}: ends within the timeout bound",
         f"{took:.1f} s >= {BOUND} s")
    return r


def interrupt():
    """Ctrl-C stops a call blocked on a silent device long before its
    timeout (libmodbus retries select() on EINTR: tp_interrupt must wake
    it), with a one-line 'interrupted' error."""
    p = peer("raw", "silent")
    chunk = (f'local m = assert(ohm.connect("modbus-tcp://127.0.0.1:{p}",'
             ' {timeout = 30}))\n'
             'print(m:read(0, 3))\n')
    start = time.time()
    pr = subprocess.Popen([os.environ["OHM"], "-e", chunk], text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    time.sleep(1.5)  # ohm is up and blocked in the read
    pr.send_signal(signal.SIGINT)
    try:
        out, err = pr.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        pr.kill()
        out, err = pr.communicate()
    took = time.time() - start
    T.ok(took < 10, "Ctrl-C: a blocked read stops at once",
         f"{took:.1f} s")
    T.ok(pr.returncode not in (0, 86) and pr.returncode > 0,
         "Ctrl-C: non-zero exit, no crash", pr.returncode)
    T.ok("interrupted" in err, "Ctrl-C: says interrupted", err)
    T.eq(out, "", "Ctrl-C: no value shown")


def main():
    dead = free_port()
    fault("refused", f"modbus-tcp://127.0.0.1:{dead}", ["refused"])

    p = peer("raw", "silent")
    r = fault("timeout", f"modbus-tcp://127.0.0.1:{p}", ["timed out"])
    T.ok(f"after {TIMEOUT} s" in r.stderr, "timeout: names the timeout",
         r.stderr)

    p = peer("raw", "drop")
    fault("dropped", f"modbus-tcp://127.0.0.1:{p}", ["dropped"])

    p = peer("raw", "exception")
    fault("exception", f"modbus-tcp://127.0.0.1:{p}",
          ["exception 2", "illegal data address"])

    for mode in ("garbage", "truncated", "badlen"):
        p = peer("raw", mode)
        fault(f"malformed ({mode})", f"modbus-tcp://127.0.0.1:{p}", [])

    p = peer("tcp")
    r = fault("wrong unit", f"modbus-tcp://127.0.0.1:{p}?unit=7", [])
    T.ok("timed out" in r.stderr or "unit" in r.stderr,
         "wrong unit: timeout or a unit error", r.stderr)

    # A connection dropped mid-session: the peer answers one request per
    # connection, then closes; the transport reconnects and the second
    # read succeeds.
    p = peer("raw", "once")
    chunk = (f'local m = assert(ohm.connect("modbus-tcp://127.0.0.1:{p}"))\n'
             'print(#assert(m:read(0, 10)))\n'
             'print(#assert(m:read(0, 99)))\n')
    r = ohm("-e", chunk, timeout=60)
    T.eq(r.stdout, "10\n99\n", "dropped mid-session: reconnects once")
    T.eq(r.returncode, 0, "dropped mid-session: exit 0")

    chunk = (f'local m = assert(ohm.connect("modbus-tcp://127.0.0.1:{p}"))\n'
             'print(pcall(m.read, m, 0, 126))\n')
    r = ohm("-e", chunk, timeout=60)
    T.ok(r.returncode != 0 or r.stdout.startswith(("false", "true\tnil")),
         "more than 125 registers per read is refused", r.stdout + r.stderr)

    # A reply that comes after the timeout must not answer the retry: the
    # peer answers its first request late with 0xdead, later ones with 7.
    p = peer("raw", "slowfirst")
    chunk = (f'local m = assert(ohm.connect("modbus-tcp://127.0.0.1:{p}",'
             ' {timeout = 1, retries = 1}))\n'
             'print(table.concat(assert(m:read(0, 3)), ","))\n')
    r = ohm("-e", chunk, timeout=60)
    T.eq(r.stdout, "7,7,7\n", "late reply: the retry gets its own answer")

    interrupt()

    r = ohm("get", "-d", "bps2000v2", "modbus-tcp://[::1", timeout=30)
    T.ok(r.returncode in (1, 2), "malformed URI: exit 1 or 2",
         r.returncode)
    T.ok("unterminated" in r.stderr and r.stderr.count("\n") == 1,
         "malformed URI: says what is wrong", r.stderr)


try:
    main()
finally:
    for pr in procs:
        pr.kill()
        pr.wait()
T.done()
