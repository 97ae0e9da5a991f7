"""-v traces and the hints a newcomer needs: which driver ohm assumed when
none was given (and why, on -v), each request and reply in hex with its
time on -v. Peers: tests/modbus_peer.py (pymodbus and raw misbehaving
servers), snmpsim."""
import os
import re
import sys

sys.path.insert(0, os.path.join(os.environ["OHM_TOP"], "tests"))
from lib import T, ohm, free_port, run, start_listening, PEER, PY  # noqa: E402


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
    T.ok(r.returncode == 2 and "several drivers" in r.stderr and
         "-d NAME" in r.stderr, "get snmp:// without -d: choose one with -d",
         r.stderr)


def main():
    driver_hints()


run(main)
