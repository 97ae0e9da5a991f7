"""The shared corpus of faulty peers (issue 10): peers as a user's network
presents them, each wrong in one way. Used by tests/e2e/faulty_peers.py
and by anyone who needs a misbehaving Modbus TCP server or SNMP agent.

  faulty_peers.py modbus PORT MODE
      a Modbus TCP server with 99 holding registers (GOOD: a plausible
      BPS2000v2) that answers function 03 and 06 wrongly in one way:
      good       correct replies (the control)
      wrongunit  the reply carries unit id + 7 (a TCP-to-RTU gateway
                 passing on another unit's answer)
      protoid    protocol id 1 in the MBAP header
      mbaplen    MBAP length 65535
      dup        every reply sent twice
      stray      a stray reply (older transaction id, BAD values) before
                 the real one
      short      the frame ends 2 bytes early (MBAP length agrees)
      long       2 bytes beyond the byte count (MBAP length agrees)
      wrongfunc  function 04 in the reply
      exception  exception 02 to every request
      ffff       every register 0xFFFF
      badcount   byte count one register short of the request (MBAP
                 length agrees)

SNMP: snmprec lines for snmpsim (see tests/snmplib.py) with every kind of
wrong value; SNMP_CASES lists them.
"""
import socket
import sys
import threading

BAD = 0x0BAD  # a value no good reply carries: its decodings must never show

# A plausible BPS2000v2: register -> value (the rest 0).
GOOD = [0] * 99
for x in range(3):
    GOOD[0 + x] = 2301 + x      # voltage 230.1 V ...
    GOOD[3 + x] = 1234 + x      # current 12.34 A ...
    GOOD[15 + x] = 5000         # 50 Hz
    GOOD[18 + x] = 95           # pf 0.95
GOOD[53] = 215                  # 21.5 degC
GOOD[56] = 402                  # 40.2 %
GOOD[59], GOOD[60], GOOD[61], GOOD[62] = 1, 2, 2, 2
GOOD[63], GOOD[64] = 1800, 2600  # L1 voltage limits


def regs_for(mode):
    return [0xFFFF] * 99 if mode == "ffff" else list(GOOD)


def read_reply(tid, proto, unit, fc, vals):
    body = bytes([fc, 2 * len(vals)]) + b"".join(
        v.to_bytes(2, "big") for v in vals)
    return (tid.to_bytes(2, "big") + proto.to_bytes(2, "big") +
            (len(body) + 1).to_bytes(2, "big") + bytes([unit]) + body)


def reply(mode, req, regs):
    """The reply (bytes, possibly several frames) to one request ADU."""
    tid = int.from_bytes(req[0:2], "big")
    unit, fc = req[6], req[7]
    addr, n = int.from_bytes(req[8:10], "big"), int.from_bytes(req[10:12],
                                                               "big")
    if mode == "exception":
        return req[0:4] + b"\x00\x03" + bytes([unit, fc | 0x80, 2])
    if fc == 6:
        regs[addr] = n
        rep = req[:12]
    elif fc == 3:
        if addr + n > len(regs):
            return req[0:4] + b"\x00\x03" + bytes([unit, fc | 0x80, 2])
        vals = regs[addr:addr + n]
        if mode == "badcount":
            vals = vals[:-1]
        rep = read_reply(tid, 0, unit, fc, vals)
    else:
        return req[0:4] + b"\x00\x03" + bytes([unit, fc | 0x80, 1])
    rep = bytearray(rep)
    if mode == "wrongunit":
        rep[6] = (unit + 7) & 0xFF
    elif mode == "protoid":
        rep[2:4] = b"\x00\x01"
    elif mode == "mbaplen":
        rep[4:6] = b"\xff\xff"
    elif mode == "wrongfunc":
        rep[7] = 4
    elif mode == "short":
        rep = rep[:-2]
        rep[4:6] = (len(rep) - 6).to_bytes(2, "big")
    elif mode == "long":
        rep += b"\x0b\xad"
        rep[4:6] = (len(rep) - 6).to_bytes(2, "big")
    rep = bytes(rep)
    if mode == "dup":
        return rep + rep
    if mode == "stray" and fc == 3:
        return read_reply((tid - 1) & 0xFFFF, 0, unit, 3, [BAD] * n) + rep
    return rep


def recv_adu(conn):
    head = b""
    while len(head) < 6:
        c = conn.recv(6 - len(head))
        if not c:
            return None
        head += c
    n = int.from_bytes(head[4:6], "big")
    body = b""
    while len(body) < n:
        c = conn.recv(n - len(body))
        if not c:
            return None
        body += c
    return head + body


def modbus_conn(conn, mode):
    regs = regs_for(mode)
    with conn:
        while True:
            try:
                req = recv_adu(conn)
                if not req or len(req) < 12:
                    return
                conn.sendall(reply(mode, req, regs))
            except OSError:
                return


def serve_modbus(port, mode):
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", port))
    srv.listen(8)
    while True:
        conn, _ = srv.accept()
        threading.Thread(target=modbus_conn, args=(conn, mode),
                         daemon=True).start()


MODBUS_MODES = ["wrongunit", "protoid", "mbaplen", "dup", "stray", "short",
                "long", "wrongfunc", "exception", "ffff", "badcount"]

# ---- SNMP ---------------------------------------------------------------

BKT = "1.3.6.1.4.1.47394.1"
UPS = "1.3.6.1.2.1.33.1"

# name -> (driver, var, snmprec lines for the community, bad text that must
# never be shown as the var's value). snmpsim tags: 2 INTEGER, 4 OCTET
# STRING, 6 OID, 64 IpAddress, 65 Counter32, 66 Gauge32, 67 TimeTicks,
# 70 Counter64.
def _ups(extra):
    base = {"1.1.0": (4, "ACME"), "2.1.0": (2, 2), "2.4.0": (2, 90),
            "3.2.0": (2, 1), "4.1.0": (2, 3), "4.3.0": (2, 1)}
    base.update(extra)
    return [f"{UPS}.{k}|{t}|{v}" for k, (t, v) in base.items()]


SNMP_CASES = {
    # every wrong type where a number belongs (ups-mib battery.charge)
    "string_for_int": ("ups-mib", "battery.charge",
                       _ups({"2.4.0": (4, "12.5")}), "12.5"),
    "string_for_enum": ("ups-mib", "battery.status",
                        _ups({"2.1.0": (4, "2")}), "normal"),
    "oid_for_int": ("ups-mib", "battery.charge",
                    _ups({"2.4.0": (6, "1.3.6.1.4.1.9")}), "1.3.6"),
    "ipaddr_for_int": ("ups-mib", "battery.charge",
                       _ups({"2.4.0": (64, "10.0.0.7")}), "10.0.0.7"),
    "int_for_text": ("ups-mib", "device.mfr", _ups({"1.1.0": (2, 42)}),
                     "42"),
    "counter64_for_text": ("ups-mib", "device.mfr",
                           _ups({"1.1.0": (70, 7)}), ": 7"),
    # out of range for the declared type
    "s16_overflow": ("ups-mib", "battery.current",
                     _ups({"2.6.0": (2, 2147483647)}), "214748364.7"),
    "u16_negative": ("ups-mib", "battery.charge",
                     _ups({"2.4.0": (2, -5)}), "-5"),
    "counter64_max": ("ups-mib", "battery.runtime",
                      _ups({"2.3.0": (70, 18446744073709551615)}),
                      "1106804644422549"),
    "gauge_over_u16": ("ups-mib", "battery.charge",
                       _ups({"2.4.0": (66, 4294967295)}), "4294967295"),
    # an enum value outside the map's list
    "enum_unknown": ("ups-mib", "battery.status",
                     _ups({"2.1.0": (2, 97)}), None),
    "source_unknown": ("ups-mib", "ups.status",
                       _ups({"4.1.0": (2, 97)}), None),
    "bps_enum_unknown": ("bps2000v2", "ambient.smoke",
                         [f"{BKT}.2.34.0|2|97", f"{BKT}.2.2.0|4|230.1"],
                         None),
    # bps2000v2: 65535 (INTEGER and text) is "not available"
    "bps_ffff": ("bps2000v2", "input.L1.current",
                 [f"{BKT}.2.1.0|2|65535", f"{BKT}.2.2.0|4|230.1"],
                 "655.35"),
    "bps_text_range": ("bps2000v2", "input.L1.current",
                       [f"{BKT}.2.1.0|4|99999", f"{BKT}.2.2.0|4|230.1"],
                       "99999"),
    "bps_bad_text": ("bps2000v2", "input.L1.current",
                     [f"{BKT}.2.1.0|4|12.5A", f"{BKT}.2.2.0|4|230.1"],
                     "12.5"),
}

if __name__ == "__main__":
    if len(sys.argv) != 4 or sys.argv[1] != "modbus":
        sys.exit("usage: faulty_peers.py modbus PORT MODE")
    serve_modbus(int(sys.argv[2]), sys.argv[3])
