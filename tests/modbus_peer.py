"""Modbus peers for ohm's end-to-end tests (run with Debian's python3).

  modbus_peer.py tcp PORT [--set ADDR=V,V..]... [--log FILE] [--host H]
      python3-pymodbus TCP server, unit 1 only, 100 holding registers;
      every read/write of the datastore is appended to FILE as
      "read ADDR COUNT" / "write ADDR V,V.." (one line per request).
  modbus_peer.py rtu TTY [--set ...] [--log FILE] [--baud B]
      the same as a pymodbus RTU serial server on TTY.
  modbus_peer.py rawrtu TTY MODE
      a raw RTU responder on TTY (8-byte requests), MODE one of:
      badcrc     answer reads with a good frame whose CRC is wrong
      wrongunit  answer reads as unit (asked unit + 1)
      exception  answer with Modbus exception 02
  modbus_peer.py raw PORT MODE
      a raw socket server that misbehaves, MODE one of:
      silent     accept, read, never answer
      drop       answer nothing and close after the first request
      exception  answer every request with Modbus exception 02
      garbage    answer with random bytes
      truncated  answer with half an MBAP header, then keep the socket open
      badlen     answer with a well-formed MBAP frame whose byte count lies
      once       answer the first read on each connection with zeros, then
                 close it (a connection dropped mid-session)
      slowfirst  answer the server's very first request after 1.5 s with
                 0xdead, every later one at once with 7 (a late reply)
"""
import argparse
import os
import socket
import sys
import threading
import time

REGS = 100


def parse_sets(sets):
    vals = [0] * REGS
    for s in sets or []:
        addr, _, vs = s.partition("=")
        for i, v in enumerate(vs.split(",")):
            vals[int(addr) + i] = int(v)
    return vals


def make_context(vals, log):
    from pymodbus.datastore import (ModbusSequentialDataBlock,
                                    ModbusServerContext, ModbusSlaveContext)

    class LoggingBlock(ModbusSequentialDataBlock):
        def _log(self, line):
            if log:
                with open(log, "a") as f:
                    f.write(line + "\n")

        def getValues(self, address, count=1):
            self._log(f"read {address} {count}")
            return super().getValues(address, count)

        def setValues(self, address, values):
            if not isinstance(values, list):
                values = [values]
            self._log("write %d %s" % (address, ",".join(map(str, values))))
            return super().setValues(address, values)

    block = LoggingBlock(0, vals)
    slave = ModbusSlaveContext(hr=block, zero_mode=True)
    return ModbusServerContext(slaves={1: slave}, single=False)


def serve_tcp(a):
    from pymodbus.server import StartTcpServer
    ctx = make_context(parse_sets(a.set), a.log)
    StartTcpServer(context=ctx, address=(a.host, int(a.target)))


def serve_rtu(a):
    from pymodbus.server import StartSerialServer
    from pymodbus.transaction import ModbusRtuFramer
    ctx = make_context(parse_sets(a.set), a.log)
    StartSerialServer(context=ctx, framer=ModbusRtuFramer, port=a.target,
                      baudrate=a.baud, timeout=0.05)


def raw_reply(mode, req):
    if mode == "exception" and len(req) >= 8:
        return req[0:4] + b"\x00\x03" + req[6:7] + bytes([req[7] | 0x80, 2])
    if mode == "garbage":
        return os.urandom(37)
    if mode == "truncated":
        return req[0:3]
    if mode == "once" and len(req) >= 12:
        n = int.from_bytes(req[10:12], "big")
        return (req[0:4] + (3 + 2 * n).to_bytes(2, "big") + req[6:8] +
                bytes([2 * n]) + b"\0" * (2 * n))
    if mode == "badlen" and len(req) >= 12:
        # claims 99 registers (198 bytes) but carries 4 bytes
        return req[0:4] + b"\x00\x07" + req[6:8] + bytes([198]) + b"\0" * 4
    return b""


first = threading.Lock()


def read_reply(req, value):
    n = int.from_bytes(req[10:12], "big")
    return (req[0:4] + (3 + 2 * n).to_bytes(2, "big") + req[6:8] +
            bytes([2 * n]) + value.to_bytes(2, "big") * n)


def raw_conn(conn, mode):
    with conn:
        while True:
            try:
                req = conn.recv(260)
            except OSError:
                return
            if not req:
                return
            if mode == "drop":
                return
            if mode == "slowfirst" and len(req) >= 12:
                if first.acquire(blocking=False):
                    time.sleep(1.5)
                    rep = read_reply(req, 0xdead)
                else:
                    rep = read_reply(req, 7)
                try:
                    conn.sendall(rep)
                except OSError:
                    return
                continue
            rep = raw_reply(mode, req)
            if rep:
                conn.sendall(rep)
            if mode == "once":
                return


def serve_raw(a):
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((a.host, int(a.target)))
    srv.listen(8)
    while True:
        conn, _ = srv.accept()
        threading.Thread(target=raw_conn, args=(conn, a.mode),
                         daemon=True).start()


def crc16(data):
    crc = 0xFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc.to_bytes(2, "little")


def rtu_reply(mode, req):
    unit, fc, n = req[0], req[1], int.from_bytes(req[4:6], "big")
    if mode == "exception":
        body = bytes([unit, fc | 0x80, 2])
        return body + crc16(body)
    if fc != 3:
        return req  # a write echoes the request
    body = bytes([unit + 1 if mode == "wrongunit" else unit, 3, 2 * n])
    body += b"\x00\x07" * n
    crc = crc16(body)
    if mode == "badcrc":
        crc = bytes([crc[0] ^ 0xFF, crc[1]])
    return body + crc


def serve_rawrtu(a):
    fd = os.open(a.target, os.O_RDWR | os.O_NOCTTY)
    buf = b""
    while True:
        buf += os.read(fd, 256)
        while len(buf) >= 8:
            req, buf = buf[:8], buf[8:]
            os.write(fd, rtu_reply(a.mode, req))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("kind", choices=["tcp", "rtu", "raw", "rawrtu"])
    p.add_argument("target")
    p.add_argument("mode", nargs="?", default="silent")
    p.add_argument("--set", action="append")
    p.add_argument("--log")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--baud", type=int, default=9600)
    a = p.parse_args()
    {"tcp": serve_tcp, "rtu": serve_rtu, "raw": serve_raw,
     "rawrtu": serve_rawrtu}[a.kind](a)


if __name__ == "__main__":
    sys.exit(main())
