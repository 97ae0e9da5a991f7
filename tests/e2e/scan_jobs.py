"""`ohm scan` probes several targets at once (--jobs): a /28 of loopback
addresses where three snmpsim agents answer and the eleven others are
silent (a UDP socket that never replies, so each costs a whole timeout)
scans in about one timeout, not eleven, and lists the agents in address
order; a Modbus TCP gateway (a Python peer: units 1, 7 and 42 answer,
the others are silent, each connection served on its own) likewise, and
one that closes connections beyond two loses no unit; bad --jobs is a
usage error.
The bounds are generous (a loaded machine), far below the one-at-a-time
times."""
import json
import os
import random
import socket
import struct
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.environ["OHM_TOP"], "tests"))
from lib import T, ohm, free_port, procs, run, wait_port  # noqa: E402
import snmplib  # noqa: E402

TMP = os.environ.get("TMPDIR", "/tmp")
TIMEOUT = 1.0  # --timeout of the scans: silent hosts cost this each


def black_holes(hosts, port):
    """UDP sockets on hosts:port that read and never answer; None if one
    address cannot be bound."""
    socks = []
    try:
        for h in hosts:
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind((h, port))
            socks.append(s)
    except OSError:
        for s in socks:
            s.close()
        return None

    def drain(s):
        while True:
            try:
                s.recv(4096)
            except OSError:
                return
    for s in socks:
        threading.Thread(target=drain, args=(s,), daemon=True).start()
    return socks


def snmpsim(d, hosts, port):
    lines = ["1.3.6.1.2.1.1.1.0|4|IEI AUPS2-B20",
             "1.3.6.1.2.1.1.2.0|6|1.3.6.1.4.1.2254.2.4"] + \
        snmplib.ups_records()[1:]
    lines.sort(key=lambda ln: [int(p) for p in ln.split("|")[0].split(".")])
    procs.append(snmplib.snmpsim_public(
        d, lines, ["%s:%d" % (h, port) for h in hosts]))


def snmp_part(d):
    net = "127.%d.%d" % (random.randint(100, 250), random.randint(1, 250))
    hosts = ["%s.%d" % (net, 16 + i) for i in range(1, 15)]  # .17 .. .30
    live = [hosts[0], hosts[6], hosts[13]]
    for _ in range(5):
        port = free_port("udp")
        holes = black_holes([h for h in hosts if h not in live], port)
        if holes is not None:
            break
    if holes is None:
        return T.skip("snmp /28", "cannot bind the loopback addresses")
    snmpsim(d, live, port)
    T.ok(all(snmplib.answers(h, port) for h in live),
         "three snmpsim agents answer on the /28")
    t0 = time.time()
    r = ohm("scan", "--json", "--timeout", str(TIMEOUT), "--port", str(port),
            "snmp://public@%s.16/28" % net, timeout=120)
    took = time.time() - t0
    got = json.loads(r.stdout) if r.returncode == 0 else []
    T.eq([x.get("name") for x in got], live,
         "the /28 scan finds the three agents, in address order")
    T.ok(all(x.get("driver") == "ups-mib" for x in got),
         "each agent named with its driver", got)
    T.ok(took < 5 * TIMEOUT, "11 silent hosts at %g s each scan in about "
         "one timeout, not eleven (%.1f s)" % (TIMEOUT, took), r.stderr)
    for s in holes:
        s.close()


def gateway(port, present, cap=None):
    """A Modbus TCP gateway: FC 03 of a present unit answered with one
    register; any other unit never answers (its serial slave is silent).
    With cap, connections beyond cap open at once are accepted and closed
    (as small gateways do)."""
    live = [0]
    lock = threading.Lock()
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", port))
    srv.listen(64)

    def serve(c):
        buf = b""
        while True:
            try:
                data = c.recv(4096)
            except OSError:
                return
            if not data:
                return
            buf += data
            while len(buf) >= 7:
                tid, _, length, unit = struct.unpack(">HHHB", buf[:7])
                if len(buf) < 6 + length:
                    break
                pdu, buf = buf[7:6 + length], buf[6 + length:]
                if unit in present and pdu[:1] == b"\x03":
                    body = bytes([unit, 3, 2]) + struct.pack(">H", unit)
                    c.sendall(struct.pack(">HHH", tid, 0, len(body)) + body)

    def counted(c):
        try:
            serve(c)
        finally:
            c.close()
            with lock:
                live[0] -= 1

    def accept():
        while True:
            try:
                c, _ = srv.accept()
            except OSError:
                return
            with lock:
                full = cap is not None and live[0] >= cap
                live[0] += 0 if full else 1
            if full:
                c.close()
                continue
            threading.Thread(target=counted, args=(c,), daemon=True).start()
    threading.Thread(target=accept, daemon=True).start()
    return srv


def modbus_part():
    port = free_port()
    srv = gateway(port, {1, 7, 42})
    T.ok(wait_port(port), "the Modbus TCP gateway peer listens")
    t0 = time.time()
    r = ohm("scan", "--units", "1-40", "--timeout", str(TIMEOUT / 2),
            "modbus-tcp://127.0.0.1:%d" % port, timeout=120)
    took = time.time() - t0
    units = [ln.split('"')[1] for ln in r.stdout.splitlines()
             if ln.startswith("  [")]
    T.eq(units, ["unit1", "unit7"],
         "the gateway scan finds units 1 and 7 of 1-40, in order")
    T.ok(took < 8 * TIMEOUT, "38 silent units at %g s each scan in a few "
         "timeouts, not 38 (%.1f s)" % (TIMEOUT / 2, took), r.stderr)
    r = ohm("scan", "--jobs", "3", "--units", "40-44", "--timeout", "0.3",
            "modbus-tcp://127.0.0.1:%d" % port)
    T.ok(r.returncode == 0 and '"unit42"' in r.stdout and
         r.stdout.count("unit=") == 1, "--jobs 3 finds unit 42 alone",
         r.stdout + r.stderr)
    srv.close()
    # a gateway that takes two connections and closes the other six: the
    # units those were asking are asked again, none is lost
    port = free_port()
    srv = gateway(port, {1, 7, 42}, cap=2)
    T.ok(wait_port(port), "a gateway of two connections listens")
    r = ohm("scan", "--units", "1-44", "--timeout", "0.3",
            "modbus-tcp://127.0.0.1:%d" % port, timeout=120)
    units = [ln.split('"')[1] for ln in r.stdout.splitlines()
             if ln.startswith("  [")]
    T.ok(r.returncode == 0 and units == ["unit1", "unit7", "unit42"],
         "8 jobs against a gateway of 2 connections: units 1, 7, 42 all "
         "found", r.stdout + r.stderr)
    srv.close()


def usage():
    for bad in ("0", "65", "x"):
        r = ohm("scan", "--jobs", bad, "modbus-tcp://127.0.0.1:1")
        T.ok(r.returncode == 2 and r.stderr.count("\n") == 1 and
             "--jobs" in r.stderr, "--jobs %s: a one-line usage error" % bad,
             r.stderr)


def main():
    d = os.path.join(TMP, "ohm-scanjobs-%d" % os.getpid())
    os.makedirs(d, exist_ok=True)
    usage()
    modbus_part()
    snmp_part(d)


run(main)
