#!/usr/bin/python3
"""Issue 14's speed row: a full read of a 4-string x 40-block BM100
(cps-bm100) against snmpbulkwalk of the same subtree (battmgr), on two
agents: snmpsim with recorded data (tests/snmplib.py bm_records) and
`ohm sim cps-bm100 --snmp --strings 4 --blocks 40`. Runs interleave
(A B A B ...), medians of wall time, CPU (user + system of the child)
beside it, and the request PDUs each side sent, counted by a UDP relay
in a separate pass so that the relay's hops are not in the times.

    bm100.py path/to/ohm [ROUNDS]
"""
import os, resource, socket, statistics, subprocess, sys, tempfile
import threading, time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests"))
import snmplib as S  # noqa: E402

OHM = os.path.abspath(sys.argv[1])
ROUNDS = int(sys.argv[2]) if len(sys.argv) > 2 else 7


def free_udp():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def relay(target):
    """A counting UDP relay to 127.0.0.1:target: [port, requests]."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    state = [s.getsockname()[1], 0]

    def run():
        ups = {}
        while True:
            data, peer = s.recvfrom(65535)
            state[1] += 1
            up = ups.get(peer)
            if up is None:
                up = ups[peer] = socket.socket(socket.AF_INET,
                                               socket.SOCK_DGRAM)
                up.settimeout(2)
            up.sendto(data, ("127.0.0.1", target))
            try:
                s.sendto(up.recv(65535), peer)
            except OSError:
                pass
    threading.Thread(target=run, daemon=True).start()
    return state


def timed(argv):
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    wall = time.monotonic() - t0
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    if p.returncode != 0:
        raise SystemExit("failed: %s\n%s" % (" ".join(argv),
                                             p.stderr.decode()[-400:]))
    return wall, cpu, p.stdout


def sides(port, community, v1=False):
    """ohm's full read and the peer's walk of battmgr: v2c GETBULK
    (snmpbulkwalk) or, as the BM100 speaks, v1 GETNEXT (snmpwalk)."""
    ohm = [OHM, "get", "-d", "cps-bm100",
           f"snmp://{community}@127.0.0.1:{port}" + ("" if v1 else
                                                     "?version=2c")]
    walk = ["snmpwalk" if v1 else "snmpbulkwalk", "-v1" if v1 else "-v2c",
            "-c", community, "-On", "-Cc", f"127.0.0.1:{port}", S.BMG]
    return ohm, walk


def bench(name, port, community, v1=False):
    ohm, walk = sides(port, community, v1)
    out = timed(ohm)[2].decode()
    blocks = sum(1 for line in out.splitlines()
                 if line.startswith("battery.string.") and
                 line.split(":")[0].endswith(".voltage"))
    big = walk[:1] + ["-Cr64"] + walk[1:]  # snmpbulkwalk at its best
    ta, tb, tc = [], [], []
    for _ in range(ROUNDS):
        ta.append(timed(ohm)[:2])
        tb.append(timed(walk)[:2])
        if not v1:
            tc.append(timed(big)[:2])
    rl = relay(port)
    pdus = []
    for argv in sides(rl[0], community, v1) + \
            (() if v1 else (sides(rl[0], community)[1][:1] + ["-Cr64"] +
                            sides(rl[0], community)[1][1:],)):
        before = rl[1]
        timed(argv)
        pdus.append(rl[1] - before)
    wa = statistics.median(t[0] for t in ta)
    wb = statistics.median(t[0] for t in tb)
    ca = statistics.median(t[1] for t in ta)
    cb = statistics.median(t[1] for t in tb)
    print(f"bm100 ({name}): full read of 4 x 40 blocks ({blocks} read), "
          f"median of {ROUNDS}, interleaved")
    peer = "snmpwalk -v1" if v1 else "snmpbulkwalk"
    print(f"  ohm get ({'v1 GETNEXT' if v1 else 'v2c GETBULK'}):  "
          f"{wa * 1000:8.1f} ms wall {ca * 1000:7.1f} ms CPU  {pdus[0]:4d} PDUs")
    print(f"  {peer + ' battmgr:':24s}{wb * 1000:8.1f} ms wall "
          f"{cb * 1000:7.1f} ms CPU  {pdus[1]:4d} PDUs")
    if tc:
        wc = statistics.median(t[0] for t in tc)
        cc = statistics.median(t[1] for t in tc)
        print(f"  {'snmpbulkwalk -Cr64:':24s}{wc * 1000:8.1f} ms wall "
              f"{cc * 1000:7.1f} ms CPU  {pdus[2]:4d} PDUs")
        print(f"  ratio ohm / -Cr64:        {wa / wc:5.2f}x wall, PDUs "
              f"{pdus[0]} vs {pdus[2]}")
    print(f"  ratio ohm / {peer}: {wa / wb:5.2f}x wall "
          f"(target <= 1.2x), PDUs {pdus[0]} vs {pdus[1]} "
          f"(target: the same or fewer)")
    return wa / wb, pdus


def main():
    work = tempfile.mkdtemp()
    port = free_udp()
    agent = S.start_snmpsim(work, {"public": S.bm_records(4, 40)}, [port])
    sport = free_udp()
    sim = subprocess.Popen([OHM, "sim", "cps-bm100", "--snmp",
                            f"127.0.0.1:{sport}", "--strings", "4",
                            "--blocks", "40", "-q"])
    try:
        end = time.time() + 20
        while time.time() < end and subprocess.run(
                ["snmpget", "-v1", "-c", "public", "-t", "0.3", "-r", "0",
                 f"127.0.0.1:{sport}", S.BMG + ".1.1.0"],
                capture_output=True).returncode != 0:
            time.sleep(0.1)
        bench("snmpsim, recorded data", port, "public")
        print()
        bench("ohm sim cps-bm100", sport, "public")
        print()
        bench("ohm sim cps-bm100, v1", sport, "public", v1=True)
    finally:
        S.stop(agent)
        sim.terminate()
        sim.wait(10)


main()
