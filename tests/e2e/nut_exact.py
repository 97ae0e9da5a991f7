"""`ohm serve --nut` exact (issue 16 item 3), read by NUT's own clients:
upscmd -l and PyNUT's GetUPSCommands list every command the device
carries (sim:bps2000v2's energy resets and factory reset are marked
`via = "telnet"` in the map, yet the simulator runs them over Modbus, so
INSTCMD works and they must be listed; device.restart it cannot run and
is not listed); a value read right after SET VAR is the new one (upsrw
then upsc at once, SET VAR + GET VAR and INSTCMD + GET VAR in one
packet, on a pymodbus
device whose full re-read takes milliseconds); every multi-line reply
arrives in one piece. Peers: upscmd, upsrw, upsc (nut-client), PyNUT
(python3-nut), python3-pymodbus."""
import os
import select
import socket
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.environ["OHM_TOP"], "tests"))
from lib import (  # noqa: E402
    T, OHM, PEER, PY, free_port, wait_port, start, run)

VAR = "input.L1.current.high.critical"


def upsc(*args):
    return subprocess.run(["upsc", *args], capture_output=True, text=True,
                          timeout=20)


def one_read(port, line):
    """The reply's first read once anything arrived: a reply written in
    one piece comes whole (loopback delivers one write as one segment)."""
    with socket.create_connection(("127.0.0.1", port), 5) as s:
        s.sendall(line.encode() + b"\n")
        select.select([s], [], [], 5)
        return s.recv(1 << 20).decode()


def check_cmds(host, nport):
    r = subprocess.run(["upscmd", "-l", f"pdu1@{host}"], capture_output=True,
                       text=True, timeout=20)
    listed = [ln.split(" - ")[0].strip() for ln in r.stdout.splitlines()
              if " - " in ln]
    want = ["device.factory_reset", "reset.energy.L1", "reset.energy.L2",
            "reset.energy.L3"]
    T.eq(sorted(listed), want,
         "upscmd -l lists the commands the simulator carries")
    r = subprocess.run(["upscmd", "-u", "admin", "-p", "s3cret",
                        f"pdu1@{host}", "reset.energy.L2"],
                       capture_output=True, text=True, timeout=20)
    T.ok(r.returncode == 0, "and INSTCMD of a listed one works",
         r.stdout + r.stderr)
    try:
        import PyNUT
    except ImportError:
        T.skip("PyNUT GetUPSCommands", "python3-nut not installed")
        return
    cl = PyNUT.PyNUTClient(host="127.0.0.1", port=nport, timeout=5)
    cmds = [k.decode() if isinstance(k, bytes) else k
            for k in cl.GetUPSCommands("pdu1")]
    T.eq(sorted(cmds), want, "PyNUT GetUPSCommands lists the same")


def check_set(host, nport):
    r = subprocess.run(["upsrw", "-s", f"{VAR}=17", "-u", "admin", "-p",
                        "s3cret", f"pdu2@{host}"],
                       capture_output=True, text=True, timeout=20)
    T.ok(r.returncode == 0, "upsrw -s succeeds", r.stderr)
    T.eq(upsc(f"pdu2@{host}", VAR).stdout.strip(), "17",
         "upsc right after upsrw shows the new value")
    with socket.create_connection(("127.0.0.1", nport), 5) as s:
        f = s.makefile("r")
        s.sendall(b"USERNAME admin\nPASSWORD s3cret\n"
                  b"SET VAR pdu2 " + VAR.encode() + b' "18"\n'
                  b"GET VAR pdu2 " + VAR.encode() + b"\n")
        rep = [f.readline().strip() for _ in range(4)]
    T.eq(rep[2:], ["OK", f'VAR pdu2 {VAR} "18"'],
         "SET VAR then GET VAR in one packet: the new value")
    before = upsc(f"pdu1@{host}", "input.L3.energy").stdout.strip()
    with socket.create_connection(("127.0.0.1", nport), 5) as s:
        f = s.makefile("r")
        s.sendall(b"USERNAME admin\nPASSWORD s3cret\n"
                  b"INSTCMD pdu1 reset.energy.L3\n"
                  b"GET VAR pdu1 input.L3.energy\n")
        rep = [f.readline().strip() for _ in range(4)]
    got = rep[3].rsplit('"', 2)[-2] if rep[3].count('"') == 2 else "?"
    T.ok(rep[2] == "OK" and float(before) > 1 and got != "?" and
         float(got) < 1,
         "INSTCMD reset.energy.L3 then GET VAR in one packet: the reset "
         "value", f"before {before}: {rep}")


def check_whole(nport):
    lists = {"LIST UPS": "END LIST UPS",
             "LIST VAR pdu1": "END LIST VAR pdu1",
             "LIST RW pdu1": "END LIST RW pdu1",
             "LIST CMD pdu1": "END LIST CMD pdu1",
             "LIST CLIENT pdu1": "END LIST CLIENT pdu1",
             f"LIST ENUM pdu1 {VAR}": f"END LIST ENUM pdu1 {VAR}",
             f"LIST RANGE pdu1 {VAR}": f"END LIST RANGE pdu1 {VAR}"}
    for req, end in lists.items():
        got = one_read(nport, req)
        T.ok(got.rstrip("\n").endswith(end) and got.count("\n") >= 2,
             f"{req}: the whole reply in one piece", got[-200:])


def main():
    work = tempfile.mkdtemp()
    nport, mport = free_port(), free_port()
    start(PY, PEER, "tcp", str(mport), "--set", "0=2301,2302,2303",
          stderr=subprocess.DEVNULL)
    T.ok(wait_port(mport), "pymodbus peer listens")
    host = f"127.0.0.1:{nport}"
    cfg = os.path.join(work, "config.lua")
    with open(cfg, "w") as f:
        f.write('devices = { pdu1 = { uri = "sim:bps2000v2" },\n'
                f'  pdu2 = {{ uri = "modbus-tcp://127.0.0.1:{mport}", '
                'driver = "bps2000v2" } }\n'
                'nut = { users = { admin = { password = "s3cret", '
                'actions = {"set"}, instcmds = {"all"} } } }\n')
    start(OHM, "serve", "--config", cfg, "--nut", host, "--interval", "60",
          "-q", stderr=subprocess.DEVNULL)
    T.ok(wait_port(nport), "serve listens")
    for _ in range(100):
        if upsc(f"pdu1@{host}", VAR).returncode == 0 and \
                upsc(f"pdu2@{host}", VAR).returncode == 0:
            break
    check_cmds(host, nport)
    check_set(host, nport)
    check_whole(nport)


run(main)
