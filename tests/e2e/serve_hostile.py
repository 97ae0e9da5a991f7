"""`ohm serve` against hostile clients on loopback: a client that trickles
its request (or never sends one) must not keep the Prometheus exporter
from answering others, nor keep SIGTERM from stopping the server; nor may a NUT client that
never reads its replies. Peer:
the built-in simulator (sim:bps2000v2)."""
import os
import signal
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.environ["OHM_TOP"], "tests"))
from lib import T, OHM, free_port, wait_port, start, run  # noqa: E402


def get_metrics(port, timeout):
    c = socket.create_connection(("127.0.0.1", port), timeout)
    c.settimeout(timeout)
    try:
        c.sendall(b"GET /metrics HTTP/1.0\r\n\r\n")
        return c.recv(64)
    except OSError:
        return b""
    finally:
        c.close()


def trickle(port, seconds):
    """Hold a connection, sending one byte of a request now and then."""
    s = socket.create_connection(("127.0.0.1", port), 2)
    s.send(b"G")
    end = time.time() + seconds
    while time.time() < end:
        time.sleep(0.5)
        try:
            s.send(b"E")
        except OSError:
            break
    return s


def prom_slow_client():
    http = free_port()
    srv = start(OHM, "serve", "--prometheus", f"127.0.0.1:{http}",
                "--interval", "1", "sim:bps2000v2",
                stderr=subprocess.DEVNULL)
    T.ok(wait_port(http), "serve listens on the Prometheus port")
    idle = socket.create_connection(("127.0.0.1", http), 2)  # sends nothing
    slow = socket.create_connection(("127.0.0.1", http), 2)
    slow.send(b"GET /met")
    r = get_metrics(http, 4)
    T.ok(r.startswith(b"HTTP/1.1 200"),
         "/metrics answers while other clients send nothing or trickle",
         repr(r))
    s = trickle(http, 7)  # longer than a request may take
    try:
        s.settimeout(2)
        closed = s.recv(16) == b""
    except OSError:
        closed = True
    T.ok(closed, "a client trickling its request is dropped")
    for c in (idle, slow, s):
        c.close()
    held = socket.create_connection(("127.0.0.1", http), 2)
    held.send(b"G")
    srv.send_signal(signal.SIGTERM)
    try:
        srv.wait(timeout=15)
        stopped = True
    except subprocess.TimeoutExpired:
        stopped = False
    T.ok(stopped and srv.returncode == 0,
         "SIGTERM stops serve while a client holds a request half-sent",
         f"rc {srv.returncode}")
    held.close()


def nut_reader_that_never_reads():
    port = free_port()
    srv = start(OHM, "serve", "--nut", f"127.0.0.1:{port}", "--interval",
                "1", "sim:bps2000v2", stderr=subprocess.DEVNULL)
    T.ok(wait_port(port), "serve listens on the NUT port")
    time.sleep(1.5)  # first poll
    hog = socket.create_connection(("127.0.0.1", port), 2)
    hog.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    hog.sendall(b"LIST VAR sim:bps2000v2\n" * 3000)  # never read
    c = socket.create_connection(("127.0.0.1", port), 2)
    c.settimeout(4)
    c.sendall(b"LIST UPS\n")
    try:
        r = c.recv(200)
    except OSError:
        r = b""
    T.ok(b"BEGIN LIST UPS" in r, "NUT answers others meanwhile", repr(r))
    c.close()
    srv.send_signal(signal.SIGTERM)  # its thread is blocked in send()
    try:
        srv.wait(timeout=15)
    except subprocess.TimeoutExpired:
        pass
    T.ok(srv.returncode == 0,
         "SIGTERM stops serve while a NUT client is not reading",
         f"rc {srv.returncode}")
    hog.close()


def main():
    prom_slow_client()
    nut_reader_that_never_reads()


run(main)
