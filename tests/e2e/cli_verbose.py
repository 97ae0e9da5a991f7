"""-v traces and the hints a newcomer needs: which driver ohm assumed when
none was given (and why, on -v), each request and reply in hex with its
time on -v. Peers: tests/modbus_peer.py (pymodbus and raw misbehaving
servers), snmpsim."""
import os
import re
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.join(os.environ["OHM_TOP"], "tests"))
from lib import (  # noqa: E402
    T, ohm, free_port, procs, run, start_listening, PEER, PY, TOP)

WORK = tempfile.mkdtemp()
HEX = re.compile(r"^ohm: trace: \S+ ([<>])((?: [0-9a-f]{2})+)( \.\.\.)?"
                 r"(?: \((\d+) bytes, [0-9.]+ ms\))?$")


def frames(err):
    """(direction, [bytes], truncated, reported length) per hex line."""
    out = []
    for line in err.splitlines():
        m = HEX.match(line)
        if m:
            out.append((m.group(1), m.group(2).split(), bool(m.group(3)),
                        int(m.group(4)) if m.group(4) else None))
    return out


def driver_hints():
    port = free_port()
    start_listening([PY, PEER, "raw", str(port), "exception"], port)
    uri = f"modbus-tcp://127.0.0.1:{port}"
    r = ohm("get", "--timeout", "1", "--retries", "0", uri)
    T.ok(r.returncode == 1 and "driver bps2000v2 assumed" in r.stderr and
         "-d NAME" in r.stderr and len(r.stderr.splitlines()) == 1,
         "get without -d: a failed read names the assumed driver, suggests -d",
         r.stderr)
    r = ohm("get", "-d", "bps2000v2", "--timeout", "1", "--retries", "0", uri)
    T.ok(r.returncode == 1 and "assumed" not in r.stderr,
         "get -d: no driver hint when the driver was given", r.stderr)
    r = ohm("-v", "get", "sim:bps2000v2", "input.phases")
    T.ok(r.returncode == 0 and r.stdout == "input.phases: 3\n" and
         "driver bps2000v2 (from sim:DRIVER)" in r.stderr,
         "-v get: says which driver and why", r.stdout + r.stderr)
    r = ohm("get", "-v", "--timeout", "1", "--retries", "0", uri)
    T.ok("driver bps2000v2 (the only built-in driver for modbus-tcp)"
         in r.stderr, "-v get without -d: the driver was the only one",
         r.stderr)
    p2 = free_port("udp")
    r = ohm("get", "--timeout", "0.3", "--retries", "0",
            f"snmp://127.0.0.1:{p2}")
    # several drivers read over SNMP: the driver is detected by the maps'
    # signatures (issue 12), so a silent agent is a plain timeout
    T.ok(r.returncode == 1 and "no answer" in r.stderr and
         r.stderr.count("\n") == 1,
         "get snmp:// without -d: detection asks the agent, one-line error",
         r.stderr)


def modbus_trace():
    port = free_port()
    start_listening([PY, PEER, "tcp", str(port), "--set", "0=2301"], port)
    uri = f"modbus-tcp://127.0.0.1:{port}"
    r = ohm("get", "-d", "bps2000v2", uri, "input.L1-N.voltage")
    T.ok(r.returncode == 0 and "trace" not in r.stderr,
         "without -v: no trace", r.stderr)
    r = ohm("get", "-v", "-d", "bps2000v2", uri, "input.L1-N.voltage")
    f = frames(r.stderr)
    T.ok(r.returncode == 0 and r.stdout == "input.L1-N.voltage: 230.1\n" and
         len(f) == 2 and f[0][:2] == (">", "01 03 00 00 00 63".split()) and
         f[1][1][:5] == "01 03 c6 08 fd".split() and f[1][2] and
         f[1][3] == 201,
         "-v: the Modbus request and reply in hex, the reply cut, with "
         "its length and time", r.stderr)
    r = ohm("-vv", "get", "-d", "bps2000v2", uri, "input.L1-N.voltage")
    f = frames(r.stderr)
    T.ok(r.returncode == 0 and len(f) == 2 and len(f[1][1]) == 201 and
         not f[1][2], "-vv: the whole reply", r.stderr[:300])
    dead = free_port()
    start_listening([PY, PEER, "raw", str(dead), "silent"], dead)
    r = ohm("get", "-v", "-d", "bps2000v2", "--timeout", "0.3",
            "--retries", "1", f"modbus-tcp://127.0.0.1:{dead}")
    T.ok(r.returncode == 1 and
         len(re.findall(r"^ohm: trace: \S+ ! .*timed out.* ms\)$", r.stderr,
                        re.M)) == 2,
         "-v: each attempt that timed out is traced", r.stderr)


def snmp_trace():
    try:
        import snmplib
        port = free_port("udp")
        procs.append(snmplib.start_snmpsim(
            os.path.join(WORK, "snmp"), {"ups": snmplib.ups_records(charge=87)}, [port]))
    except Exception as ex:  # noqa: BLE001
        T.skip("-v over SNMP", f"snmpsim: {ex}")
        return
    r = ohm("get", "-v", "-d", "ups-mib", f"snmp://ups@127.0.0.1:{port}",
            "battery.charge")
    T.ok(r.returncode == 0 and r.stdout == "battery.charge: 87\n" and
         re.search(r"trace: \S+ > GET reqid \d+: .*\.1\.3\.6\.1\.2\.1"
                   r"\.33\.1\.2\.4\.0", r.stderr) and
         re.search(r"trace: \S+ < RESPONSE reqid \d+ errstat 0 .*"
                   r"\.1\.3\.6\.1\.2\.1\.33\.1\.2\.4\.0 = INTEGER: 87.* ms\)",
                   r.stderr) and "public" not in r.stderr and
         "ups@" not in r.stderr.replace("snmp://ups@", ""),
         "-v: SNMP GET and RESPONSE PDUs with their varbinds and time",
         r.stderr[:600])


def telnet_trace():
    port = free_port()
    log = os.path.join(WORK, "console.log")
    start_listening([PY, os.path.join(TOP, "tests", "console_emulator.py"),
                     str(port), "--user", "bkt", "--password", "pa55",
                     "--mode", "manual", "--log", log], port)
    r = ohm("get", "-v", "-d", "bps2000v2",
            f"telnet://bkt:pa55@127.0.0.1:{port}", "input.L1.current")
    sent = re.findall(r"^ohm: trace: \S+ > (.*)$", r.stderr, re.M)
    T.ok(r.returncode == 0 and sent[:2] == ["bkt", "********"] and
         "pa55" not in r.stderr and
         re.search(r"< .*Password:.* ms\)$", r.stderr, re.M),
         "-v: the console transcript, the password masked", r.stderr[:800])


def main():
    try:
        driver_hints()
        modbus_trace()
        snmp_trace()
        telnet_trace()
    finally:
        shutil.rmtree(WORK, ignore_errors=True)


run(main)
