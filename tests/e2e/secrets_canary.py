"""One canary password in a telnet://, an ftp:// and an SNMPv3 snmp:// URI,
given to get, poll (table, --json, --csv), watch, record and serve (NUT,
Prometheus, the console, its log): no output, file name, file, log or
/proc/PID/cmdline may hold it. The telnet:// device is real (the
independent console emulator, tests/console_emulator.py, whose password is
the canary); the ftp:// and snmp:// ones answer nothing."""
import os
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.environ["OHM_TOP"], "tests"))
from lib import (  # noqa: E402
    T, OHM, ohm, free_port, wait_port, start, start_listening, run)

TOP = os.environ["OHM_TOP"]
PY = os.environ.get("PYTHON", "/usr/bin/python3")
CANARY = "Kn4ryPw9"
tmp = tempfile.mkdtemp()


def uris():
    port = free_port()
    start_listening([PY, os.path.join(TOP, "tests", "console_emulator.py"),
                     str(port), "--user", "bkt", "--password", CANARY,
                     "--mode", "manual", "--slaves", "1"], port)
    tel = f"telnet://bkt:{CANARY}@127.0.0.1:{port}?driver=bps2000v2"
    ftp = f"ftp://u:{CANARY}@127.0.0.1:{free_port()}"
    snmp = (f"snmp://u:{CANARY}@127.0.0.1:{free_port('udp')}?version=3"
            f"&level=authPriv&auth=SHA&priv=AES&priv_pass={CANARY}x"
            "&driver=ups-mib")
    # and an SNMP v2c community, a secret too: the same canary
    v2c = f"snmp://{CANARY}@127.0.0.1:{free_port('udp')}?driver=ups-mib"
    return tel, ftp, snmp + " " + v2c


def clean(what, text, name):
    T.ok(CANARY not in text, f"{name}: no secret in {what}",
         text[:400] if CANARY in text else "")


def cli(tel, ftp, snmps):
    snmp, v2c = snmps.split(" ")
    quick = ["--timeout", "1", "--retries", "0"]
    r = ohm("get", *quick, tel)
    T.ok(r.returncode == 0 and "input.L1.current: 12.34" in r.stdout,
         "get: the telnet:// device answers with the canary password",
         r.stderr)
    clean("output", r.stdout + r.stderr, "get telnet://")
    for u in (ftp, snmp, v2c):
        r = ohm("get", *quick, u)
        T.ok(r.returncode != 0, "get " + u.split(":")[0] + " fails")
        clean("output", r.stdout + r.stderr, "get " + u.split(":")[0])
    r = ohm("set", "-v", *quick, tel, "input.L1.current.high.warning=12.5")
    T.ok(r.returncode == 0 and "bkt:***@" in r.stderr,
         "set -v: the device named redacted", r.stderr)
    clean("output", r.stdout + r.stderr, "set -v")
    r = ohm("cmd", *quick, tel, "reset.energy.L1")
    T.ok(r.returncode == 2 and "bkt:***@" in r.stderr,
         "cmd without a terminal: refused, the device named redacted",
         r.stderr)
    clean("output", r.stdout + r.stderr, "cmd (refused)")
    for mode in ([], ["--json"], ["--csv"]):
        r = ohm("poll", *quick, *mode, tel, ftp, snmp, v2c)
        T.ok("12.34" in r.stdout and "bkt:***@" in r.stdout and
             "snmp://***@" in r.stdout + r.stderr,
             f"poll {' '.join(mode)}: the device shown redacted", r.stdout)
        clean("output", r.stdout + r.stderr, f"poll {' '.join(mode)}")
    r = ohm("watch", *quick, "--every", "1", "--count", "1", tel, ftp, snmp,
            v2c)
    T.ok("bkt:***@" in r.stdout, "watch (no terminal) names it redacted",
         r.stdout + r.stderr)
    clean("output", r.stdout + r.stderr, "watch")
    out = os.path.join(tmp, "rec")
    r = ohm("record", *quick, "--every", "1", "--count", "1", "--out", out,
            tel, ftp, snmp, v2c)
    files = os.listdir(out) if os.path.isdir(out) else []
    T.ok(len(files) == 1, "record: one file for the device that answered",
         files)
    clean("output", r.stdout + r.stderr, "record")
    clean("file names", " ".join(files), "record")
    for f in files:
        with open(os.path.join(out, f)) as fh:
            clean("file contents", fh.read(), "record " + f)


def talk(port, send, until, seconds=5):
    s = socket.create_connection(("127.0.0.1", port), 2)
    s.settimeout(seconds)
    s.sendall(send)
    data, end = b"", time.time() + seconds
    try:
        while until not in data and time.time() < end:
            b = s.recv(4096)
            if not b:
                break
            data += b
    except OSError:
        pass
    s.close()
    return data.decode("latin-1")


def serve(tel, ftp, snmps):
    nut, prom, con = free_port(), free_port(), free_port()
    pwf = os.path.join(tmp, "pw")
    with open(pwf, "w") as f:
        f.write("s3cr3t-console\n")
    log = open(os.path.join(tmp, "serve.log"), "w")
    srv = start(OHM, "serve", "--timeout", "1", "--retries", "0",
                "--interval", "1", "--nut", f"127.0.0.1:{nut}",
                "--prometheus", f"127.0.0.1:{prom}",
                "--telnet", f"127.0.0.1:{con}", "--user", "admin",
                "--password-file", pwf, tel, ftp, *snmps.split(" "),
                stdout=log, stderr=subprocess.STDOUT)
    T.ok(wait_port(nut) and wait_port(prom) and wait_port(con),
         "serve listens")
    with open(f"/proc/{srv.pid}/cmdline", "rb") as f:
        cmdline = f.read().decode("latin-1")
    T.ok("bkt:***@" in cmdline, "serve's cmdline keeps the redacted URIs",
         cmdline.replace("\0", " "))
    clean("/proc/PID/cmdline", cmdline, "serve")
    time.sleep(3)  # a few polls, so the log has lines about every device
    lst = talk(nut, b"LIST UPS\n", b"END LIST UPS")
    T.ok("bkt:***@" in lst and "snmp://***@" in lst,
         "NUT LIST UPS names the devices redacted (password, community)",
         lst)
    clean("LIST UPS", lst, "serve --nut")
    met = talk(prom, b"GET /metrics HTTP/1.0\r\n\r\n", b"\x00")
    T.ok('bkt:***@' in met, "/metrics labels it redacted", met[:300])
    clean("/metrics", met, "serve --prometheus")
    scr = talk(con, b"admin\r\ns3cr3t-console\r\n", b"command:", 4)
    T.ok("command:" in scr, "the console logs in and shows its menu",
         scr[-300:])
    clean("the console screens", scr, "serve --telnet")
    srv.terminate()
    srv.wait(10)
    log.close()
    with open(os.path.join(tmp, "serve.log")) as f:
        text = f.read()
    T.ok("bkt:***@" in text or "ftp://u:***@" in text,
         "the serve log names devices redacted", text[:400])
    clean("the log", text, "serve")


def main():
    tel, ftp, snmp = uris()
    cli(tel, ftp, snmp)
    serve(tel, ftp, snmp)


run(main)
