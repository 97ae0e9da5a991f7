"""The BMS simulator (issue 13): `ohm sim pace --serial PTY --packs N`
through a socat pty pair, `ohm sim pylontech --tcp ADDR`, and sim:pace in
process; MOS commands take effect, both MOSFETs off is refused, a runaway
cell shows its alarm and balancing, bad frames get RTN errors."""
import os
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.environ["OHM_TOP"], "tests"))
from lib import T, ohm, free_port, wait_port, run, procs, OHM  # noqa: E402

TMP = os.environ.get("TMPDIR", "/tmp")


def values(r):
    return dict(ln.split(": ", 1) if ": " in ln else (ln.rstrip(":"), "")
                for ln in r.stdout.splitlines())


def chksum(text):
    return (~(sum(text.encode()) % 65536) + 1) & 0xFFFF


def req(body):
    return ("~%s%04X\r" % (body, chksum(body))).encode()


def ask(port, data):
    """One raw request to the simulator; the reply's RTN (CID2 field)."""
    with socket.create_connection(("127.0.0.1", port), timeout=3) as s:
        s.sendall(data)
        buf = b""
        while not buf.endswith(b"\r"):
            chunk = s.recv(512)
            if not chunk:
                break
            buf += chunk
    return buf[7:9].decode()


def serial_sim():
    a, b = os.path.join(TMP, "sim-a"), os.path.join(TMP, "sim-b")
    procs.append(subprocess.Popen(
        ["socat", f"pty,raw,echo=0,link={a}", f"pty,raw,echo=0,link={b}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    end = time.time() + 10
    while not (os.path.exists(a) and os.path.exists(b)) and time.time() < end:
        time.sleep(0.05)
    procs.append(subprocess.Popen([OHM, "sim", "pace", "--serial", a,
                                   "--packs", "4", "-q"]))
    time.sleep(0.5)
    uri = f"serial://{b}?driver=pace&packs=0-3"
    r = ohm("get", uri)
    got = values(r)
    T.ok(r.returncode == 0 and got.get("battery.packs") == "4",
         "sim pace --serial: 4 packs over a pty", r.stderr)
    cells = [float(v) for k, v in got.items() if ".cell." in k and
             k.endswith(".voltage") and "voltage." not in k]
    T.ok(len(cells) == 64 and all(3.0 < c < 3.7 for c in cells),
         "sim pace: 16 plausible cells per pack", len(cells))
    one = uri.replace("packs=0-3", "unit=1")
    r = ohm("cmd", "--yes", one, "battery.mos.charge.off")
    r2 = ohm("get", one, "battery.pack.1.mos.charge")
    T.ok(r.returncode == 0 and r2.stdout.strip().endswith(": off"),
         "sim: MOS charge off takes effect", r.stderr + r2.stdout)
    r = ohm("cmd", "--yes", one, "battery.mos.discharge.off")
    T.ok(r.returncode == 1 and "RTN 09" in r.stderr,
         "sim: both MOSFETs off refused (RTN 09)", r.stderr)
    r = ohm("cmd", one, "battery.mos.charge.on")
    r2 = ohm("get", one, "battery.pack.1.mos.charge")
    T.ok(r.returncode == 0 and r2.stdout.strip().endswith(": on"),
         "sim: MOS charge on again", r.stderr + r2.stdout)


def tcp_sim():
    port = free_port()
    procs.append(subprocess.Popen([OHM, "sim", "pylontech", "--tcp",
                                   f"127.0.0.1:{port}", "--packs", "2",
                                   "-q"]))
    T.ok(wait_port(port), "sim pylontech --tcp listens")
    r = ohm("get", f"tcp://127.0.0.1:{port}?driver=pylontech&packs=2-3",
            "battery.packs", "battery.pack.3.serial")
    T.eq(r.stdout, "battery.pack.3.serial: OHMSIM0003\nbattery.packs: 2\n",
         "sim pylontech over tcp://: packs and serial")
    T.eq(ask(port, b"~20024642E00202FD34\r"), "02", "bad CHKSUM: RTN 02")
    T.eq(ask(port, req("20024642F00202")), "03", "bad LCHKSUM: RTN 03")
    T.eq(ask(port, req("21024642E00202")), "01", "wrong VER: RTN 01")
    T.eq(ask(port, req("200246770000")), "04", "unknown CID2: RTN 04")


def in_process():
    r = ohm("get", "sim:pace?packs=2&runaway=5")
    got = values(r)
    T.ok(r.returncode == 0 and got.get("battery.packs") == "2",
         "sim:pace?packs=2 in process", r.stderr)
    T.eq(got.get("battery.pack.0.cell.5.status"), "critical-high",
         "runaway cell is critical-high")
    T.ok("cell-high" in got.get("battery.pack.0.alarms", "") and
         "cell-overvoltage" in got.get("battery.pack.0.alarms", ""),
         "runaway cell raises the pack's alarms", got.get(
             "battery.pack.0.alarms"))
    T.eq(got.get("battery.pack.0.cell.5.balancing"), "yes",
         "runaway cell is balancing")
    T.ok(float(got["battery.pack.0.cell.voltage.delta"]) > 0.2,
         "cell delta shows the runaway", got.get(
             "battery.pack.0.cell.voltage.delta"))


def main():
    serial_sim()
    tcp_sim()
    in_process()


run(main)
