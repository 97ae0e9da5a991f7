"""SNMP traps out and in, with net-snmp's own tools on loopback: a trap
job received by snmptrapd (UPS-MIB upsTrapOnBattery, the device and the
event in its varbinds); informs acknowledged by snmptrapd, and an
unanswered one timed out and retried per the job's policy with each
attempt in the event log; SNMPv3 traps (ohm's engine id) and informs with
a user from the inventory's snmp_users, a wrong key failing without a
secret shown; `ohm serve --traps ADDR` receiving a CyberPower
BM100 probe alarm (603) sent with snmptrap v2c from the BM100's address,
mapped to the inventory device with that address, its event id, string
and battery index in ev.trap, and its rule run; a v1 system alarm (600)
too; SNMPv3 traps (the sender's engine id) and informs (acknowledged)
with users from the inventory's snmp_users, sent with snmptrap and
snmpinform, v2c informs acknowledged too, and a wrong key or an unknown user rejected and logged in
one line without a secret; garbage on the trap port ignored."""
import http.server
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.environ["OHM_TOP"], "tests"))
from lib import T, OHM, ohm, free_port, start, run, wait_port  # noqa: E402

TMP = os.environ.get("TMPDIR", "/tmp")
EVLOG = os.path.join(TMP, "events.jsonl")
posts = []
BM = "1.3.6.1.4.1.3808"


class Hook(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        n = int(self.headers.get("Content-Length", 0))
        posts.append(self.rfile.read(n).decode())
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *a):
        pass


def wait_for(cond, seconds=5):
    end = time.time() + seconds
    while time.time() < end and not cond():
        time.sleep(0.05)
    return cond()


def test_trap_out():
    port = free_port("udp")
    conf = os.path.join(TMP, "snmptrapd.conf")
    open(conf, "w").write("disableAuthorization yes\n")
    out = open(os.path.join(TMP, "trapd.out"), "w")
    start("/usr/sbin/snmptrapd", "-f", "-Lo", "-On", "-C", "-c", conf,
          "-M", "/nonexistent", "-m", "", f"udp:127.0.0.1:{port}",
          stdout=out, stderr=subprocess.STDOUT)
    wait_port(port, "udp", 10)
    rules = os.path.join(TMP, "out.lua")
    open(rules, "w").write(f'on("ups1", "ONBATT", trap{{to = "127.0.0.1:{port}",'
                           ' community = "public"})\n')
    r = ohm("rules", "test", "--events-log", EVLOG, rules, "ONBATT", "ups1")
    T.ok(r.returncode == 0 and "ups1 ONBATT: trap: ok" in r.stdout,
         "the trap job is sent", r.stdout + r.stderr)
    text = lambda: open(os.path.join(TMP, "trapd.out")).read()
    T.ok(wait_for(lambda: "ups1 ONBATT" in text()),
         "snmptrapd receives it", text())
    T.ok(".1.3.6.1.2.1.33.2.1" in text() and
         '.1.3.6.1.2.1.33.1.1.5.0 = STRING: "ups1"' in text(),
         "as UPS-MIB upsTrapOnBattery naming the device", text())


V3CONF = """createUser -e 0x8000000001020304 ohmv3 SHA authpass123 AES privpass123
createUser ohmv3 SHA authpass123 AES privpass123
createUser md5des MD5 authpass123 DES privpass123
disableAuthorization yes
"""


def v3_inventory(path, auth_pass):
    open(path, "w").write(
        'snmp_users = { ohmv3 = { auth = "SHA", auth_pass = "%s", priv = "AES",'
        ' priv_pass = "privpass123", engine_id = "0x8000000001020304" },\n'
        '  md5des = { auth = "MD5", auth_pass = "authpass123", priv = "DES",'
        ' priv_pass = "privpass123" } }\n' % auth_pass)


def test_inform_v3_out():
    port = free_port("udp")
    conf = os.path.join(TMP, "trapd3.conf")
    open(conf, "w").write(V3CONF)
    outf = os.path.join(TMP, "trapd3.out")
    env = dict(os.environ, SNMP_PERSISTENT_DIR=TMP)
    start("/usr/sbin/snmptrapd", "-f", "-Lo", "-On", "-C", "-c", conf,
          "-M", "/nonexistent", "-m", "", "-F", "%P|%v\n",
          f"udp:127.0.0.1:{port}", stdout=open(outf, "w"),
          stderr=subprocess.STDOUT, env=env)
    wait_port(port, "udp", 10)
    mute = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    mute.bind(("127.0.0.1", 0))  # receives informs, never acknowledges
    inv = os.path.join(TMP, "inv3.lua")
    v3_inventory(inv, "authpass123")
    rules = os.path.join(TMP, "v3.lua")
    to = f'to = "127.0.0.1:{port}"'
    open(rules, "w").write(f"""
on("ups1", "ONBATT",
   trap{{{to}, inform = true, timeout = 3, oid = ".1.3.6.1.4.1.99999.1"}},
   trap{{{to}, user = "ohmv3", oid = ".1.3.6.1.4.1.99999.2"}},
   trap{{{to}, user = "ohmv3", inform = true, timeout = 3,
        oid = ".1.3.6.1.4.1.99999.3"}},
   trap{{{to}, user = "md5des", inform = true, timeout = 3,
        oid = ".1.3.6.1.4.1.99999.4"}})
on("ups2", "ONBATT", trap{{to = "127.0.0.1:{mute.getsockname()[1]}",
   inform = true, timeout = 1, retries = 1, retry_delay = 0.2}})
""")
    log = os.path.join(TMP, "v3.jsonl")
    r = ohm("rules", "test", "--config", inv, "--events-log", log, rules,
            "ONBATT", "ups1", env={"SNMP_PERSISTENT_DIR": TMP})
    T.ok(r.returncode == 0 and r.stdout.count("trap: ok") == 4,
         "v2c inform, v3 trap and v3 informs: all ok", r.stdout + r.stderr)
    text = lambda: open(outf).read()
    wait_for(lambda: text().count("99999") >= 4)
    lines = text().splitlines()
    got = {l.split("OID: .1.3.6.1.4.1.99999.")[1][0]: l.split("|")[0]
           for l in lines if "OID: .1.3.6.1.4.1.99999." in l}
    T.ok(got.get("1", "").startswith("INFORM, SNMP v2c"),
         "snmptrapd acknowledges a v2c inform", lines)
    T.ok(got.get("2", "").startswith("TRAP2, SNMP v3, user ohmv3"),
         "a v3 trap from ohm's engine id passes snmptrapd's usm", lines)
    T.ok(got.get("3", "").startswith("INFORM, SNMP v3, user ohmv3"),
         "a v3 inform to snmptrapd's engine, acknowledged", lines)
    T.ok(got.get("4", "").startswith("INFORM, SNMP v3, user md5des"),
         "and one with MD5 and DES", lines)
    t0 = time.time()
    r = ohm("rules", "test", "--config", inv, "--events-log", log, rules,
            "ONBATT", "ups2")
    mute.settimeout(0.2)
    seen = 0
    try:
        while True:
            mute.recv(2048)
            seen += 1
    except OSError:
        pass
    ev = [json.loads(l) for l in open(log)]
    outs = [(e["outcome"], e["attempt"]) for e in ev
            if e["device"] == "ups2" and "outcome" in e]
    T.ok(r.returncode != 0 and outs == [("timeout", 1), ("timeout", 2)]
         and seen == 2 and time.time() - t0 < 10,
         "an unacknowledged inform: timed out and retried once, each "
         "attempt in the event log", (outs, seen, r.stdout))
    r = ohm("rules", "test", "--dry-run", "--config", inv, rules, "ONBATT",
            "ups1")
    T.ok("user=ohmv3" in r.stdout and "auth=SHA" in r.stdout and
         not re.search(r"pass=(?!\*\*\*)", r.stdout) and
         "authpass123" not in r.stdout and "privpass123" not in r.stdout,
         "--dry-run shows the v3 user, not its keys",
         r.stdout)
    crules = os.path.join(TMP, "community.lua")
    open(crules, "w").write('on("*", "ONBATT", trap{to = "127.0.0.1:9", '
                            'community = "s3cretComm"})\n')
    r = ohm("rules", "test", "--dry-run", crules, "ONBATT", "ups9")
    T.ok("community=***" in r.stdout and "s3cretComm" not in r.stdout,
         "--dry-run hides a trap's community", r.stdout)
    v3_inventory(inv, "wrongpass99")
    r = ohm("rules", "test", "--config", inv, "--events-log", log, rules,
            "ONBATT", "ups1", env={"SNMP_PERSISTENT_DIR": TMP})
    T.ok(r.returncode != 0 and "trap: failed (inform to" in r.stdout,
         "a v3 inform with a wrong key fails", r.stdout + r.stderr)
    every = r.stdout + r.stderr + open(log).read()
    T.ok("wrongpass99" not in every and "authpass123" not in every and
         "privpass123" not in every, "no passphrase in the output or the log")


def test_traps_in(hport):
    tport = free_port("udp")
    cfg = os.path.join(TMP, "inv.lua")
    open(cfg, "w").write('devices = { bm1 = { uri = "snmp://public@127.0.0.2:'
                         f'{free_port("udp")}", driver = "ups-mib",'
                         ' timeout = 0.2, retries = 0 } }\n')
    rules = os.path.join(TMP, "in.lua")
    open(rules, "w").write(f"""
on("bm1", "TRAP", log(), http{{url = "http://127.0.0.1:{hport}/t",
   method = "POST",
   body = "{{device}} {{trap:kind}} id={{trap:event_id}} "
          .. "string={{trap:string}} battery={{trap:battery}}"}})
on("127.0.0.1", "TRAP", log())
""")
    srv = start(OHM, "serve", "--config", cfg, "--rules", rules, "--traps",
                f"127.0.0.1:{tport}", "--events-log", EVLOG, "--interval",
                "60", "-q")
    T.ok(wait_port(tport, "udp", 10), "serve --traps listens")
    junk = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    junk.sendto(b"\x30\x03\x02\x01", ("127.0.0.1", tport))
    t0 = time.time()
    r = subprocess.run(
        ["snmptrap", "-v2c", "-c", "public", "--clientaddr=127.0.0.2",
         "-M", "/nonexistent", "-m", "", f"udp:127.0.0.1:{tport}", "",
         f"{BM}.0.603", f"{BM}.1.1.7.1.7.0", "s", "SN123",
         f"{BM}.1.1.7.5.3.1.3.7", "i", "2", f"{BM}.1.1.7.5.3.1.4.7", "i", "5",
         f"{BM}.2.2.6.0", "i", "101", f"{BM}.2.2.3.0", "s", "low voltage"],
        capture_output=True, text=True)
    T.eq(r.returncode, 0, "snmptrap sends a BM100 probe alarm")
    T.ok(wait_for(lambda: posts), "its rule runs", posts)
    T.ok(posts and posts[0] == "bm1 probe alarm id=101 string=2 battery=5"
         and time.time() - t0 < 3,
         "the trap maps to bm1 by its address, with event id and block",
         posts)
    ev = [json.loads(l) for l in open(EVLOG)]
    tr = [e for e in ev if e.get("event") == "TRAP" and "jobs" in e]
    T.ok(tr and tr[0]["device"] == "bm1" and tr[0]["trap"]["event_id"] == 101
         and tr[0]["trap"]["text"] == "low voltage"
         and tr[0]["trap"]["oid"] == f"{BM}.0.603"
         and tr[0]["trap"]["serial"] == "SN123",
         "the event log keeps the trap's fields", tr)
    r = subprocess.run(
        ["snmptrap", "-v1", "-c", "public", "-M", "/nonexistent", "-m", "",
         f"udp:127.0.0.1:{tport}", BM, "127.0.0.1", "6", "600", "",
         f"{BM}.2.2.6.0", "i", "1"], capture_output=True, text=True)
    T.eq(r.returncode, 0, "snmptrap sends a v1 system alarm")
    v1 = lambda: [json.loads(l) for l in open(EVLOG)
                  if '"device":"127.0.0.1"' in l and '"jobs"' in l]
    T.ok(wait_for(lambda: v1()), "a v1 trap from an unknown address is "
         "an event of that address")
    got = v1()
    T.ok(got and got[0]["trap"]["kind"] == "system alarm"
         and got[0]["trap"]["event_id"] == 1
         and got[0]["trap"]["oid"] == f"{BM}.0.600"
         and got[0]["trap"]["version"] == "1", "its fields (RFC 3584 OID)",
         got)
    srv.send_signal(signal.SIGTERM)
    T.eq(srv.wait(15), 0, "serve --traps stops cleanly")


def test_traps_v3_in(hport):
    tport = free_port("udp")
    cfg = os.path.join(TMP, "inv3in.lua")
    v3_inventory(cfg, "authpass123")
    with open(cfg, "a") as f:
        f.write('devices = { bm3 = { uri = "snmp://public@127.0.0.4:'
                f'{free_port("udp")}", driver = "ups-mib",'
                ' timeout = 0.2, retries = 0 } }\n')
    rules = os.path.join(TMP, "in3.lua")
    open(rules, "w").write(f"""
on("bm3", "TRAP", http{{url = "http://127.0.0.1:{hport}/v3", method = "POST",
   body = "{{device}} v{{trap:version}} {{trap:user}} id={{trap:event_id}}"}})
""")
    err = os.path.join(TMP, "serve3.err")
    log = os.path.join(TMP, "v3in.jsonl")
    env = dict(os.environ, SNMP_PERSISTENT_DIR=os.path.join(TMP, "ohm3"))
    srv = start(OHM, "serve", "--config", cfg, "--rules", rules, "--traps",
                f"127.0.0.1:{tport}", "--events-log", log, "--interval",
                "60", stderr=open(err, "w"), env=env)
    T.ok(wait_port(tport, "udp", 10), "serve --traps listens (v3)")
    cenv = dict(os.environ, SNMP_PERSISTENT_DIR=os.path.join(TMP, "cli3"))

    def send(tool, auth="authpass123", user="ohmv3", event_id="101",
             level="authPriv"):
        eng = ["-e", "0x8000000001020304"] if tool == "snmptrap" else []
        keys = {"noAuthNoPriv": [],
                "authNoPriv": ["-a", "SHA", "-A", auth]}.get(
            level, ["-a", "SHA", "-A", auth, "-x", "AES", "-X", "privpass123"])
        return subprocess.run(
            [tool, "-v3", *eng, "-u", user, "-l", level, *keys, "-t", "2", "-r",
             "0", "--clientaddr=127.0.0.4", "-M", "/nonexistent", "-m", "",
             f"udp:127.0.0.1:{tport}", "", f"{BM}.0.603", f"{BM}.2.2.6.0",
             "i", event_id], capture_output=True, text=True, env=cenv)
    mine = lambda: [b for b in posts if b.startswith("bm3 ")]
    T.eq(send("snmptrap").returncode, 0, "snmptrap sends a v3 trap")
    T.ok(wait_for(lambda: "bm3 v3 ohmv3 id=101" in mine()),
         "a v3 trap from the sender's engine id: accepted, its rule runs",
         mine())
    r = send("snmpinform", event_id="102")
    T.ok(r.returncode == 0, "a v3 inform is acknowledged", r.stderr)
    T.ok(wait_for(lambda: "bm3 v3 ohmv3 id=102" in mine()),
         "and becomes an event", mine())
    r = subprocess.run(
        ["snmpinform", "-v2c", "-c", "public", "-t", "2", "-r", "0",
         "--clientaddr=127.0.0.4", "-M", "/nonexistent", "-m", "",
         f"udp:127.0.0.1:{tport}", "", f"{BM}.0.603", f"{BM}.2.2.6.0", "i",
         "105"], capture_output=True, text=True, env=cenv)
    T.ok(r.returncode == 0, "a v2c inform is acknowledged", r.stderr)
    T.ok(wait_for(lambda: "bm3 v2c  id=105" in mine()),
         "and becomes an event too", mine())
    size = os.path.getsize(err)
    r = send("snmpinform", auth="wrongpass99", event_id="103")
    T.ok(r.returncode != 0, "a v3 inform with a wrong key: no "
         "acknowledgement", r.stderr)
    send("snmptrap", user="intruder", event_id="104")
    rejected = lambda: [l for l in open(err).read()[size:].splitlines()
                        if "traps:" in l]
    wait_for(lambda: len(rejected()) >= 2)
    time.sleep(0.5)  # and no more
    new = rejected()
    T.ok(len(new) == 2 and "user 'ohmv3', rejected (wrong digest" in new[0]
         and "user 'intruder', rejected (unknown user" in new[1],
         "a wrong key and an unknown user: one line each", new)
    every = open(err).read() + open(log).read()
    T.ok(not [b for b in mine() if "id=103" in b or "id=104" in b] and
         "wrongpass99" not in every and "authpass123" not in every and
         "privpass123" not in every, "no event from them, no secret logged")
    # a user with keys, named without them: net-snmp passes the name
    size = os.path.getsize(err)
    send("snmptrap", event_id="106", level="noAuthNoPriv")
    send("snmptrap", event_id="107", level="authNoPriv")
    r = send("snmpinform", event_id="108", level="noAuthNoPriv")
    T.ok(r.returncode != 0, "a v3 inform without authentication for a user "
         "with keys: no acknowledgement", r.stderr)
    wait_for(lambda: len(rejected()) >= 3)
    time.sleep(0.5)
    new = rejected()
    T.ok(len(new) == 3 and all("below the security level" in l for l in new)
         and not [b for b in mine() if "id=10" in b and b[-3:] in
                  ("106", "107", "108")],
         "traps and informs below the user's security level: rejected, "
         "one line each, no event", (new, mine()))
    srv.send_signal(signal.SIGTERM)
    T.eq(srv.wait(15), 0, "serve --traps stops cleanly (v3)")


def tlv(tag, body):
    n = len(body)
    head = bytes([n]) if n < 128 else bytes([0x82, n >> 8, n & 255])
    return bytes([tag]) + head + body


def ber_oid(text):
    p = [int(x) for x in text.split(".")]
    out = [40 * p[0] + p[1]]
    for x in p[2:]:
        enc = [x & 0x7f]
        while x > 0x7f:
            x >>= 7
            enc.insert(0, 0x80 | (x & 0x7f))
        out += enc
    return tlv(6, bytes(out))


def ber_int(v):
    return tlv(2, v.to_bytes(4, "big", signed=True))


def v2c_trap(n, trap_oid, event_id):
    """An SNMPv2c trap datagram, encoded here (a storm needs speed)."""
    vbs = [ber_oid("1.3.6.1.2.1.1.3.0") + tlv(0x43, bytes([n & 0x7f])),
           ber_oid("1.3.6.1.6.3.1.1.4.1.0") + ber_oid(trap_oid),
           ber_oid(f"{BM}.2.2.6.0") + ber_int(event_id)]
    pdu = tlv(0xa7, ber_int(n) + ber_int(0) + ber_int(0) +
              tlv(0x30, b"".join(tlv(0x30, v) for v in vbs)))
    return tlv(0x30, ber_int(1) + tlv(4, b"public") + pdu)


def test_trap_storm(hport):
    tport = free_port("udp")
    cfg = os.path.join(TMP, "inv2.lua")
    open(cfg, "w").write('devices = { bm2 = { uri = "snmp://public@127.0.0.3:'
                         f'{free_port("udp")}", driver = "ups-mib",'
                         ' timeout = 0.2, retries = 0 } }\n')
    rules = os.path.join(TMP, "storm.lua")
    open(rules, "w").write(f"""
on("bm2", "TRAP", http{{url = "http://127.0.0.1:{hport}/storm", method = "POST"}},
   {{limit = 5, per = 3}})
""")
    log = os.path.join(TMP, "storm.jsonl")
    srv = start(OHM, "serve", "--config", cfg, "--rules", rules, "--traps",
                f"127.0.0.1:{tport}", "--events-log", log, "--interval",
                "60", "-q")
    T.ok(wait_port(tport, "udp", 10), "serve --traps listens (storm)")
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
    s.bind(("127.0.0.3", 0))
    before = len(posts)
    for i in range(1000):  # a BM100 flapping between alarm and info
        s.sendto(v2c_trap(i, f"{BM}.0.{603 if i % 2 else 605}",
                          101 if i % 2 else 103), ("127.0.0.1", tport))
        if i % 100 == 99:
            time.sleep(0.01)  # let the receiver keep up (no UDP loss)
    time.sleep(4)  # past the rule's 3 s window: the summary is written
    sent = len(posts) - before
    ev = [json.loads(l) for l in open(log)]
    held = sum(e.get("count", 0) for e in ev if e["event"] == "SUPPRESSED")
    T.ok(sent == 5, f"1,000 trap events: 5 notifications ({sent})")
    T.ok(sent + held >= 990,
         f"the rest summed up in the log ({held} held back)", ev[-3:])
    srv.send_signal(signal.SIGTERM)
    T.eq(srv.wait(15), 0, "serve --traps stops cleanly after the storm")


def main():
    if not os.path.exists("/usr/sbin/snmptrapd") or not shutil.which("snmptrap"):
        T.ok(False, "snmptrapd and snmptrap installed (make deps)")
        return
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    test_trap_out()
    test_inform_v3_out()
    test_traps_in(srv.server_address[1])
    test_traps_v3_in(srv.server_address[1])
    test_trap_storm(srv.server_address[1])
    srv.shutdown()


run(main)
