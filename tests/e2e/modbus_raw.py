"""`ohm modbus read/write` (raw requests, decoded) against an independent
peer (python3-pymodbus, tests/modbus_meter_peer.py) and checked against an
independent client (mbpoll) on the same registers, in every type mbpoll
has: u16, s16, int32 and float32 in both word orders, hex, coils and
discrete inputs; writes with 06/16 read back by mbpoll; --json; writes
refused without --yes and without a terminal."""
import json
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.join(os.environ["OHM_TOP"], "tests"))
from lib import T, ohm, free_port, wait_port, PY, start, run  # noqa: E402

TOP = os.environ["OHM_TOP"]
TMP = os.environ.get("TMPDIR", "/tmp")


def mbpoll(port, *args):
    """mbpoll's values ([ADDR]: VALUE lines), one poll, PDU addressing;
    for 16-bit values the signed reading in brackets when asked."""
    r = subprocess.run(["mbpoll", "-m", "tcp", "-p", str(port), "-a", "1",
                        "-0", "-1", "-q", *args, "127.0.0.1"],
                       capture_output=True, text=True, timeout=20)
    return re.findall(r"^\[(\d+)\]:\s+(\S+)(?: \((-?\d+)\))?$", r.stdout,
                      re.M)


def ohm_values(uri, *args):
    r = ohm("modbus", "read", "--csv", *args[:-2], uri, *args[-2:])
    rows = [x.split(",", 2) for x in r.stdout.splitlines()[1:]]
    return r, rows


def num(s):
    return float(s)


# (name, mbpoll args, ohm args (ADDR COUNT last), which mbpoll field)
CASES = [
    ("u16 holding", ["-t", "4", "-r", "0", "-c", "5"],
     ["--type", "u16", "0", "5"], 1),
    ("s16 input", ["-t", "3", "-r", "8"],
     ["--function", "4", "--type", "s16", "8", "1"], 2),
    ("int32 ABCD input", ["-t", "3:int", "-B", "-r", "4", "-c", "2"],
     ["--function", "4", "--type", "s32", "4", "2"], 1),
    ("int32 CDAB input", ["-t", "3:int", "-r", "11"],
     ["--function", "4", "--type", "s32", "--order", "CDAB", "11", "1"], 1),
    ("uint32 ABCD holding", ["-t", "4:int", "-B", "-r", "1"],
     ["--type", "u32", "1", "1"], 1),
    ("float32 ABCD input", ["-t", "3:float", "-B", "-r", "0"],
     ["--function", "4", "--type", "float32", "0", "1"], 1),
    ("float32 CDAB input", ["-t", "3:float", "-r", "2"],
     ["--function", "4", "--type", "float32", "--order", "CDAB", "2", "1"],
     1),
    ("coils", ["-t", "0", "-r", "0", "-c", "2"],
     ["--function", "1", "0", "2"], 1),
    ("discrete inputs", ["-t", "1", "-r", "0", "-c", "2"],
     ["--function", "2", "0", "2"], 1),
]


def main():
    d = os.path.join(TMP, "ohm-raw-%d" % os.getpid())
    os.makedirs(d, exist_ok=True)
    port = free_port()
    start(PY, os.path.join(TOP, "tests", "modbus_meter_peer.py"), str(port),
          os.path.join(d, "log"), stdout=subprocess.DEVNULL,
          stderr=subprocess.DEVNULL)
    T.ok(wait_port(port), "pymodbus meter listens")
    uri = "modbus-tcp://127.0.0.1:%d" % port

    for name, margs, oargs, field in CASES:
        mb = mbpoll(port, *margs)
        r, rows = ohm_values(uri, *oargs)
        want = [(int(x[0]), num(x[field])) for x in mb]
        got = [(int(a), num(v)) for a, _, v in rows]
        T.ok(r.returncode == 0 and mb and got == want,
             "modbus read agrees with mbpoll: " + name, (got, want, r.stderr))

    mb = mbpoll(port, "-t", "4:hex", "-r", "0", "-c", "2")
    r, rows = ohm_values(uri, "0", "2")
    T.eq([raw for _, raw, _ in rows], [v for _, v, _ in mb],
         "raw column is mbpoll's hex")

    r = ohm("modbus", "read", "--json", "--function", "4", "--type", "u64",
            uri, "0x4", "1")
    js = json.loads(r.stdout) if r.returncode == 0 else None
    T.ok(js == [{"address": 4, "raw": "0x0000 0x001c 0xbe99 0x1a14",
                 "value": 123456789012}],
         "--json, hex address, u64", r.stdout + r.stderr)

    r = ohm("modbus", "write", uri, "0", "7")
    T.ok(r.returncode != 0 and "--yes" in r.stderr,
         "write refused without --yes and a terminal", r.stderr)
    r = ohm("modbus", "write", "--yes", "-v", uri, "0", "7")
    fcs = re.findall(r"trace: \S+ > 01 ([0-9a-f]{2})", r.stderr)
    T.ok(r.returncode == 0 and fcs == ["06"] and
         mbpoll(port, "-t", "4", "-r", "0")[0][1] == "7",
         "write one register with 06, mbpoll reads it back", r.stderr)
    r = ohm("modbus", "write", "--yes", "-v", "--type", "float32", uri, "5",
            "1.5")
    fcs = re.findall(r"trace: \S+ > 01 ([0-9a-f]{2})", r.stderr)
    T.ok(r.returncode == 0 and fcs == ["10"] and
         mbpoll(port, "-t", "4:float", "-B", "-r", "5")[0][1] == "1.5",
         "write a float32 with 16, mbpoll reads it back", r.stderr)
    r = ohm("modbus", "write", "--yes", "--function", "5", uri, "0", "1")
    T.ok(r.returncode == 0 and
         mbpoll(port, "-t", "0", "-r", "0")[0][1] == "1",
         "write a coil with 05, mbpoll reads it back", r.stderr)
    r = ohm("modbus", "read", "--function", "4", uri, "9")
    T.ok(r.returncode == 1 and r.stdout == "" and
         "Modbus exception 2" in r.stderr and r.stderr.count("\n") == 1,
         "a missing register: one-line error with the exception", r.stderr)
    r = ohm("modbus", "read", "--type", "u128", uri, "0")
    T.ok(r.returncode == 2 and "bad --type" in r.stderr, "bad type: usage",
         r.stderr)


run(main)
