"""What `ohm serve` takes from its clients and its command line: NUT lines
checked on raw bytes (a NUL or an over-long line never runs a command),
numbers decimal only (NUT SET VAR, console thresholds, --interval, --jobs,
--idle-timeout, --max-sessions), HTTP requests ending in bare LFs
answered, PORT and :PORT binding loopback only, and the NUT deadlines: a
client that says nothing (or trickles a line) is dropped, a logged-in one
that is quiet is not. Peer: the built-in simulator (sim:bps2000v2) and
Python sockets."""
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.environ["OHM_TOP"], "tests"))
from lib import T, OHM, free_port, wait_port, start, run, stop_all  # noqa: E402,E501
from telnet_client import login, Closed  # noqa: E402

VAR = "input.L1.current.high.critical"


def talk(port, data, seconds=3.0, src="127.0.0.1"):
    """Send data, read until the server closes or goes quiet."""
    with socket.create_connection(("127.0.0.1", port), 2, (src, 0)) as c:
        c.sendall(data)
        out, end = b"", time.time() + seconds
        c.settimeout(0.5)
        while time.time() < end:
            try:
                d = c.recv(65536)
            except socket.timeout:
                if out.endswith(b"\n"):
                    break
                continue
            except OSError:
                break
            if not d:
                break
            out += d
        return out


def closed_within(port, seconds, feed=None):
    """Connect; send feed() bytes every 0.5 s if given; True if the server
    closes the connection within seconds."""
    c = socket.create_connection(("127.0.0.1", port), 2)
    c.settimeout(0.5)
    end = time.time() + seconds
    try:
        while time.time() < end:
            if feed:
                c.send(feed)
            try:
                if c.recv(4096) == b"":
                    return True
            except socket.timeout:
                pass
    except OSError:
        return True
    finally:
        c.close()
    return False


def nut_lines(port):
    r = talk(port, b"LIST UPS\x00junk\n")
    T.ok(b"BEGIN LIST UPS" not in r and r.startswith(b"ERR INVALID-ARGUMENT"),
         "NUT: a line with a NUL is refused, not cut at the NUL", r)
    r = talk(port, b"GET\x1bVAR pdu1 " + VAR.encode() + b"\nVER\n")
    T.ok(r.startswith(b"ERR INVALID-ARGUMENT\nNetwork UPS Tools"),
         "NUT: a control byte is refused, the next line still served", r)
    r = talk(port, b"GET CMDDESC pdu1 reset.energy.L1\nGET CMDDESC pdu1\n")
    T.eq(r.decode(errors="replace").splitlines()[1:], ["ERR INVALID-ARGUMENT"],
         "NUT: GET CMDDESC without a command is INVALID-ARGUMENT")
    r = talk(port, b"X\x00" + b"A" * 1021 + b"LIST UPS\n")
    T.ok(b"BEGIN LIST UPS" not in r and b"ERR TOO-LONG" in r,
         "NUT: the tail of an over-long line with a NUL never runs", r)
    r = talk(port, b"GET VAR pdu1 " + b"A" * 1100 + b"\nLIST UPS\n")
    T.ok(b"BEGIN LIST UPS" not in r and b"ERR TOO-LONG" in r,
         "NUT: over 1023 bytes is TOO-LONG", r)


def nut_decimal(port):
    login_ = b"USERNAME admin\nPASSWORD s3cret\n"
    r = talk(port, login_ + b'SET VAR pdu1 ' + VAR.encode() + b' "0x14"\n'
             b'SET VAR pdu1 ' + VAR.encode() + b' "2e1"\n'
             b'SET VAR pdu1 ' + VAR.encode() + b' "inf"\n')
    T.eq(r.decode().splitlines(), ["OK", "OK"] + ["ERR INVALID-VALUE"] * 3,
         "NUT: SET VAR takes decimal numbers only (no hex, exponent, inf)")
    r = talk(port, login_ + b'SET VAR pdu1 ' + VAR.encode() + b' "19.5"\n')
    T.eq(r.decode().splitlines(), ["OK", "OK", "OK"],
         "NUT: SET VAR takes a decimal number")


def nut_deadlines(port):
    res = {}

    def quiet_logged_in():
        with socket.create_connection(("127.0.0.1", port), 2) as c:
            c.sendall(b"USERNAME admin\nPASSWORD s3cret\nLOGIN pdu1\n")
            c.settimeout(3)
            got = b""
            while got.count(b"\n") < 3:
                got += c.recv(4096)
            time.sleep(13)
            c.sendall(b"VER\n")
            res["logged"] = c.recv(4096)

    t = threading.Thread(target=quiet_logged_in)
    t.start()
    waits = {}
    for name, feed in (("silent", None), ("trickle", b"L")):
        th = threading.Thread(
            target=lambda n=name, f=feed: waits.__setitem__(
                n, closed_within(port, 15, f)))
        th.start()
        waits[name + "_t"] = th
    t.join()
    waits["silent_t"].join()
    waits["trickle_t"].join()
    T.ok(waits["silent"], "NUT: a client that says nothing is dropped")
    T.ok(waits["trickle"], "NUT: a client trickling one line is dropped")
    T.ok(b"Network UPS Tools" in res.get("logged", b""),
         "NUT: a logged-in client may stay quiet", res.get("logged"))


def whole_replies(nut, tel):
    """A reply leaves in one piece: the first recv holds all of it."""
    with socket.create_connection(("127.0.0.1", nut), 2) as c:
        c.settimeout(5)
        c.sendall(b"LIST VAR pdu1\n")
        r = c.recv(1 << 20)
    T.ok(r.startswith(b"BEGIN LIST VAR") and r.endswith(b"END LIST VAR pdu1\n"),
         "NUT: LIST VAR is written whole", r[:100])
    try:
        c = login(tel, "bkt", "s3cret")
        c.s.settimeout(5)
        c.s.sendall(b"1\r\n")
        r = c.s.recv(1 << 20)
        c.close()
    except (Closed, OSError) as e:
        r = repr(e).encode()
    T.ok(b"Command:1.Load" in r and r.endswith(b"Please enter the command:"),
         "console: a screen is written whole", r)


def http_lf(port):
    r = talk(port, b"GET /metrics HTTP/1.1\nHost: x\n\n")
    T.ok(r.startswith(b"HTTP/1.1 200") and b"ohm_up" in r,
         "HTTP: a request ending in bare LFs is answered", r[:200])


def loopback_only(ports):
    for name, port in ports:
        try:
            socket.create_connection(("127.0.0.2", port), 1).close()
            reached = True
        except OSError:
            reached = False
        T.ok(not reached, f"{name} :PORT binds 127.0.0.1 only")


def console_decimal(port):
    try:
        c = login(port, "bkt", "s3cret")
        for line in ("8", "1"):
            c.line(line)
            c.until(b"Please enter the command:")
        c.line("current one:0x14&12&1&0")
        r = c.until(b"Please enter the command:")
        c.close()
    except Closed as e:
        r = repr(e).encode()
    T.ok(b"Set successfully" not in r and b"Command format" in r,
         "console: a threshold in hex is refused", r)


def bad_options():
    for args in (["--interval", "0x10"], ["--interval", "1e1"],
                 ["--interval", "inf"], ["--jobs", "0x2"],
                 ["--telnet", "1", "--idle-timeout", "0x10"],
                 ["--telnet", "1", "--idle-timeout", "1e2"],
                 ["--telnet", "1", "--max-sessions", "0x8"]):
        try:
            r = subprocess.run([OHM, "serve", "--nut", str(free_port()),
                                *args, "sim:bps2000v2"], capture_output=True,
                               text=True, timeout=10)
            ok = r.returncode == 2 and "bad value" in r.stderr
            detail = r.stderr
        except subprocess.TimeoutExpired:
            ok, detail = False, "started serving"
        T.ok(ok, "serve " + " ".join(args) + ": usage error", detail)


def main():
    work = tempfile.mkdtemp()
    cfg, pw = os.path.join(work, "config.lua"), os.path.join(work, "pw")
    with open(cfg, "w") as f:
        f.write('devices = { pdu1 = { uri = "sim:bps2000v2" } }\n'
                'nut = { users = { admin = { password = "s3cret",'
                ' actions = {"set"} } } }\n')
    with open(pw, "w") as f:
        f.write("s3cret\n")
    nut, http, tel = free_port(), free_port(), free_port()
    start(OHM, "serve", "--config", cfg, "--nut", f":{nut}", "--prometheus",
          str(http), "--telnet", f":{tel}", "--user", "bkt",
          "--password-file", pw, "--interval", "0.5",
          stderr=subprocess.DEVNULL)
    T.ok(wait_port(nut) and wait_port(http) and wait_port(tel),
         "serve listens")
    time.sleep(1.5)  # first poll
    loopback_only([("--nut", nut), ("--prometheus", http), ("--telnet", tel)])
    nut_lines(nut)
    nut_decimal(nut)
    http_lf(http)
    whole_replies(nut, tel)
    console_decimal(tel)
    nut_deadlines(nut)
    bad_options()
    stop_all(check_ohm=True)  # SIGTERM: clean exit, no leak


run(main)
