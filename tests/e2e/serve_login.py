"""Failed logins to `ohm serve`: 50 wrong NUT passwords from 127.0.0.1
take at least 30 s or lock the address out (the right password is then
refused from it, while 127.0.0.2 still logs in), and each failure is
logged with user and address, never the password; the console the same
(its failures counted per address across connections). Peers: the
built-in simulator (sim:bps2000v2), Python sockets."""
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.environ["OHM_TOP"], "tests"))
from lib import T, OHM, free_port, wait_port, start, run, stop_all  # noqa: E402,E501
from telnet_client import Client, Closed, login  # noqa: E402

CANARY = "wr0ng-Canary"


def nut_login(port, password, src="127.0.0.1"):
    """USERNAME, PASSWORD, LOGIN on a new connection: the LOGIN reply."""
    with socket.create_connection(("127.0.0.1", port), 5, (src, 0)) as c:
        c.settimeout(30)
        c.sendall(f"USERNAME admin\nPASSWORD {password}\nLOGIN pdu1\n"
                  .encode())
        data = b""
        while data.count(b"\n") < 3:
            d = c.recv(4096)
            if not d:
                break
            data += d
        lines = data.decode(errors="replace").splitlines()
        return lines[2] if len(lines) > 2 else repr(data)


def text_of(f):
    f.flush()
    f.seek(0)
    return f.read()


def serve(work, args):
    err = open(os.path.join(work, f"serve{len(os.listdir(work))}.err"), "w+")
    start(OHM, "serve", "--config", os.path.join(work, "config.lua"),
          "--interval", "1", *args, stderr=err)
    return err


def nut_guesses(work, res):
    port = free_port()
    err = serve(work, ["--nut", f"127.0.0.1:{port}"])
    wait_port(port)
    held = socket.create_connection(("127.0.0.1", port), 5)
    held.settimeout(10)
    held.sendall(b"USERNAME admin\nPASSWORD s3cret\nLOGIN pdu1\n")
    t0 = time.time()
    replies = [nut_login(port, f"{CANARY}{i}") for i in range(50)]
    res["nut_time"] = time.time() - t0
    res["nut_replies"] = replies
    res["nut_locked"] = nut_login(port, "s3cret")
    res["nut_other"] = nut_login(port, "s3cret", "127.0.0.2")
    held.sendall(b'SET VAR pdu1 input.L1.current.high.critical "20"\n')
    got = b""
    while got.count(b"\n") < 4:
        d = held.recv(4096)
        if not d:
            break
        got += d
    res["nut_held"] = got.decode(errors="replace").splitlines()
    held.close()
    time.sleep(0.3)
    res["nut_log"] = text_of(err)


def console_guesses(work, res):
    port = free_port()
    err = serve(work, ["--telnet", f"127.0.0.1:{port}", "--user", "bkt",
                       "--password-file", os.path.join(work, "pw")])
    wait_port(port)
    t0 = time.time()
    seen = b""
    try:
        for tries in (3, 2):  # 5 failures over two connections
            c = Client(port)
            for i in range(tries):
                c.until(b"Telnet Account:", 30)
                c.line("bkt")
                c.until(b"Password:")
                c.line(f"{CANARY}{i}")
                seen += c.until(b"Login failed", 30)
            c.close()
    except Closed as e:
        seen += repr(e).encode()
    res["con_time"] = time.time() - t0
    try:
        login(port, "bkt", "s3cret").close()
        res["con_locked"] = False
    except Closed:
        res["con_locked"] = True
    try:
        login(port, "bkt", "s3cret", source="127.0.0.2").close()
        res["con_other"] = True
    except Closed as e:
        res["con_other"] = repr(e)
    time.sleep(0.3)
    res["con_log"] = text_of(err)


def main():
    work = tempfile.mkdtemp()
    with open(os.path.join(work, "config.lua"), "w") as f:
        f.write('devices = { pdu1 = { uri = "sim:bps2000v2" } }\n'
                'nut = { users = { admin = { password = "s3cret",'
                ' actions = {"set"} } } }\n')
    with open(os.path.join(work, "pw"), "w") as f:
        f.write("s3cret\n")
    res = {}
    ts = [threading.Thread(target=fn, args=(work, res))
          for fn in (nut_guesses, console_guesses)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    locked = res["nut_locked"] == "ERR ACCESS-DENIED"
    T.ok(all(r == "ERR ACCESS-DENIED" for r in res["nut_replies"]),
         "NUT: 50 wrong passwords are refused", res["nut_replies"])
    T.ok(res["nut_time"] >= 30 or locked,
         "NUT: 50 wrong passwords take 30 s or lock the address out",
         f"{res['nut_time']:.1f} s, right password then: {res['nut_locked']}")
    T.ok(locked, "NUT: the right password is refused from a locked address",
         res["nut_locked"])
    T.eq(res["nut_other"], "OK", "NUT: another address still logs in")
    T.eq(res["nut_held"], ["OK"] * 4,
         "NUT: a client logged in before the lock-out may still write")
    log = res["nut_log"]
    n = log.count("NUT: login failed for user 'admin' from 127.0.0.1")
    T.ok(n >= 5 and "locked out" in log,
         "NUT: each failure logged with user and address", log[-1500:])
    T.ok(CANARY not in log, "NUT: no password in the log")
    T.ok(res["con_locked"],
         "console: locked out after failures over two connections",
         f"{res['con_time']:.1f} s")
    T.ok(res["con_other"] is True, "console: another address still logs in",
         res["con_other"])
    log = res["con_log"]
    T.ok(log.count("console: login failed for user 'bkt' from 127.0.0.1")
         == 5 and "locked out" in log,
         "console: each failure logged with user and address", log[-1500:])
    T.ok(CANARY not in log, "console: no password in the log")
    stop_all(check_ohm=True)  # SIGTERM: clean exit, no leak


run(main)
