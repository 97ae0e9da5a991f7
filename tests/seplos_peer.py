"""An independent Seplos BMS V2 (protocol 2.0) bank for tests, written from
the protocol facts (the YD/T 1363.3 frame of DESIGN.md "Drivers pylontech
and pace"; the 0x42 telemetry layout as public decoders of real Seplos
frames read it), not from ohm's code.

    seplos_peer.py --pty PATH --packs 0,1,2 --state FILE [--log FILE]

Opens PATH with pyserial (one end of a socat pty pair) and answers as the
packs at those addresses (header ADR = the pack's, INFO = its address):
CID2 0x42 telemetry; RTN 01 for a wrong VER, 02 for a bad CHKSUM, 03 for a
bad LCHKSUM, 04 for another CID2, 90 for INFO naming another pack. Pack 1
has 15 cells, the others 16. --state writes every value as ohm's
variable names in physical units, for a test to compare.
"""
import argparse
import json
import sys

import serial

VER = 0x20


def chksum(text):
    return (~(sum(text.encode()) % 65536) + 1) & 0xFFFF


def length(lenid):
    s = (lenid & 0xF) + ((lenid >> 4) & 0xF) + ((lenid >> 8) & 0xF)
    return ((((~(s % 16)) + 1) & 0xF) << 12) | lenid


def frame(adr, rtn, info=b""):
    h = info.hex().upper()
    body = "%02X%02X46%02X%04X%s" % (VER, adr, rtn, length(len(h)), h)
    return ("~%s%04X\r" % (body, chksum(body))).encode()


def pack_data(adr):
    """What pack adr holds, raw (the wire's integers)."""
    n = 15 if adr == 1 else 16
    cells = [3300 + ((adr * 7 + i * 3) % 23) for i in range(n)]
    temps = [2731 + 250 + adr * 5 + i * 3 for i in range(6)]  # 0.1 K
    current = [-1234, 560, 0][adr % 3]  # 10 mA, signed
    return dict(
        cells=cells, temps=temps, current=current,
        voltage=sum(cells) // 10,  # 10 mV
        remaining=8000 + adr * 1111,  # 10 mAh
        capacity=10000 + adr * 50, rated=10500, cycles=37 + adr * 100,
        soc=0, soh=990, port=sum(cells) // 10 - 2)


def telemetry(adr, d):
    def w(x):
        return (x & 0xFFFF).to_bytes(2, "big")
    soc = d["remaining"] * 1000 // d["capacity"]
    b = bytes([0x00, 0x01, len(d["cells"])])
    b += b"".join(w(c) for c in d["cells"]) + bytes([len(d["temps"])])
    b += b"".join(w(t) for t in d["temps"])
    b += w(d["current"]) + w(d["voltage"]) + w(d["remaining"]) + bytes([10])
    b += w(d["capacity"]) + w(soc) + w(d["rated"]) + w(d["cycles"])
    b += w(d["soh"]) + w(d["port"]) + bytes(8)
    return b


def state(packs):
    """Every variable of the seplos map, in ohm's units."""
    s, rem, full, volts, cur, tmax = {}, 0, 0, [], 0, None
    for adr in packs:
        d, pk = pack_data(adr), "battery.pack.%d." % adr
        cells = [c / 1000 for c in d["cells"]]
        temps = [(t - 2731) / 10 for t in d["temps"]]
        for i, c in enumerate(cells, 1):
            s[pk + "cell.%d.voltage" % i] = c
        for i, t in enumerate(temps, 1):
            s[pk + "temperature.%d" % i] = t
        a = d["current"] / 100
        s.update({
            pk + "voltage": d["voltage"] / 100, pk + "current": a,
            pk + "capacity": d["capacity"] / 100,
            pk + "capacity.remaining": d["remaining"] / 100,
            pk + "capacity.nominal": d["rated"] / 100,
            pk + "charge": 100 * d["remaining"] / d["capacity"],
            pk + "health": 100 * d["capacity"] / d["rated"],
            pk + "cycles": d["cycles"], pk + "cells": len(cells),
            pk + "cell.voltage.min": min(cells),
            pk + "cell.voltage.max": max(cells),
            pk + "cell.voltage.delta": max(cells) - min(cells),
            pk + "temperature": max(temps[:4]),
            pk + "status": "charging" if a > 0 else
            "discharging" if a < 0 else "resting"})
        rem += d["remaining"] / 100
        full += d["capacity"] / 100
        volts.append(d["voltage"] / 100)
        cur += a
        tmax = max(temps[:4]) if tmax is None else max(tmax, max(temps[:4]))
    s.update({"battery.packs": len(packs),
              "battery.voltage": sum(volts) / len(volts),
              "battery.current": cur, "battery.charge": 100 * rem / full,
              "battery.capacity": full, "battery.temperature": tmax})
    return s


def answer(req, packs):
    """The reply to one request frame (without '~' and CR), or None."""
    try:
        raw = bytes.fromhex(req[:-4])
        ver, adr, cid1, cid2 = raw[:4]
        ln, info = int(req[8:12], 16), raw[6:]
    except ValueError:
        return None
    if adr not in packs:
        return None  # no pack there: silence
    if ver != VER:
        return frame(adr, 0x01)
    if chksum(req[:-4]) != int(req[-4:], 16):
        return frame(adr, 0x02)
    if length(ln & 0xFFF) != ln or (ln & 0xFFF) != 2 * len(info):
        return frame(adr, 0x03)
    if cid1 != 0x46 or cid2 != 0x42:
        return frame(adr, 0x04)
    if len(info) != 1 or info[0] != adr:
        return frame(adr, 0x90)
    return frame(adr, 0x00, telemetry(adr, pack_data(adr)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pty", required=True)
    ap.add_argument("--packs", required=True)
    ap.add_argument("--state", required=True)
    ap.add_argument("--log")
    a = ap.parse_args()
    packs = [int(x) for x in a.packs.split(",")]
    port = serial.Serial(a.pty, 9600, timeout=0.05)
    log = open(a.log, "a") if a.log else None
    with open(a.state + ".tmp", "w") as f:
        json.dump(state(packs), f)
    import os
    os.replace(a.state + ".tmp", a.state)
    buf = b""
    while True:
        buf += port.read(512)
        while b"\r" in buf:
            line, buf = buf.split(b"\r", 1)
            start = line.rfind(b"~")
            if start < 0:
                continue
            req = line[start + 1:].decode("ascii", "replace")
            if log:
                log.write("~" + req + "\n")
                log.flush()
            rep = answer(req, packs)
            if rep:
                port.write(rep)


if __name__ == "__main__":
    sys.exit(main())
