"""`ohm serve --telnet` backed by ohm's simulator, checked by an independent
client (tests/telnet_client.py: plain sockets, its own IAC parser): the
manual's lines byte for byte (section 9), roles, failed logins, idle
timeout, garbage, option floods, concurrent and half-closed sessions."""
import os
import random
import re
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.environ["OHM_TOP"], "tests"))
from lib import T, OHM, ohm, free_port, wait_port  # noqa: E402
from telnet_client import Client, Closed, login  # noqa: E402

PROMPT = b"Please enter the command:"
MENU = (b"Command:\r\n1.Show information\r\n2.Set time and date\r\n3.Users\r\n"
        b"4.Network Settings\r\n5.SNMP service\r\n6.HTTP Settings\r\n"
        b"7.SMTP Settings\r\n8.Threshold Settings\r\n9.Clear energy Phase\r\n"
        b"10.Restart\r\n11.Logout\r\n\r\n" + PROMPT)
SCREEN1 = (b"Command:1.Load 2.Voltage 3.ActivePower 4.ApparentPower "
           b"5.ReactivePower 6.Frequency 7.PF 8.Total Energy 9.Sensor "
           b"10.Back\r\nCommand format:master load or slave1 load\r\n" + PROMPT)
VENDOR = b"BKT ELEKTRONIK 69 Lochowska Str., 86-005 Biale Blota, www.bkte.pl"

tmp = tempfile.mkdtemp()
procs = []


def serve(devices, extra=(), accounts=True, config=None):
    port = free_port()
    pw = os.path.join(tmp, "pw")
    with open(pw, "w") as f:
        f.write("s3cret\n")
    args = [OHM, "serve", "--telnet", f"127.0.0.1:{port}", "--interval", "0.3"]
    if config:
        args += ["--config", config]
    if accounts:
        args += ["--user", "bkt", "--password-file", pw]
    err = open(os.path.join(tmp, f"serve{port}.err"), "w+")
    p = subprocess.Popen(args + list(extra) + list(devices), stderr=err,
                         stdout=subprocess.DEVNULL)
    p.errfile = err
    procs.append(p)
    if not wait_port(port, seconds=10):
        err.seek(0)
        raise SystemExit("serve did not start: " + err.read())
    return p, port


def stderr_of(p):
    p.errfile.flush()
    p.errfile.seek(0)
    return p.errfile.read()


def ask(c, line, seconds=5.0):
    c.line(line)
    return c.until(PROMPT, seconds)


def ask_live(c, line, seconds=10.0):
    """Ask until the answer is not an error (the cache's first read)."""
    end = time.time() + seconds
    while True:
        r = ask(c, line)
        if b"Error" not in r or time.time() > end:
            return r
        time.sleep(0.2)


def test_screens(port):
    c = Client(port)
    banner = c.until(b"Telnet Account:")
    T.ok(re.search(rb"^Last Update Time : \d{4}-\d\d-\d\d\r\nVersion : "
                   rb"[0-9.]+\r\nDate:\d{4}-\d\d-\d\d Time:\d\d:\d\d:\d\d\r\n"
                   rb"Up time : \d+Days \d+Hours \d+Minute\r\n" +
                   re.escape(VENDOR) + rb"\r\n\r\nTelnet Account:$", banner),
         "banner as in the manual", banner)
    T.ok((WILL_ECHO := (251, 1)) in c.opts, "server offers WILL ECHO")
    c.line("bkt")
    T.eq(c.until(b"Password:"), b"bkt\r\nPassword:", "account echoed")
    c.s.sendall(b"x\x7f")  # typed and erased: no echo, no "\\b \\b" either
    c.line("s3cret")
    T.eq(c.until(PROMPT), b"\r\n" + MENU,
         "password not echoed (not even as *), then the menu")
    T.eq(ask(c, "1"), b"1\r\n" + SCREEN1, "screen 1 verbatim")
    r = ask_live(c, "master load")
    T.ok(re.fullmatch(rb"master load\r\nLoad Phase1:\d+\.\d\dA "
                      rb"Phase2:\d+\.\d\dA Phase3:\d+\.\d\dA\r\n\r\n" + PROMPT,
                      r), "master load line", r)
    r = ask(c, "master voltage")
    T.ok(re.search(rb"\r\nVoltage Phase1:\d+\.\dV Phase2:\d+\.\dV "
                   rb"Phase3:\d+\.\dV\r\n\r\n", r), "voltage line", r)
    r = ask(c, "slave1 load")
    T.ok(b"Error: slave1: no such unit" in r, "unknown slave: error line", r)
    T.eq(ask(c, "10"), b"10\r\n" + MENU, "10 goes back")
    r = ask(c, "2")
    T.ok(re.fullmatch(rb"2\r\nSystem clock: Date: \d{4}-\d\d-\d\d Time: "
                      rb"\d\d:\d\d:\d\d\r\nCommand:1.Set Date/Time 2.Back\r\n"
                      rb"Command format:date yyyy-mm-dd,time hh:mm:ss\r\n\r\n"
                      + PROMPT, r), "screen 2", r)
    ask(c, "2")
    T.eq(ask(c, "3"), b"3\r\nUsers:bkt\r\nCommand:1.Change password 2.Back"
         b"\r\nCommand format: old:xxxxxx&new:xxxxxx&confirm:xxxxxx&\r\n\r\n"
         + PROMPT, "screen 3")
    ask(c, "2")
    r = ask(c, "6")
    T.ok(r.endswith(b"Command:1.Set port 2.Back\r\nCommand format: port:xx"
                    b"\r\n\r\n" + PROMPT), "screen 6", r)
    ask(c, "2")
    r = ask(c, "8")
    T.ok(r.startswith(b"8\r\nThreshold Settings\r\n") and
         re.search(rb"\r\nPhase 1 Current \[A\]: High Alarm:\d+\.\dA High "
                   rb"Warning:\d+\.\dA Low Warning:\d+\.\dA Low Alarm:\d+\.\dA"
                   rb"\r\n", r) and
         re.search(rb"\r\nHumidity \[%\]: High Alarm:\d+% High Warning:\d+% "
                   rb"Low Warning:\d+% Low Alarm:\d+%\r\n", r) and
         r.endswith(b"Command:1.Set Current 2.Set Voltage 3.Set Temperature"
                    b" 4.Set Humidity 5.Back\r\nCommand format: current one:"
                    b"xx&xx&xx&xx\r\n" + PROMPT), "screen 8 layout", r)
    r = ask(c, "current one:20&12&1&0")
    T.ok(b"Set successfully\r\nHigh Warning, Low Warning kept by ohm" in r,
         "alarm limits written, warnings kept by ohm", r)
    time.sleep(0.8)
    r = ask(c, "master")
    T.ok(b"Phase 1 Current [A]: High Alarm:20.0A High Warning:12.0A Low "
         b"Warning:1.0A Low Alarm:0.0A\r\n" in r, "thresholds read back", r)
    ask(c, "5")
    r = ask(c, "9")
    T.ok(re.fullmatch(rb"9\r\nClear energy Phase\r\nPhase1 energy:\d+\r\n"
                      rb"Phase2 energy:\d+\r\nPhase3 energy:\d+\r\nCommand:"
                      rb"1.Clear energy 2.Back\r\nCommand format: clearp1\r\n"
                      + PROMPT, r), "screen 9", r)
    ask(c, "2")
    T.eq(ask(c, "10"), b"10\r\nRestart\r\n1.Restart\r\n2.Restart to factory "
         b"default\r\n3.Back\r\nCommand format: 1or2\r\n" + PROMPT,
         "screen 10")
    c.line("1")
    T.ok(c.until(b"(y/n):").endswith(b"Restart the unit? (y/n):"),
         "restart asks to confirm")
    T.ok(b"Cancelled" in ask(c, "n"), "restart cancelled")
    ask(c, "3")
    r = ask(c, "x" * 300)
    T.ok(b"Command too long" in r, "long line refused", r)
    T.ok(b"Invalid command" in ask(c, "42"), "unknown command")
    c.line("11")
    T.ok(c.wait_closed(), "11 logs out")


def test_roles(port):
    c = login(port, "viewer", "v1ew")
    T.ok(b"Permission denied" in ask(c, "8"), "user1: screen 8 denied")
    T.ok(b"Permission denied" in ask(c, "10"), "user1: restart denied")
    T.eq(ask(c, "1"), b"1\r\n" + SCREEN1, "user1: show information")
    c.close()
    c = login(port, "logs", "l0gs")
    T.ok(b"Permission denied" in ask(c, "9"), "user2: clear energy denied")
    c.close()
    c = login(port, "root", "r00t")
    T.ok(b"Threshold Settings" in ask(c, "8"), "administrator: screen 8")
    c.close()


def test_failed_logins(p, port):
    c = Client(port)
    t0 = time.time()
    for i in range(3):
        c.until(b"Telnet Account:")
        c.line("bkt")
        c.until(b"Password:")
        c.line("wrong%d" % i)
    T.ok(c.wait_closed(), "closed after 3 failed logins")
    # a lower bound, not a speed target: each wrong password costs a second
    T.ok(time.time() - t0 >= 2.9, "each failed login is delayed (FAIL_DELAY)",
         time.time() - t0)
    T.ok(b"Login failed" in c.text, "says login failed")
    time.sleep(0.2)
    T.ok("3 failed logins" in stderr_of(p) and "wrong" not in stderr_of(p),
         "failed logins logged, no password", stderr_of(p))


def test_robust(p, port):
    # binary garbage
    g = Client(port)
    rnd = random.Random(4)
    g.send(bytes(rnd.randrange(256) for _ in range(20000)))
    # option flood and an unterminated subnegotiation
    f = Client(port)
    flood = b"".join(bytes([255, rnd.choice([251, 252, 253, 254]),
                            rnd.randrange(256)]) for _ in range(20000))
    f.send(flood + b"\xff\xfa\x18" + b"A" * 5000)
    # half-closed
    h = Client(port)
    h.s.shutdown(socket.SHUT_WR)
    c = login(port, "bkt", "s3cret")
    ask(c, "1")
    r = ask_live(c, "master load")
    T.ok(b"Load Phase1:" in r, "a session works beside garbage and floods")
    T.ok(h.wait_closed(), "half-closed connection closed by the server")
    T.ok(p.poll() is None, "server still running")
    for x in (g, f, h, c):
        x.close()


def test_limits(p, port):
    a = login(port, "bkt", "s3cret")
    b = login(port, "bkt", "s3cret")
    c = Client(port)
    c.read(1.0)
    T.ok(b"Too many sessions" in c.text and c.wait_closed(),
         "third session refused", c.text)
    a.close()
    time.sleep(0.3)
    T.ok(b"Load Phase1:" in (ask(b, "1") + ask_live(b, "master load")),
         "other session unaffected")
    b.close()
    i = Client(port)
    i.until(b"Telnet Account:")
    t0 = time.time()
    T.ok(i.wait_closed(6) and b"Idle timeout" in i.text,
         "idle session closed", i.text)
    T.ok(time.time() - t0 < 5, "closed by the idle timeout (1 s)")


def energy_l1(mport):
    """input.L1.energy read by a separate ohm over the simulator's Modbus."""
    r = ohm("get", "-d", "bps2000v2", f"modbus-tcp://127.0.0.1:{mport}",
            "input.L1.energy")
    m = re.match(r"input\.L1\.energy: ([0-9.]+)\n$", r.stdout)
    return float(m.group(1)) if m else None


def test_sim():
    """ohm sim bps2000v2 --telnet: the console in front of the simulator,
    the same simulator Modbus clients see (screen 9 clears its energy)."""
    port, mport = free_port(), free_port()
    env = dict(os.environ, OHM_CONSOLE_USER="op", OHM_PASSWORD="0p0p")
    p = subprocess.Popen([OHM, "sim", "bps2000v2", "--telnet",
                          f"127.0.0.1:{port}", "--modbus-tcp",
                          f"127.0.0.1:{mport}"], env=env,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    procs.append(p)
    p.errfile = open(os.devnull, "w+")
    try:
        T.ok(wait_port(port), "sim --telnet listens")
        c = login(port, "op", "0p0p")
        ask(c, "1")
        r = ask_live(c, "master load")
        T.ok(re.search(rb"\r\nLoad Phase1:\d+\.\d\dA Phase2:\d+\.\d\dA "
                       rb"Phase3:\d+\.\d\dA\r\n", r),
             "sim --telnet: master load", r)
        before = energy_l1(mport)
        T.ok(before is not None and before > 0,
             "sim --telnet: L1 energy over Modbus before", before)
        ask(c, "10")  # screen 1's Back
        ask(c, "9")
        r = ask(c, "clearp1")
        T.ok(b"Phase1 energy cleared" in r, "sim --telnet: clearp1", r)
        T.eq(energy_l1(mport), 0.0,
             "sim --telnet: clearp1 clears the energy Modbus clients see")
        c.close()
    except Closed as e:
        T.ok(False, "sim console conversation", str(e))


def main():
    p, port = serve(["sim:bps2000v2"])
    try:
        test_screens(port)
        test_failed_logins(p, port)
        test_robust(p, port)
    except Closed as e:
        T.ok(False, "console conversation", str(e))
    cfg = os.path.join(tmp, "config.lua")
    with open(cfg, "w") as f:
        f.write('console = { accounts = {\n'
                ' { user = "viewer", password = "v1ew", role = "user1" },\n'
                ' { user = "logs", password = "l0gs", role = "user2" },\n'
                ' root = { password = "r00t", role = "administrator" } } }\n')
    p2, port2 = serve(["sim:bps2000v2"], accounts=False, config=cfg)
    try:
        test_roles(port2)
    except Closed as e:
        T.ok(False, "roles conversation", str(e))
    p3, port3 = serve(["sim:bps2000v2"],
                      ["--idle-timeout", "1", "--max-sessions", "2"])
    try:
        test_limits(p3, port3)
    except Closed as e:
        T.ok(False, "limits conversation", str(e))
    test_sim()
    r = subprocess.run([OHM, "serve", "--telnet", f"127.0.0.1:{free_port()}",
                        "sim:bps2000v2"], capture_output=True, text=True,
                       timeout=20)
    T.ok(r.returncode != 0 and "no console account" in r.stderr,
         "no account: refuses to start", r.stderr)
    for opt, bad in (("--idle-timeout", "abc"), ("--idle-timeout", "-5"),
                     ("--max-sessions", "2.5"), ("--max-sessions", "0")):
        r = subprocess.run([OHM, "serve", "--telnet",
                            f"127.0.0.1:{free_port()}", "--user", "a",
                            opt, bad, "sim:bps2000v2"],
                           capture_output=True, text=True, timeout=20)
        T.ok(r.returncode == 2 and bad in r.stderr,
             f"{opt} {bad}: usage error naming the value", r.stderr)


try:
    main()
finally:
    for x in procs:
        x.terminate()
        try:
            x.wait(10)
        except subprocess.TimeoutExpired:
            x.kill()
    T.ok(all(x.returncode in (0, -15) for x in procs),
         "servers stop cleanly", [x.returncode for x in procs])
T.done()
