"""The one listener of `ohm serve` under attack from 127.0.0.1: 100 idle
connections (reconnecting when dropped) and 16 clients trickling bytes,
against --nut, --prometheus and --telnet in turn, while a client from
127.0.0.2 completes its request within 2 s each time, refused clients get
a protocol error or a 503 instead of a silent close, and a real upsmon
(nut-client) logged in before the attack stays logged in through it.
Peers: snmpsimd (an RFC 1628 UPS), upsmon, Python sockets."""
import os
import select
import signal
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.environ["OHM_TOP"], "tests"))
from lib import T, OHM, free_port, wait_port, start, run, stop_all  # noqa: E402,E501
from telnet_client import login, Closed  # noqa: E402
import snmplib as S  # noqa: E402

ATTACKER, OTHER = "127.0.0.1", "127.0.0.2"


class Attack:
    """idle + trickling connections from ATTACKER until stop()."""

    def __init__(self, port, byte, idle=100, trickle=16):
        self.port, self.byte = port, byte
        self.done = threading.Event()
        self.replies = []  # what refused or dropped connections were told
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.idle, args=(idle,))]
        self.threads += [threading.Thread(target=self.trickle)
                         for _ in range(trickle)]
        for t in self.threads:
            t.daemon = True
            t.start()

    def connect(self):
        return socket.create_connection(("127.0.0.1", self.port), 2,
                                        (ATTACKER, 0))

    def heard(self, data):
        with self.lock:
            self.replies.append(data)

    def alive(self, s):
        """False once the server closed s (noting what it said)."""
        if not select.select([s], [], [], 0)[0]:
            return True
        try:
            d = s.recv(4096)
        except OSError:
            d = b""
        if d:
            self.heard(d)
            return True
        s.close()
        return False

    def idle(self, n):
        socks = []
        while not self.done.is_set():
            socks = [s for s in socks if self.alive(s)]
            while len(socks) < n and not self.done.is_set():
                try:
                    socks.append(self.connect())
                except OSError:
                    break
            time.sleep(0.2)
        for s in socks:
            s.close()

    def trickle(self):
        while not self.done.is_set():
            try:
                s = self.connect()
            except OSError:
                time.sleep(0.2)
                continue
            try:
                while not self.done.is_set() and self.alive(s):
                    s.send(self.byte)
                    time.sleep(0.3)
            except OSError:
                pass
            s.close()

    def stop(self):
        self.done.set()
        for t in self.threads:
            t.join(10)
        return b"".join(self.replies)


def timed(fn):
    t0 = time.time()
    try:
        ok = fn()
    except (OSError, Closed) as e:
        ok = repr(e)
    return ok, time.time() - t0


def nut_get(port):
    with socket.create_connection(("127.0.0.1", port), 2, (OTHER, 0)) as c:
        c.settimeout(2)
        c.sendall(b"GET VAR ups1 ups.status\n")
        data = b""
        while not data.endswith(b"\n"):
            d = c.recv(4096)
            if not d:
                break
            data += d
        return data.startswith(b"VAR ups1 ups.status") or data


def prom_get(port):
    with socket.create_connection(("127.0.0.1", port), 2, (OTHER, 0)) as c:
        c.settimeout(2)
        c.sendall(b"GET /metrics HTTP/1.0\r\n\r\n")
        data = b""
        while True:
            d = c.recv(65536)
            if not d:
                break
            data += d
        return (data.startswith(b"HTTP/1.1 200") and b"ohm_up" in data) or \
            data[:80]


def console_login(port):
    c = login(port, "bkt", "s3cret", source=OTHER)
    c.close()
    return True


def under_attack(name, port, byte, request, refused, seconds):
    """Attack port for `seconds`, asking from OTHER once a second."""
    a = Attack(port, byte)
    worst, bad = 0.0, None
    time.sleep(1.5)  # let the attack fill the caps
    end = time.time() + seconds
    asked = 0
    while time.time() < end:
        asked += 1
        ok, took = timed(lambda: request(port))
        worst = max(worst, took)
        if ok is not True and bad is None:
            bad = ok
        time.sleep(1)
    said = a.stop()
    print(f"# {name}: {asked} requests from {OTHER}, worst {worst:.3f} s,"
          f" {said.count(refused)} refusals seen", flush=True)
    T.ok(bad is None and worst < 2.0,
         f"{name}: a client from {OTHER} is served within 2 s under attack",
         f"worst {worst:.2f} s, failure {bad!r}")
    T.ok(refused in said,
         f"{name}: refused clients are told so ({refused!r})", said[:300])


def start_upsmon(work, port):
    conf = os.path.join(work, "upsmon.conf")
    with open(conf, "w") as f:
        f.write(f"MONITOR ups1@127.0.0.1:{port} 1 admin s3cret secondary\n"
                "MINSUPPLIES 1\nSHUTDOWNCMD \"/bin/true\"\nPOLLFREQ 2\n"
                "POLLFREQALERT 2\nDEADTIME 15\n")
    os.chmod(conf, 0o600)
    argv0 = os.path.join(work, f"upsmon-listen{port}")  # own PID file
    os.symlink("/lib/nut/upsmon", argv0)
    out = open(os.path.join(work, "upsmon.out"), "w+")
    env = dict(os.environ, NUT_CONFPATH=work, NUT_STATEPATH=work)
    # its own session: upsmon forks, and the child must go with it
    p = start(argv0, "-D", "-u", "root", env=env, stdout=out,
              stderr=subprocess.STDOUT, start_new_session=True)
    p.out, p.pidfile = out, f"/run/nut/{os.path.basename(argv0)}.pid"
    return p


def upsmon_text(p):
    p.out.flush()
    p.out.seek(0)
    return p.out.read()


def wait_for(fn, seconds):
    end = time.time() + seconds
    while time.time() < end:
        if fn():
            return True
        time.sleep(0.2)
    return False


def main():
    if not shutil.which("snmpsimd") or not os.path.exists("/lib/nut/upsmon"):
        T.skip("serve_listen", "snmpsimd or nut-client not installed")
        return
    work = tempfile.mkdtemp()
    snmp, nut, http, tel = free_port("udp"), free_port(), free_port(), \
        free_port()
    S.start_snmpsim(work, {"upsol": S.ups_records(source=3, battery=2,
                                                  charge=100)}, [snmp])
    cfg, pw = os.path.join(work, "config.lua"), os.path.join(work, "pw")
    with open(cfg, "w") as f:
        f.write(f'devices = {{ ups1 = {{ uri = "snmp://upsol@127.0.0.1:{snmp}",'
                ' driver = "ups-mib" } }\n'
                'nut = { users = { admin = { password = "s3cret" } } }\n')
    with open(pw, "w") as f:
        f.write("s3cret\n")
    err = open(os.path.join(work, "serve.err"), "w+")
    start(OHM, "serve", "--config", cfg, "--nut", f":{nut}", "--prometheus",
          f":{http}", "--telnet", f":{tel}", "--user", "bkt",
          "--password-file", pw, "--interval", "1", stderr=err)
    T.ok(wait_port(nut) and wait_port(http) and wait_port(tel),
         "serve listens on the three ports")
    T.ok(wait_for(lambda: nut_get(nut) is True, 20), "ups1 answers over NUT")
    um = start_upsmon(work, nut)
    try:
        T.ok(wait_for(lambda: "Logged into UPS" in upsmon_text(um), 15),
             "upsmon logged in", upsmon_text(um))
        under_attack("NUT", nut, b"L", nut_get, b"ERR ACCESS-DENIED", 14)
        time.sleep(5)  # two more polls after the attack
        text = upsmon_text(um)
        T.ok(text.count("Logged into UPS") == 1 and "lost" not in text and
             "failed" not in text and "unavailable" not in text,
             "upsmon stayed logged in through the attack", text[-2000:])
    finally:
        try:
            os.killpg(um.pid, signal.SIGTERM)
        except OSError:
            pass
        um.wait()
        time.sleep(0.5)
        try:
            os.killpg(um.pid, signal.SIGKILL)  # a child still there
        except OSError:
            pass
        if os.path.exists(um.pidfile):
            os.unlink(um.pidfile)
    under_attack("Prometheus", http, b"G", prom_get, b"HTTP/1.1 503", 8)
    under_attack("console", tel, b"x", console_login, b"Too many sessions", 6)
    err.seek(0)
    log = err.read()
    T.ok("too many connections" in log, "refusals are logged", log[-800:])
    stop_all(check_ohm=True)  # SIGTERM: clean exit, no leak


run(main)
