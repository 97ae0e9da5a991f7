"""ohm against an independent Modbus TCP peer: a python3-pymodbus server
loaded with known BPS2000v2 registers (DESIGN.md table). Checks decoded
values, --json, a variable subset, that a full read is exactly one request
of 99 registers (function 03), that `ohm set` lands in the server's
register (function 06), IPv6 literals and the raw ohm.connect API."""
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.environ["OHM_TOP"], "tests"))
from lib import (  # noqa: E402
    T, ohm, free_port, wait_port, PEER, PY, procs, run)

TMP = os.environ.get("TMPDIR", "/tmp")

# register -> raw value; the expected decoded lines follow DESIGN.md
REGS = {
    0: [2301, 2302, 2303],      # input.Lx-N.voltage /10
    3: [1234, 5, 0],            # input.Lx.current /100
    6: [28405],                 # input.L1.realpower /10
    15: [5001],                 # input.L1.frequency /100
    18: [98],                   # input.L1.powerfactor /100
    21: [0, 27, 119, 184],      # input.L1.energy energy8
    45: [0, 1, 0, 0],           # input.energy = 65536 / 1000
    53: [215],                  # ambient.temperature /10
    56: [456],                  # ambient.humidity /10
    59: [1, 2, 2, 1],           # doors open/closed, smoke no, water yes
    63: [1900, 2600],           # input.L1-N.voltage.low/high.critical /10
    70: [165],                  # input.L1.current.high.critical /10
    76: [45],                   # ambient.temperature.high.critical raw
    88: [16, 1],                # L2/L3 voltage status
}
EXPECT = {
    "input.L1-N.voltage": "230.1",
    "input.L2-N.voltage": "230.2",
    "input.L3-N.voltage": "230.3",
    "input.L1.current": "12.34",
    "input.L2.current": "0.05",
    "input.L1.realpower": "2840.5",
    "input.L1.frequency": "50.01",
    "input.L1.powerfactor": "0.98",
    "input.L1.energy": "1800.12",
    "input.energy": "65.536",
    "ambient.temperature": "21.5",
    "ambient.humidity": "45.6",
    "ambient.contacts.1.status": "open",
    "ambient.contacts.2.status": "closed",
    "ambient.smoke": "no",
    "ambient.water": "yes",
    "input.L1-N.voltage.low.critical": "190",
    "input.L1-N.voltage.high.critical": "260",
    "input.L1.current.high.critical": "16.5",
    "ambient.temperature.high.critical": "45",
    "input.L1-N.voltage.status": "good",
    "input.L2-N.voltage.status": "critical-high",
    "input.L3-N.voltage.status": "critical-low",
}



def start_peer(host="127.0.0.1"):
    port = free_port()
    log = os.path.join(TMP, f"peer-{port}.log")
    sets = []
    for a, vs in REGS.items():
        sets += ["--set", f"{a}=" + ",".join(map(str, vs))]
    p = subprocess.Popen([PY, PEER, "tcp", str(port), "--host", host,
                          "--log", log] + sets,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    procs.append(p)
    if host == "::1":
        ok = wait_v6(port)
    else:
        ok = wait_port(port)
    if not ok:
        print("peer did not start")
    return port, log


def wait_v6(port, seconds=10):
    import socket
    end = time.time() + seconds
    while time.time() < end:
        try:
            socket.create_connection(("::1", port), 0.2).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


def requests(log):
    """Lines the peer logged; a write also reads its register back."""
    try:
        with open(log) as f:
            return [ln.split() for ln in f.read().splitlines()]
    except FileNotFoundError:
        return []


def lines(out):
    d = {}
    for ln in out.splitlines():
        k, sep, v = ln.partition(": ")
        if sep:
            d[k] = v
    return d


def main():
    port, log = start_peer()
    uri = f"modbus-tcp://127.0.0.1:{port}"

    r = ohm("get", "-d", "bps2000v2", uri)
    T.eq(r.returncode, 0, "get exits 0")
    T.eq(r.stderr, "", "get prints nothing on stderr")
    got = lines(r.stdout)
    for k, v in EXPECT.items():
        T.eq(got.get(k), v, f"get {k}")
    names = [ln.partition(": ")[0] for ln in r.stdout.splitlines()]
    T.ok(names == sorted(names), "get output sorted by name")
    T.ok(len(names) >= 75, "get prints every variable of the map",
         f"{len(names)} lines")
    reads = [q for q in requests(log) if q[0] == "read"]
    T.eq(reads, [["read", "0", "99"]], "full read is one request of 99")

    open(log, "w").close()
    r = ohm("get", "-d", "bps2000v2", "--json", uri)
    T.eq(r.returncode, 0, "get --json exits 0")
    try:
        obj = json.loads(r.stdout)
    except ValueError:
        obj = {}
        T.ok(False, "get --json is JSON", r.stdout[:300])
    T.eq(obj.get("input.L1.energy"), 1800.12, "json energy is a number")
    T.eq(obj.get("input.L1-N.voltage"), 230.1, "json voltage")
    T.eq(obj.get("ambient.contacts.1.status"), "open", "json enum string")
    T.eq(len([q for q in requests(log) if q[0] == "read"]), 1,
         "--json read is one request")

    r = ohm("get", "-d", "bps2000v2", uri + "?unit=1", "input.L1.energy",
            "ambient.temperature")
    T.eq(r.stdout, "ambient.temperature: 21.5\ninput.L1.energy: 1800.12\n",
         "get a subset of variables")

    open(log, "w").close()
    r = ohm("set", "-d", "bps2000v2", uri,
            "input.L1.current.high.critical=25")
    T.eq(r.returncode, 0, "set exits 0")
    writes = [q for q in requests(log) if q[0] == "write"]
    T.eq(writes, [["write", "70", "250"]], "set writes register 70 (06)")
    r = ohm("get", "-d", "bps2000v2", uri, "input.L1.current.high.critical")
    T.eq(r.stdout.strip(), "input.L1.current.high.critical: 25",
         "set value reads back")

    open(log, "w").close()
    r = ohm("set", "-d", "bps2000v2", uri, "input.L1.current=3")
    T.ok(r.returncode != 0 and r.stderr.count("\n") == 1,
         "set of a read-only variable fails with one line", r.stderr)
    r = ohm("set", "-d", "bps2000v2", uri,
            "input.L1-N.voltage.high.critical=100000")
    T.ok(r.returncode != 0, "set out of range fails", r.stderr)
    T.eq([q for q in requests(log) if q[0] == "write"], [],
         "rejected sets send nothing")

    chunk = (f'local m = assert(ohm.connect("{uri}"))\n'
             'print(table.concat(assert(m:read(21, 4)), ","))\n'
             'print(assert(m:write(76, 50)))\n'
             'print(table.concat(assert(m:read(76, 1, 1)), ","))\n')
    r = ohm("-e", chunk)
    T.eq(r.stdout, "0,27,119,184\ntrue\n50\n", "ohm.connect read/write",)
    T.ok(["write", "76", "50"] in requests(log), "raw write lands")

    port6, log6 = start_peer("::1")
    r = ohm("get", "-d", "bps2000v2", f"modbus-tcp://[::1]:{port6}",
            "input.L1.energy")
    T.eq(r.stdout, "input.L1.energy: 1800.12\n", "IPv6 literal [::1]")
    T.eq(r.returncode, 0, "IPv6 get exits 0")


run(main)
