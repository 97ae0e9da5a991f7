"""A TCP relay that paces bytes as an RS485 line at BAUD 8N1 would
(half duplex: one wire, 10 bits a byte, both directions share it), for
bench/bms.sh. Counts frames ('~') and bytes each way into STATS (JSON,
rewritten after every frame).

    bms_relay.py LISTEN_PORT TARGET_PORT STATS [BAUD]
"""
import json, os, select, socket, sys, time

listen_port, target_port, stats_path = int(sys.argv[1]), int(sys.argv[2]), \
    sys.argv[3]
baud = int(sys.argv[4]) if len(sys.argv) > 4 else 9600
BYTE = 10.0 / baud
stats = {"requests": 0, "replies": 0, "bytes_out": 0, "bytes_in": 0}


def save():
    with open(stats_path + ".tmp", "w") as f:
        json.dump(stats, f)
    os.replace(stats_path + ".tmp", stats_path)


def relay(client, server):
    wire = 0.0          # when the wire is free
    queue = []          # (release time, dest socket, byte)
    socks = [client, server]
    while True:
        now = time.monotonic()
        timeout = max(0.0, queue[0][0] - now) if queue else 1.0
        r, _, _ = select.select(socks, [], [], timeout)
        now = time.monotonic()
        for s in r:
            data = s.recv(4096)
            if not data:
                return
            dest = server if s is client else client
            key = "requests" if s is client else "replies"
            stats[key] += data.count(b"~")
            stats["bytes_out" if s is client else "bytes_in"] += len(data)
            for b in data:
                wire = max(wire, now) + BYTE
                queue.append((wire, dest, b))
            save()
        out = {}
        while queue and queue[0][0] <= now:
            _, dest, b = queue.pop(0)
            out.setdefault(dest, bytearray()).append(b)
        for dest, buf in out.items():
            dest.sendall(bytes(buf))


def main():
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", listen_port))
    ls.listen(4)
    save()
    while True:
        c, _ = ls.accept()
        s = socket.create_connection(("127.0.0.1", target_port))
        for x in (c, s):
            x.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            relay(c, s)
        except OSError:
            pass
        c.close()
        s.close()


main()
