#!/usr/bin/python3
"""A TFTP write server for ohm's tests that loses and duplicates packets.

    lossy_tftpd.py --port P --dir D [--drop 0.05] [--dup 0.05] [--seed N]
                   [--no-options] [--deny]

Accepts write requests (RFC 1350) with the RFC 2347 options blksize, tsize
and timeout, and writes each file into D when its last block arrives.
--drop loses that share of the packets in both directions, --dup sends that
share of its own packets twice; it re-sends its last ACK after 0.2 s of
silence, as a receiver that recovers quickly. --no-options plays an RFC
1350-only server: a request carrying options gets ERROR 8 and only a plain
request is served. --deny refuses every write (ERROR 2). Read requests get
ERROR 1. Prints "ready PORT" once listening.
"""
import argparse, os, random, socket, struct, sys, threading, time

OP_RRQ, OP_WRQ, OP_DATA, OP_ACK, OP_ERROR, OP_OACK = 1, 2, 3, 4, 5, 6


def error(code, text):
    return struct.pack("!HH", OP_ERROR, code) + text.encode() + b"\0"


class Lossy:
    def __init__(self, a):
        self.a = a
        self.rng = random.Random(a.seed)
        self.lock = threading.Lock()

    def chance(self, p):
        with self.lock:
            return self.rng.random() < p

    def send(self, sock, pkt, peer):
        if self.chance(self.a.drop):
            return
        sock.sendto(pkt, peer)
        if self.chance(self.a.dup):
            sock.sendto(pkt, peer)

    def recv(self, sock):
        """One packet that survived the loss, or None after silence."""
        while True:
            try:
                pkt, peer = sock.recvfrom(70000)
            except socket.timeout:
                return None, None
            if not self.chance(self.a.drop):
                return pkt, peer


def parse_request(pkt):
    parts = pkt[2:].split(b"\0")
    name, mode = parts[0].decode(), parts[1].decode().lower()
    opts = {}
    for i in range(2, len(parts) - 1, 2):
        if parts[i]:
            opts[parts[i].decode().lower()] = parts[i + 1].decode()
    return name, mode, opts


def negotiate(opts):
    """The OACK answer to the options we accept (RFC 2347-2349)."""
    acc = {}
    if "blksize" in opts:
        acc["blksize"] = str(max(8, min(65464, int(opts["blksize"]))))
    if "tsize" in opts:
        acc["tsize"] = opts["tsize"]
    if "timeout" in opts:
        acc["timeout"] = opts["timeout"]
    return acc


def serve_write(srv, peer, name, opts):
    a, sock = srv.a, socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.2)
    acc = negotiate(opts)
    blksize = int(acc.get("blksize", 512))
    if acc:
        last = struct.pack("!H", OP_OACK) + b"".join(
            k.encode() + b"\0" + v.encode() + b"\0" for k, v in acc.items())
    else:
        last = struct.pack("!HH", OP_ACK, 0)
    srv.send(sock, last, peer)
    data, block, silent, done_at = bytearray(), 0, 0.0, None
    while True:
        pkt, frm = srv.recv(sock)
        if pkt is None:
            silent += 0.2
            if done_at is not None and time.time() - done_at > 3:
                break  # dallied long enough for a lost final ACK
            if silent > 8:
                return  # client gone: nothing written
            srv.send(sock, last, peer)
            continue
        if frm != peer:
            sock.sendto(error(5, "Unknown transfer ID"), frm)
            continue
        op, = struct.unpack("!H", pkt[:2])
        if op != OP_DATA:
            continue
        silent = 0.0
        n, = struct.unpack("!H", pkt[2:4])
        if n == ((block + 1) & 0xFFFF) and done_at is None:
            block, payload = n, pkt[4:]
            data += payload
            last = struct.pack("!HH", OP_ACK, block)
            if len(payload) < blksize:
                with open(os.path.join(a.dir, os.path.basename(name)),
                          "wb") as f:
                    f.write(data)
                done_at = time.time()
            srv.send(sock, last, peer)
        elif n == block and done_at is not None:
            srv.send(sock, last, peer)  # the final ACK was lost
        # other duplicates: ignored (no Sorcerer's Apprentice)
    sock.close()


def handle(srv, sock, pkt, peer):
    a = srv.a
    op, = struct.unpack("!H", pkt[:2])
    if op == OP_RRQ:
        sock.sendto(error(1, "File not found"), peer)
        return
    if op != OP_WRQ:
        sock.sendto(error(4, "Illegal TFTP operation"), peer)
        return
    name, mode, opts = parse_request(pkt)
    if a.deny:
        sock.sendto(error(2, "Access violation"), peer)
    elif a.no_options and opts:
        sock.sendto(error(8, "Options not supported"), peer)
    else:
        threading.Thread(target=serve_write, args=(srv, peer, name, opts),
                         daemon=True).start()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--dir", required=True)
    p.add_argument("--drop", type=float, default=0.0)
    p.add_argument("--dup", type=float, default=0.0)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--no-options", action="store_true")
    p.add_argument("--deny", action="store_true")
    a = p.parse_args()
    srv = Lossy(a)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", a.port))
    print("ready", a.port, flush=True)
    seen = set()
    while True:
        pkt, peer = sock.recvfrom(70000)
        if len(pkt) < 4:
            continue
        if srv.chance(a.drop) and pkt[1] == OP_WRQ:
            continue  # the request itself may be lost too
        key = (peer, pkt)
        if key in seen and pkt[1] == OP_WRQ:
            continue  # a re-sent request: that transfer is under way
        seen.add(key)
        handle(srv, sock, pkt, peer)


if __name__ == "__main__":
    main()
