"""An independent YD/T 1363.3 BMS bank for tests, written from DESIGN.md's
protocol facts ("Drivers pylontech and pace"), not from ohm's C code.

    bms_peer.py --pty PATH --dialect pace|pylontech --packs 1,2,3
                [--state FILE] [--fault KIND:PACK ...] [--log FILE]

Opens PATH with pyserial (the other end of a socat pty pair) and answers
as the packs at those addresses would: 0x42 analog values, 0x44 alarms,
serial/firmware texts, PACE 0x9A/0x9B MOS and 0x99 buzzer. --state writes
the bank's data as JSON (what each pack holds, in physical units) so a
test can compare every variable ohm shows. Faults, each for one pack:
chksum, lchksum, truncate, split, junk, late, collide, rtn=NN, ver,
other (a valid reply from another address first), silent.
"""
import argparse, json, os, sys, threading, time

import serial

DIALECTS = {
    # ver, temp offset, current unit (A), capacity unit (Ah), user items P,
    # status byte count, sensors
    "pace": dict(ver=0x25, toff=2730, cur=0.01, cap=0.01, p=3, nstatus=9,
                 temps=6),
    "pylontech": dict(ver=0x20, toff=2731, cur=0.1, cap=0.001, p=4,
                      nstatus=5, temps=6),
}


def chksum(text):
    return (~(sum(text.encode()) % 65536) + 1) & 0xFFFF


def length(lenid):
    s = (lenid & 0xF) + ((lenid >> 4) & 0xF) + ((lenid >> 8) & 0xF)
    return ((((~(s % 16)) + 1) & 0xF) << 12) | lenid


def frame(ver, adr, cid1, cid2, info=b"", bad_len=False, bad_sum=False):
    hexinfo = info.hex().upper()
    ln = length(len(hexinfo))
    if bad_len:
        ln ^= 0x1000
    body = "%02X%02X%02X%02X%04X%s" % (ver, adr, cid1, cid2, ln, hexinfo)
    s = chksum(body) ^ (1 if bad_sum else 0)
    return ("~%s%04X\r" % (body, s)).encode()


def parse(raw):
    """raw: bytes from ~ to \\r. Returns (ver, adr, cid1, cid2, info) or
    raises ValueError(rtn)."""
    t = raw[1:-1].decode("ascii", "replace")
    if len(t) < 16:
        raise ValueError(0x05)
    ln = int(t[8:12], 16)
    if length(ln & 0xFFF) != ln:
        raise ValueError(0x03)
    if chksum(t[:-4]) != int(t[-4:], 16):
        raise ValueError(0x02)
    info = bytes.fromhex(t[12:-4])
    return int(t[0:2], 16), int(t[2:4], 16), int(t[4:6], 16), \
        int(t[6:8], 16), info


class Pack:
    def __init__(self, adr, d, k):
        self.adr, self.d = adr, d
        self.cells = [3300 + ((adr * 7 + i * 3) % 23) for i in range(16)]
        self.temps = [d["toff"] + 250 + 10 * adr + i * 3
                      for i in range(d["temps"])]
        self.current = (150 - 40 * k) if d["ver"] == 0x25 else (15 - 4 * k)
        self.voltage = sum(self.cells)
        if d["ver"] == 0x25:
            self.full, self.remaining, self.design = 9800, 7350 + 100 * k, \
                10000
        else:
            self.full, self.remaining, self.design = 98000, 73500 + 1000 * k, \
                0
        self.cycles = 120 + adr
        self.cell_st = [0] * 16
        self.temp_st = [0] * d["temps"]
        self.status = [0] * d["nstatus"]
        if d["ver"] == 0x25:
            self.status[2] = 0b110           # instruction: both MOS on
            self.status[5] = 1 << (adr % 8)  # balance1: one cell balancing
            self.status[3] = 1               # control: buzzer enabled
            self.serial = "PACE%08d" % (1000 + adr)
            self.firmware = "P16S100A-V2.%d" % adr
        else:
            self.status[1] = 0b110           # status 2: both MOS on
            self.status[2] = 0x80            # status 3: charging
            self.serial = "PPTBH%011d" % (2000 + adr)
            self.firmware = ""
        if k == 1:  # a cell above its limit, and its alarm
            self.cell_st[4] = 2
            self.status[0] |= 1

    def analog(self):
        d = self.d
        b = bytes([0, self.adr, 16])
        b += b"".join(c.to_bytes(2, "big") for c in self.cells)
        b += bytes([len(self.temps)])
        b += b"".join(t.to_bytes(2, "big") for t in self.temps)
        b += (self.current & 0xFFFF).to_bytes(2, "big")
        b += self.voltage.to_bytes(2, "big")
        if d["p"] == 4:
            b += b"\xff\xff" + bytes([4]) + b"\xff\xff"
            b += self.cycles.to_bytes(2, "big")
            b += self.remaining.to_bytes(3, "big")
            b += self.full.to_bytes(3, "big")
        else:
            b += self.remaining.to_bytes(2, "big") + bytes([d["p"]])
            b += self.full.to_bytes(2, "big")
            b += self.cycles.to_bytes(2, "big")
            b += self.design.to_bytes(2, "big")
        return b

    def alarms(self):
        b = bytes([0, self.adr, 16]) + bytes(self.cell_st)
        b += bytes([len(self.temp_st)]) + bytes(self.temp_st)
        b += bytes([0, 0, 0]) + bytes(self.status)
        return b

    def state(self):
        """The pack in physical units, as DESIGN.md names them."""
        d, p = self.d, "battery.pack.%d." % self.adr
        full, rem = self.full * d["cap"], self.remaining * d["cap"]
        cur = (self.current if self.current < 0x8000 else
               self.current - 0x10000) * d["cur"]
        s = {p + "voltage": self.voltage / 1000, p + "current": cur,
             p + "capacity": full, p + "capacity.remaining": rem,
             p + "cycles": self.cycles, p + "cells": 16,
             p + "charge": 100 * rem / full, p + "serial": self.serial}
        for i, c in enumerate(self.cells):
            s[p + "cell.%d.voltage" % (i + 1)] = c / 1000
            s[p + "cell.%d.status" % (i + 1)] = \
                {0: "good", 1: "critical-low", 2: "critical-high"}[
                    self.cell_st[i]]
        for i, t in enumerate(self.temps):
            s[p + "temperature.%d" % (i + 1)] = (t - d["toff"]) / 10
            s[p + "temperature.%d.status" % (i + 1)] = "good"
        s[p + "cell.voltage.min"] = min(self.cells) / 1000
        s[p + "cell.voltage.max"] = max(self.cells) / 1000
        s[p + "cell.voltage.delta"] = (max(self.cells) - min(self.cells)) / 1000
        cellt = self.temps[0:4] if d["ver"] == 0x25 else self.temps[1:5]
        s[p + "temperature"] = (max(cellt) - d["toff"]) / 10
        if d["ver"] == 0x25:
            ins = self.status[2]
            s[p + "mos.charge"] = "on" if ins & 2 else "off"
            s[p + "mos.discharge"] = "on" if ins & 4 else "off"
            s[p + "heater"] = "on" if ins & 0x80 else "off"
            s[p + "beeper.status"] = "enabled" if self.status[3] & 1 \
                else "disabled"
            s[p + "health"] = 100 * full / (self.design * d["cap"])
            s[p + "capacity.nominal"] = self.design * d["cap"]
            s[p + "firmware"] = self.firmware
            bal = self.status[5] | (self.status[6] << 8)
            for i in range(16):
                s[p + "cell.%d.balancing" % (i + 1)] = \
                    "yes" if bal >> i & 1 else "no"
            s[p + "alarms"] = "cell-high cell-overvoltage" \
                if self.status[0] & 1 else ""
        else:
            st2 = self.status[1]
            s[p + "mos.charge"] = "on" if st2 & 2 else "off"
            s[p + "mos.discharge"] = "on" if st2 & 4 else "off"
            s[p + "alarms"] = "cell-high overvoltage" \
                if self.status[0] & 1 else ""
        s[p + "status"] = "charging" if cur > 0 else \
            "discharging" if cur < 0 else "resting"
        return s


class Bank:
    def __init__(self, dialect, addrs, faults):
        self.d = DIALECTS[dialect]
        self.dialect = dialect
        self.packs = {a: Pack(a, self.d, k) for k, a in enumerate(addrs)}
        self.faults = faults  # pack -> kind
        self.requests = 0

    def state(self):
        s = {}
        for p in self.packs.values():
            s.update(p.state())
        live = [p for a, p in self.packs.items()
                if self.faults.get(a) in (None, "split", "junk", "other",
                                          "late")]
        if live:
            full = sum(p.full for p in live) * self.d["cap"]
            rem = sum(p.remaining for p in live) * self.d["cap"]
            s["battery.packs"] = len(live)
            s["battery.voltage"] = sum(p.voltage for p in live) / len(live) \
                / 1000
            s["battery.current"] = sum(
                p.state()["battery.pack.%d.current" % p.adr] for p in live)
            s["battery.capacity"] = full
            s["battery.charge"] = 100 * rem / full
            s["battery.temperature"] = max(
                p.state()["battery.pack.%d.temperature" % p.adr] for p in live)
        return s

    def command(self, p, cid2, data):
        """MOS and buzzer (PACE): returns RTN."""
        if self.d["ver"] != 0x25 or not data:
            return 0x04
        if cid2 in (0x9A, 0x9B):
            bit = 2 if cid2 == 0x9A else 4
            new = p.status[2] | bit if data[0] else p.status[2] & ~bit
            if not new & 6:
                return 0x09  # both MOSFETs off: refused
            p.status[2] = new
            return 0
        if cid2 == 0x99 and data[0] in (0x0C, 0x0D):
            p.status[3] = p.status[3] | 1 if data[0] == 0x0C else \
                p.status[3] & ~1
            return 0
        return 0x06

    def answer(self, raw):
        """Replies (a list of byte strings to write) for one request."""
        ver = self.d["ver"]
        try:
            rver, adr, cid1, cid2, info = parse(raw)
        except ValueError as e:
            return [frame(ver, 0, 0x46, e.args[0])]
        p = self.packs.get(adr)
        if p is None:
            return []  # nobody at this address: silence
        if rver != ver:
            return [frame(ver, adr, 0x46, 0x01)]
        fault = self.faults.get(adr, "")
        if fault == "silent":
            return []
        if fault.startswith("rtn="):
            return [frame(ver, adr, 0x46, int(fault[4:], 16))]
        if cid2 == 0x42:
            body = p.analog()
        elif cid2 == 0x44:
            body = p.alarms()
        elif cid2 in (0x93, 0xC2):
            body = (bytes([adr]) if ver == 0x20 else b"") + p.serial.encode()
        elif cid2 == 0xC1:
            body = p.firmware.encode()
        elif cid2 in (0x9A, 0x9B, 0x99):
            rtn = self.command(p, cid2, info[1:])
            return [frame(ver, adr, 0x46, rtn)]
        else:
            return [frame(ver, adr, 0x46, 0x04)]
        out = frame(ver, adr, 0x46, 0, body)
        if fault == "chksum":
            return [frame(ver, adr, 0x46, 0, body, bad_sum=True)]
        if fault == "lchksum":
            return [frame(ver, adr, 0x46, 0, body, bad_len=True)]
        if fault == "truncate":
            return [out[:len(out) // 2] + b"\r"]
        if fault == "ver":
            return [frame(ver ^ 0x01, adr, 0x46, 0, body)]
        if fault == "split":
            return [out[i:i + 3] for i in range(0, len(out), 3)]
        if fault == "junk":
            return [b"\x00\xff#junk" + out + b"\x00\x00\x00"]
        if fault == "late":
            return [b"SLEEP", out]
        if fault == "collide":  # two packs talking at once: interleaved
            other = frame(ver, adr + 1, 0x46, 0, body)
            return [bytes(a for pair in zip(out, other) for a in pair)]
        if fault == "other":
            o = Pack(adr + 1, self.d, 3)
            return [frame(ver, adr + 1, 0x46, 0, o.analog()
                          if cid2 == 0x42 else o.alarms()), out]
        return [out]


def serve(bank, port, args):
    buf = b""
    lock = threading.Lock()

    def send(chunk):
        with lock:
            port.write(chunk)
            port.flush()

    while True:
        data = port.read(256)
        if not data:
            continue
        buf += data
        while b"\r" in buf:
            raw, buf = buf.split(b"\r", 1)
            i = raw.find(b"~")
            if i < 0:
                continue
            bank.requests += 1
            if args.log:
                with open(args.log, "a") as f:
                    f.write(raw[i:].decode("ascii", "replace") + "\n")
            late = False
            for chunk in bank.answer(raw[i:] + b"\r"):
                if chunk == b"SLEEP":
                    late = True
                    continue
                if late:  # answers after the 500 ms, without blocking others
                    threading.Timer(0.9, send, (chunk,)).start()
                    continue
                send(chunk)
                if len(chunk) <= 3:
                    time.sleep(0.002)
            if args.state:
                write_state(bank, args.state)


def write_state(bank, path):
    with open(path + ".tmp", "w") as f:
        json.dump(bank.state(), f)
    os.replace(path + ".tmp", path)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pty", required=True)
    ap.add_argument("--dialect", default="pace", choices=sorted(DIALECTS))
    ap.add_argument("--packs", default="1,2,3")
    ap.add_argument("--state")
    ap.add_argument("--log")
    ap.add_argument("--fault", action="append", default=[])
    args = ap.parse_args()
    faults = {}
    for f in args.fault:
        kind, pack = f.rsplit(":", 1)
        faults[int(pack)] = kind
    bank = Bank(args.dialect, [int(a) for a in args.packs.split(",")], faults)
    port = serial.Serial(args.pty, 9600, timeout=0.05)
    if args.state:  # after the open, which drops what came before it
        write_state(bank, args.state)
    serve(bank, port, args)


if __name__ == "__main__":
    main()
