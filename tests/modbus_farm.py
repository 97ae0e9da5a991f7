"""Many Modbus TCP devices from one process (python sockets, selectors),
for fleet tests: each good device has its own values, so a reply handed
to the wrong device shows.

  modbus_farm.py GOOD [SILENT] [GARBAGE] [LATE] [TRAP]
      binds that many listeners of each kind on 127.0.0.1 (ports chosen by
      the kernel), prints one JSON line {"good": [...], "silent": [...],
      "garbage": [...], "late": [...], "trap": [...]} (the ports) and
      serves until killed:
      good     device j (0-based) holds register 0 = 2000 + j and register
               3 = 100 + j (the rest 0) in 200 holding registers; function
               03 within them answered, beyond them exception 02, any
               other function exception 01
      silent   accepts, reads, never answers
      garbage  answers every request with an HTTP error page
      late     as good (device j holds 3000 + j), each reply 0.3 s late
      trap     the first request it ever gets answered with exception 02,
               then silent on every connection
"""
import json
import selectors
import socket
import sys
import time

GARBAGE = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"
NREGS = 200


def reply(regs, req):
    tid, unit, fc = req[0:2], req[6], req[7]
    addr = int.from_bytes(req[8:10], "big")
    n = int.from_bytes(req[10:12], "big")
    if fc != 3:
        return tid + b"\x00\x00\x00\x03" + bytes([unit, fc | 0x80, 1])
    if n < 1 or addr + n > NREGS:
        return tid + b"\x00\x00\x00\x03" + bytes([unit, 0x83, 2])
    data = b"".join(v.to_bytes(2, "big") for v in regs[addr:addr + n])
    return (tid + b"\x00\x00" + (3 + len(data)).to_bytes(2, "big") +
            bytes([unit, 3, len(data)]) + data)


def main():
    kinds = ("good", "silent", "garbage", "late", "trap")
    counts = [int(a) for a in sys.argv[1:6]] + [0] * 5
    sel = selectors.DefaultSelector()
    ports = {k: [] for k in kinds}
    later = []  # (when, conn, bytes): late replies
    for kind, n in zip(kinds, counts):
        for j in range(n):
            s = socket.socket()
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("127.0.0.1", 0))
            s.listen(64)
            s.setblocking(False)
            regs = None
            if kind in ("good", "late"):
                regs = [0] * NREGS
                regs[0] = (2000 if kind == "good" else 3000) + j
                regs[3] = 100 + j
            elif kind == "trap":
                regs = {"fired": False}  # per listener
            sel.register(s, selectors.EVENT_READ, ("listen", kind, regs))
            ports[kind].append(s.getsockname()[1])
    print(json.dumps(ports), flush=True)
    bufs = {}
    while True:
        now = time.monotonic()
        for due, c, data in [x for x in later if x[0] <= now]:
            later.remove((due, c, data))
            try:
                c.sendall(data)
            except OSError:
                pass
        wait = min((x[0] for x in later), default=now + 1) - now
        for key, _ in sel.select(max(wait, 0)):
            what, kind, regs = key.data
            if what == "listen":
                try:
                    c, _ = key.fileobj.accept()
                except OSError:
                    continue
                c.setblocking(True)
                bufs[c] = b""
                sel.register(c, selectors.EVENT_READ, ("conn", kind, regs))
                continue
            c = key.fileobj
            try:
                data = c.recv(4096)
            except OSError:
                data = b""
            if not data:
                sel.unregister(c)
                bufs.pop(c, None)
                c.close()
                continue
            buf = bufs[c] + data
            while len(buf) >= 12:
                n = 6 + int.from_bytes(buf[4:6], "big")
                if len(buf) < n:
                    break
                req, buf = buf[:n], buf[n:]
                try:
                    if kind == "good":
                        c.sendall(reply(regs, req))
                    elif kind == "late":
                        later.append((time.monotonic() + 0.3, c,
                                      reply(regs, req)))
                    elif kind == "trap" and not regs["fired"]:
                        regs["fired"] = True
                        c.sendall(req[0:4] + b"\x00\x03" +
                                  bytes([req[6], 0x83, 2]))
                    elif kind == "garbage":
                        c.sendall(GARBAGE)
                except OSError:
                    break
            bufs[c] = buf


if __name__ == "__main__":
    main()
