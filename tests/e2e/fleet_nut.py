"""`ohm serve --nut` against NUT's own clients (Debian's nut-client: upsc,
upsrw, upscmd) and a raw protocol session: listing, values equal to
`ohm get`, DATA-STALE for a dead device, UNKNOWN-UPS, GET TYPE / LIST
RANGE, access control (read-only by default, USERNAME/PASSWORD, per-user
actions), SET VAR landing in the Modbus peer's register, INSTCMD errors,
SIGHUP reload and SIGTERM stopping cleanly. Peers: python3-pymodbus
servers and a TCP server that accepts and never answers."""
import os
import signal
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.environ["OHM_TOP"], "tests"))
from lib import (  # noqa: E402
    T, OHM, ohm, free_port, wait_port, PEER, PY, procs, start, run)

TMP = os.environ.get("TMPDIR", "/tmp")



def upsc(*args):
    return subprocess.run(["upsc", *args], capture_output=True, text=True,
                          timeout=20)


def session(port, lines):
    """Send request lines on one connection; the reply lines."""
    with socket.create_connection(("127.0.0.1", port), 5) as s:
        s.sendall(("\n".join(lines) + "\nLOGOUT\n").encode())
        data = b""
        s.settimeout(10)
        while not data.endswith(b"OK Goodbye\n"):
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    return data.decode().splitlines()


def write_config(path, devs, users=True, pw="s3cret"):
    with open(path, "w") as f:
        f.write("devices = {\n")
        for name, port in devs:
            f.write(f'  {name} = {{ uri = "modbus-tcp://127.0.0.1:{port}",'
                    f' driver = "bps2000v2" }},\n')
        f.write("}\n")
        if users:
            f.write('nut = { users = {\n'
                    f'  admin = {{ password = "{pw}", actions = {{"set"}},'
                    ' instcmds = {"all"} },\n'
                    '  viewer = { password = "view" },\n} }\n')


def main():
    pa, pb, pdead = free_port(), free_port(), free_port()
    log = os.path.join(TMP, "pa.log")
    start(PY, PEER, "tcp", str(pa), "--set", "0=2301,2302,2303",
          "--set", "3=1234,5,0", "--set", "69=10,165", "--log", log,
          stderr=subprocess.DEVNULL)
    peer_b = start(PY, PEER, "tcp", str(pb), "--set", "0=2200",
                   stderr=subprocess.DEVNULL)
    start(PY, PEER, "raw", str(pdead), "silent")
    for p in (pa, pb, pdead):
        wait_port(p)
    cfg = os.path.join(TMP, "config.lua")
    write_config(cfg, [("pdu1", pa), ("pdu2", pb), ("dead", pdead)])
    nut = free_port()
    errf = open(os.path.join(TMP, "serve.err"), "w+")
    srv = start(OHM, "serve", "--config", cfg, "--nut", f"127.0.0.1:{nut}",
                "--interval", "0.5", "--timeout", "0.5", "--retries", "0",
                stderr=errf)
    T.ok(wait_port(nut), "serve listens on the NUT port")
    time.sleep(1.5)
    host = f"127.0.0.1:{nut}"

    r = upsc("-l", host)
    T.eq(sorted(r.stdout.split()), ["dead", "pdu1", "pdu2"],
         "upsc -l lists the inventory")

    r = upsc(f"pdu1@{host}")
    got = dict(l.split(": ", 1) for l in r.stdout.splitlines() if ": " in l)
    g = ohm("get", "--config", cfg, "pdu1")
    want = dict(l.split(": ", 1) for l in g.stdout.splitlines())
    T.eq(got.get("input.L1-N.voltage"), "230.1", "upsc shows a voltage")
    T.eq(got.get("input.L1.current"), "12.34", "upsc shows a current")
    T.ok(want and got == want, "upsc shows exactly what ohm get reads",
         f"only upsc: {set(got.items()) - set(want.items())}\n"
         f"only get: {set(want.items()) - set(got.items())}")
    r = upsc(f"pdu1@{host}", "input.L2-N.voltage")
    T.eq(r.stdout.strip(), "230.2", "upsc UPS VAR prints one value")

    r = upsc(f"dead@{host}")
    T.ok(r.returncode != 0 and "stale" in r.stderr.lower(),
         "a dead device is DATA-STALE, not a value", r.stderr)
    r = upsc(f"nosuch@{host}")
    T.ok(r.returncode != 0 and "Unknown UPS" in r.stderr,
         "an unknown name is UNKNOWN-UPS", r.stderr)
    r = upsc(f"pdu1@{host}", "no.such.var")
    T.ok(r.returncode != 0 and "not supported" in r.stderr.lower(),
         "an unknown variable is VAR-NOT-SUPPORTED", r.stderr)

    r = subprocess.run(["upsrw", f"pdu1@{host}"], capture_output=True,
                       text=True, timeout=20)
    T.ok("[input.L1.current.high.critical]" in r.stdout and
         "input.L1.current" + "\n" not in r.stdout,
         "upsrw lists the writable variables only", r.stdout[:500])
    T.ok("Type: RANGE NUMBER" in r.stdout or "Type: NUMBER" in r.stdout,
         "upsrw shows each variable's type", r.stdout[:500])

    rep = session(nut, ["GET TYPE pdu1 input.L1.current.high.critical",
                        "GET TYPE pdu1 input.L1.current",
                        "GET TYPE pdu1 device.mfr",
                        "GET DESC pdu1 input.L1.current",
                        "GET VAR dead input.L1.current",
                        "LIST VAR nosuch",
                        "SET VAR pdu1 input.L1.current.high.critical \"20\"",
                        "FOO"])
    T.ok(rep[0].startswith("TYPE pdu1 input.L1.current.high.critical RW"),
         "GET TYPE: a writable register is RW", rep[0])
    T.eq(rep[1], "TYPE pdu1 input.L1.current NUMBER",
         "GET TYPE: a reading is NUMBER")
    T.ok(rep[2].startswith("TYPE pdu1 device.mfr STRING:"),
         "GET TYPE: text is STRING:n", rep[2])
    T.ok(rep[3].startswith('DESC pdu1 input.L1.current "'),
         "GET DESC answers the map's description", rep[3])
    T.eq(rep[4], "ERR DATA-STALE", "GET VAR on a dead device")
    T.eq(rep[5], "ERR UNKNOWN-UPS", "LIST VAR of an unknown UPS")
    T.eq(rep[6], "ERR USERNAME-REQUIRED", "SET VAR needs a user")
    T.eq(rep[7], "ERR UNKNOWN-COMMAND", "unknown command")

    rep = session(nut, ["USERNAME viewer", "PASSWORD view",
                        "SET VAR pdu1 input.L1.current.high.critical \"20\"",
                        "INSTCMD pdu1 reset.energy.L1"])
    T.eq(rep[2:4], ["ERR ACCESS-DENIED", "ERR ACCESS-DENIED"],
         "a user without actions/instcmds is read-only")
    rep = session(nut, ["USERNAME admin", "PASSWORD s3cret",
                        "SET VAR pdu1 input.L1.current \"3\"",
                        "SET VAR pdu1 input.L1.current.high.critical \"999\"",
                        "USERNAME again"])
    T.eq(rep[2], "ERR READONLY", "SET VAR on a reading is READONLY")
    T.eq(rep[3], "ERR INVALID-VALUE", "SET VAR out of range is INVALID-VALUE")
    T.eq(rep[4], "ERR ALREADY-SET-USERNAME", "USERNAME only once")

    r = subprocess.run(["upsrw", "-s", "input.L1.current.high.critical=21",
                        "-u", "admin", "-p", "wrong", f"pdu1@{host}"],
                       capture_output=True, text=True, timeout=20)
    T.ok(r.returncode != 0 and "ACCESS-DENIED" in (r.stderr + r.stdout),
         "upsrw with a wrong password is refused", r.stderr)
    r = subprocess.run(["upsrw", "-s", "input.L1.current.high.critical=20",
                        "-u", "admin", "-p", "s3cret", f"pdu1@{host}"],
                       capture_output=True, text=True, timeout=20)
    T.ok(r.returncode == 0, "upsrw -s with the admin user", r.stderr)
    with open(log) as f:
        T.ok("write 70 200" in f.read(),
             "the write reached register 70 (function 06, 20 A x 10)")
    ok = False
    for _ in range(40):
        if upsc(f"pdu1@{host}", "input.L1.current.high.critical").stdout \
                .strip() == "20":
            ok = True
            break
        time.sleep(0.1)
    T.ok(ok, "upsc shows the new value after the re-read")

    r = subprocess.run(["upscmd", "-l", f"pdu1@{host}"], capture_output=True,
                       text=True, timeout=20)
    T.ok(r.returncode == 0 and "reset.energy" not in r.stdout,
         "upscmd -l: console-only commands are not offered over Modbus",
         r.stdout)
    r = subprocess.run(["upscmd", "-u", "admin", "-p", "s3cret",
                        f"pdu1@{host}", "reset.energy.L1"],
                       capture_output=True, text=True, timeout=20)
    T.ok(r.returncode != 0 and "cmd-not-supported" in
         (r.stderr + r.stdout).lower(),
         "upscmd of a console-only command: CMD-NOT-SUPPORTED", r.stderr)

    # SIGHUP: the reloaded inventory drops pdu2 and adds pdu3
    write_config(cfg, [("pdu1", pa), ("pdu3", pb), ("dead", pdead)],
                 pw="n3w")
    srv.send_signal(signal.SIGHUP)
    ok = False
    for _ in range(50):
        if sorted(upsc("-l", host).stdout.split()) == ["dead", "pdu1",
                                                       "pdu3"]:
            ok = True
            break
        time.sleep(0.1)
    T.ok(ok, "SIGHUP reloads the inventory")

    T.eq(upsc(f"pdu3@{host}", "input.L1-N.voltage").stdout.strip(), "220",
         "the reloaded device is served")
    rep = session(nut, ["USERNAME admin", "PASSWORD s3cret",
                        "SET VAR pdu1 input.L1.current.high.critical \"19\""])
    T.eq(rep[2], "ERR ACCESS-DENIED", "after SIGHUP the old password fails")
    rep = session(nut, ["USERNAME admin", "PASSWORD n3w",
                        "SET VAR pdu1 input.L1.current.high.critical \"19\""])
    T.eq(rep[2], "OK", "and the reloaded one works")
    peer_b.kill()
    peer_b.wait()
    ok = False
    for _ in range(50):
        r = upsc(f"pdu3@{host}", "input.L1-N.voltage")
        if r.returncode != 0 and "stale" in r.stderr.lower():
            ok = True
            break
        time.sleep(0.1)
    T.ok(ok, "a device that stops answering turns DATA-STALE", r.stderr)

    srv.send_signal(signal.SIGTERM)
    try:
        rc = srv.wait(10)
    except subprocess.TimeoutExpired:
        rc = None
    T.eq(rc, 0, "SIGTERM stops serve cleanly (exit 0)")
    errf.seek(0)
    err = errf.read()
    T.ok("s3cret" not in err and "view\n" not in err,
         "no password in the log", err)


run(main)
