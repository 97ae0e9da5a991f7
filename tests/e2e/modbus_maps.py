"""A user map (the ohm-maps(5) meter example) against an independent
Modbus peer (python3-pymodbus, tests/modbus_meter_peer.py): input
registers, coils, discrete inputs, float32 in two word orders, a u64
counter, s32 DCBA, float64 BADC, named bits, enums on a u16 and a discrete
input, and a gap in the map the device answers with exception 02. Every
value right, writes with 05/06/16 read back, and `ohm get DEVICE VAR`
reads only the block that holds VAR."""
import os
import re
import sys
import time

sys.path.insert(0, os.path.join(os.environ["OHM_TOP"], "tests"))
from lib import T, ohm, free_port, wait_port, PY, start, run  # noqa: E402

TOP = os.environ["OHM_TOP"]
TMP = os.environ.get("TMPDIR", "/tmp")

EXPECT = {
    "ambient.alarm": "0",
    "ambient.door": "open",
    "ambient.temperature": "-1.2",
    "device.mfr": "Acme",
    "device.model": "M1",
    "input.current": "12.25",
    "input.energy": "123456789012",
    "input.frequency": "49.75",
    "input.realpower": "-1500",
    "input.voltage": "230.5",
    "outlet.buzzer": "1",
    "outlet.relay": "0",
    "output.limit": "70000",
    "output.mode": "manual",
    "output.setpoint": "100",
    "ups.alarm": "overload fault",
}


def man_example():
    """The Modbus meter example of man/ohm-maps.5, as a file."""
    src = open(os.path.join(TOP, "man", "ohm-maps.5")).read()
    m = re.search(r"^\.\\\" BEGIN meter\n(.*?)^\.\\\" END meter", src,
                  re.S | re.M)
    lua = re.sub(r"^\.(?:nf|fi|EX|EE)\n", "", m.group(1), flags=re.M)
    return lua.replace("\\e", "\\").replace("\\-", "-")


def lines(out):
    return dict(x.split(": ", 1) for x in out.splitlines() if ": " in x)


def sent_functions(stderr):
    """Function codes of the requests a -v trace shows."""
    return [int(m.group(1), 16) for m in
            re.finditer(r"^ohm: trace: \S+ > [0-9a-f]{2} ([0-9a-f]{2})",
                        stderr, re.M)]


def main():
    d = os.path.join(TMP, "ohm-maps-%d" % os.getpid())
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "meter.lua"), "w") as f:
        f.write(man_example())
    log = os.path.join(d, "log")
    port = free_port()
    start(PY, os.path.join(TOP, "tests", "modbus_meter_peer.py"), str(port),
          log, stdout=open(os.devnull, "w"), stderr=open(os.devnull, "w"))
    T.ok(wait_port(port), "pymodbus meter listens")
    env = {"OHM_DRIVERS": d}
    uri = "modbus-tcp://127.0.0.1:%d" % port

    r = ohm("get", "-d", "meter", uri, env=env)
    got = lines(r.stdout)
    T.ok(r.returncode == 0, "full read exits 0", r.stderr)
    for k, v in EXPECT.items():
        T.eq(got.get(k), v, "value " + k)
    T.ok("input.missing" not in got,
         "the var in the gap (exception 02) is absent, the rest answer")

    r = ohm("get", "-v", "-d", "meter", uri, env=env)
    fcs = sent_functions(r.stderr)
    T.ok(set(fcs) == {1, 2, 3, 4}, "reads use functions 01 02 03 04", fcs)

    open(log, "w").close()
    r = ohm("get", "-d", "meter", uri, "input.frequency", env=env)
    reads = [x for x in open(log).read().splitlines() if " read " in x]
    T.ok(r.stdout == "input.frequency: 49.75\n" and reads == ["ir read 13 4"],
         "get ONE_VAR reads only its block", (r.stdout, reads))

    for var, val, fc in (("outlet.relay", "1", 5),
                         ("output.setpoint", "230", 6),
                         ("output.limit", "80000", 16),
                         ("output.mode", "auto", 16)):
        r = ohm("set", "-v", "-d", "meter", uri, var + "=" + val, env=env)
        T.ok(r.returncode == 0 and fc in sent_functions(r.stderr) and
             not ({5, 6, 15, 16} - {fc}) & set(sent_functions(r.stderr)),
             "set %s writes with function %02d" % (var, fc),
             (r.stderr, sent_functions(r.stderr)))
        r = ohm("get", "-d", "meter", uri, var, env=env)
        T.eq(r.stdout, "%s: %s\n" % (var, val), "%s read back" % var)

    r = ohm("drivers", "--check", os.path.join(d, "meter.lua"))
    rows = {x.split()[0]: x.split()[1:] for x in r.stdout.splitlines()}
    T.ok(r.returncode == 0 and rows.get("input.current", [])[:4] ==
         ["input", "2-3", "CDAB", "float32"] and
         rows.get("outlet.relay", [])[:4] == ["coil", "0", "bool", "rw"] and
         rows.get("input.energy", [])[:4] == ["input", "4-7", "ABCD", "u64"] and
         "valid" in r.stderr,
         "drivers --check: each variable's location", r.stdout + r.stderr)
    with open(os.path.join(d, "bad.lua"), "w") as f:
        f.write('return { vars = { { name = "x", table = "inputs", reg = 0 '
                '} } }')
    r = ohm("drivers", "--check", os.path.join(d, "bad.lua"))
    T.ok(r.returncode == 1 and r.stdout == "" and
         r.stderr.count("\n") == 1 and "vars[1] (x): table must be" in
         r.stderr, "drivers --check: a bad map, one line naming the entry",
         r.stderr)

    # a user map named like a built-in replaces it, with one note
    over = os.path.join(d, "over")
    os.makedirs(over, exist_ok=True)
    with open(os.path.join(over, "bps2000v2.lua"), "w") as f:
        f.write(man_example().replace('name = "meter"', 'name = "bps2000v2"'))
    r = ohm("get", "-d", "bps2000v2", uri, "input.voltage", "input.current",
            env={"OHM_DRIVERS": over})
    T.ok(r.returncode == 0 and
         r.stdout == "input.current: 12.25\ninput.voltage: 230.5\n" and
         r.stderr == "ohm: note: the user map bps2000v2.lua replaces the "
         "built-in driver bps2000v2\n",
         "a user map replaces the built-in of its name, said once",
         r.stdout + r.stderr)

    # the split of the refused block is kept for the session: a second
    # read in the same process sends only the requests that answered
    pport, count = free_port(), os.path.join(d, "count")
    start(PY, os.path.join(TOP, "bench", "modbus_count_proxy.py"),
          str(pport), str(port), count, stdout=open(os.devnull, "w"),
          stderr=open(os.devnull, "w"))
    T.ok(wait_port(pport), "counting proxy listens")
    lua = ("local function n() for _ = 1, 100000 do local f = io.open(%r) "
           "local c = f and f:read('n') if f then f:close() end "
           "if c then return c end end return -1 end "
           "local d = assert(ohm.open('modbus-tcp://127.0.0.1:%d', "
           "{driver = 'meter'})) d:get() local a = n() d:get() "
           "print(a, n() - a)" % (count, pport))
    r = ohm("-e", lua, env=env)
    nums = r.stdout.split()
    T.ok(r.returncode == 0 and len(nums) == 2 and
         int(nums[1]) == 7 and int(nums[0]) > 7,
         "the split is remembered: the second read is 7 requests, none "
         "refused", r.stdout + r.stderr)

    r = ohm("set", "-d", "meter", uri, "input.voltage=1", env=env)
    T.ok(r.returncode != 0 and "read-only" in r.stderr,
         "an input register is read-only", r.stderr)


run(main)
