"""ohm's telnet:// client (transport + console engine) against an
independent console (tests/console_emulator.py, written from the manual,
not ohm's server), in the manual's layout and a sloppy one; refused logins
and unknown screens; then the two halves of ohm against each other, and
values travelling pymodbus -> ohm serve -> Telnet -> ohm get."""
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.environ["OHM_TOP"], "tests"))
from lib import (  # noqa: E402
    T, ohm, free_port, start_listening as start, stop_all)

TOP = os.environ["OHM_TOP"]
PY = os.environ.get("PYTHON", "/usr/bin/python3")
tmp = tempfile.mkdtemp()



def emulator(mode, log):
    port = free_port()
    start([PY, os.path.join(TOP, "tests", "console_emulator.py"), str(port),
           "--user", "bkt", "--password", "pa55", "--mode", mode, "--log",
           log, "--slaves", "1"], port)
    return port


def values(out):
    return dict(l.split(": ", 1) for l in out.splitlines() if ": " in l)


def logged(log, prefix):
    with open(log) as f:
        return [l.strip() for l in f if l.startswith(prefix)]


def check_emulator(mode):
    log = os.path.join(tmp, mode + ".log")
    port = emulator(mode, log)
    uri = f"telnet://bkt:pa55@127.0.0.1:{port}"
    r = ohm("get", "-d", "bps2000v2", uri)
    v = values(r.stdout)
    T.ok(r.returncode == 0 and v.get("input.L1.current") == "12.34" and
         v.get("input.L2.current") == "5.67" and
         v.get("input.L1-N.voltage") == "239.7", f"{mode}: phase values",
         r.stdout + r.stderr)
    T.ok(v.get("input.L1.current.high.critical") == "32" and
         v.get("input.L1.current.high.warning") == "16" and
         v.get("input.L2-N.voltage.low.warning") == "170" and
         v.get("ambient.humidity.high.warning") == "80",
         f"{mode}: alarm and warning thresholds", r.stdout)
    T.ok(v.get("ambient.contacts.1.status") == "closed" and
         v.get("ambient.contacts.2.status") == "open" and
         v.get("input.L1.energy") == "1800.12" and
         "ambient.water" not in v, f"{mode}: states, energy, '-' absent",
         r.stdout)
    T.eq(len(logged(log, "login ok")), 1, f"{mode}: one login per get")
    r = ohm("get", "-d", "bps2000v2", uri + "?unit=1", "input.L1.current")
    T.eq(r.stdout.strip(), "input.L1.current: 24.68", f"{mode}: slave1")
    logins = len(logged(log, "login"))
    r = ohm("get", "-d", "bps2000v2", uri + "?unit=6", "input.L1.current")
    T.ok(r.returncode == 2 and "unit 6 out of range" in r.stderr and
         len(logged(log, "login")) == logins,
         f"{mode}: unit=6 is a usage error, before any login", r.stderr)
    if mode != "manual":
        return
    r = ohm("set", "-d", "bps2000v2", f"telnet://bkt@127.0.0.1:{port}",
            "input.L1.current.high.warning=12.5",
            env={"OHM_PASSWORD": "pa55"})
    T.ok(r.returncode == 0 and
         "cmd current one:32&12.5&0&0" in logged(log, "cmd"),
         "set writes the row through screen 8", r.stderr)
    T.ok("pa55" not in r.stdout + r.stderr, "password not printed")
    r = ohm("get", "-d", "bps2000v2", uri, "input.L1.current.high.warning")
    T.eq(r.stdout.strip(), "input.L1.current.high.warning: 12.5",
         "warning read back")
    r = ohm("cmd", "--yes", "-d", "bps2000v2", uri, "reset.energy.L1")
    T.ok(r.returncode == 0 and "cmd clearp1" in logged(log, "cmd"),
         "reset.energy.L1 through screen 9", r.stderr)
    r = ohm("get", "-d", "bps2000v2", uri, "input.L1.energy")
    T.eq(r.stdout.strip(), "input.L1.energy: 0", "energy cleared")


def check_inventory():
    port = emulator("manual", os.path.join(tmp, "inv.log"))
    cfg = os.path.join(tmp, "inv.lua")
    with open(cfg, "w") as f:
        f.write('devices = { pdu = { uri = "telnet://bkt@127.0.0.1:%d", '
                'driver = "bps2000v2", password = "pa55" } }\n' % port)
    r = ohm("get", "--config", cfg, "pdu", "input.L2.current")
    T.eq(r.stdout, "input.L2.current: 5.67\n",
         "password from the inventory", )
    T.ok("pa55" not in r.stdout + r.stderr, "inventory password not shown")


def check_failures():
    log = os.path.join(tmp, "x.log")
    port = emulator("manual", log)
    r = ohm("get", "-d", "bps2000v2", f"telnet://bkt:nope@127.0.0.1:{port}")
    T.ok(r.returncode == 1 and "login refused" in r.stderr and
         "nope" not in r.stderr, "wrong password: login refused",
         r.stderr)
    port = emulator("hangup", log)
    r = ohm("get", "-d", "bps2000v2", f"telnet://bkt:nope@127.0.0.1:{port}")
    T.ok(r.returncode == 1 and "login refused" in r.stderr,
         "hang-up after password: login refused", r.stderr)
    r = ohm("get", "-d", "bps2000v2", f"telnet://bkt@127.0.0.1:{port}",
            env={"OHM_PASSWORD": ""})
    T.ok(r.returncode == 1 and r.stderr.count("\n") == 1,
         "no password: one-line error", r.stderr)
    port = emulator("alien", log)
    r = ohm("get", "-d", "bps2000v2", f"telnet://bkt:pa55@127.0.0.1:{port}")
    T.ok(r.returncode == 1 and "does not recognise" in r.stderr and
         not r.stdout, "unknown screen: clear failure, no values", r.stderr)
    port = free_port()  # nothing listens
    r = ohm("get", "--timeout", "1", "-d", "bps2000v2",
            f"telnet://bkt:x@127.0.0.1:{port}")
    T.ok(r.returncode == 1 and "connect" in r.stderr, "connection refused",
         r.stderr)


def serve(devices, extra=()):
    port = free_port()
    pw = os.path.join(tmp, "pw")
    with open(pw, "w") as f:
        f.write("s3cret\n")
    start([os.environ["OHM"], "serve", "--telnet", f"127.0.0.1:{port}",
           "--interval", "0.3", "--user", "bkt", "--password-file", pw,
           *extra, *devices], port)
    return port


def get_live(uri, *names, seconds=10):
    end = time.time() + seconds
    while True:
        r = ohm("get", "-d", "bps2000v2", uri, *names)
        if r.returncode == 0 or time.time() > end:
            return r
        time.sleep(0.3)


def check_halves():
    port = serve(["sim:bps2000v2"])
    uri = f"telnet://bkt:s3cret@127.0.0.1:{port}"
    r = get_live(uri)
    v = values(r.stdout)
    T.ok(r.returncode == 0 and "input.L3.current" in v and
         "ambient.temperature.high.warning" in v and
         "input.L1.energy.apparent" in v, "ohm get over ohm's own console",
         r.stdout + r.stderr)
    r = ohm("set", "-d", "bps2000v2", uri,
            "ambient.temperature.high.warning=33")
    T.ok(r.returncode == 0, "set a warning through ohm's console", r.stderr)
    r = ohm("get", "-d", "bps2000v2", uri, "ambient.temperature.high.warning")
    T.eq(r.stdout.strip(), "ambient.temperature.high.warning: 33",
         "the warning ohm keeps reads back")


def check_pymodbus():
    mport = free_port()
    start([PY, os.path.join(TOP, "tests", "modbus_peer.py"), "tcp",
           str(mport), "--set", "0=2301,2302,2303,1234,567,89"], mport)
    port = serve([f"modbus-tcp://127.0.0.1:{mport}"], ["-d", "bps2000v2"])
    r = get_live(f"telnet://bkt:s3cret@127.0.0.1:{port}", "input.L1.current",
                 "input.L2.current", "input.L3-N.voltage")
    T.eq(r.stdout, "input.L1.current: 12.34\ninput.L2.current: 5.67\n"
         "input.L3-N.voltage: 230.3\n", "Modbus -> ohm -> Telnet -> ohm")


try:
    check_emulator("manual")
    check_emulator("sloppy")
    check_failures()
    check_inventory()
    check_halves()
    check_pymodbus()
finally:
    stop_all(check_ohm=True)
T.done()
