"""`ohm sim bps2000v2 --telnet ADDR` and `ohm serve --telnet` as an
operator meets them, checked with an independent client
(tests/telnet_client.py): the sim takes the console's own options and
checks its accounts before anything listens; thresholds are refused out of
order on the command line and on the console, and the console's own
defaults keep that order."""
import re
import os
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.environ["OHM_TOP"], "tests"))
from lib import (  # noqa: E402
    T, OHM, PY, TOP, ohm, free_port, wait_port, run, procs, start_listening)
from telnet_client import Client  # noqa: E402

PROMPT = b"Please enter the command:"
tmp = tempfile.mkdtemp()
NOENV = {"OHM_CONSOLE_USER": "", "OHM_PASSWORD": ""}


def pwfile(name, text):
    p = os.path.join(tmp, name)
    with open(p, "w") as f:
        f.write(text + "\n")
    return p


def listening(port):
    try:
        socket.create_connection(("127.0.0.1", port), 0.3).close()
        return True
    except OSError:
        return False


def start(args, port, env=None):
    err = open(os.path.join(tmp, f"ohm{port}.err"), "w+")
    e = dict(os.environ)
    e.update(env or NOENV)
    p = subprocess.Popen([OHM] + args, stderr=err, stdout=subprocess.DEVNULL,
                         env=e)
    p.errfile = err
    procs.append(p)
    if not wait_port(port, seconds=10):
        err.seek(0)
        raise SystemExit("ohm did not start: " + err.read())
    return p


def log_of(p):
    p.errfile.flush()
    p.errfile.seek(0)
    return p.errfile.read()


def stop(p):
    """SIGTERM: ohm stops cleanly (exit 0, so ASan found no leak)."""
    p.terminate()
    p.wait(10)
    T.ok(p.returncode in (0, -15), f"{' '.join(p.args[1:3])} stops cleanly "
         "on SIGTERM", (p.returncode, log_of(p)[-500:]))


def login(port, user, pw):
    c = Client(port)
    c.until(b"Telnet Account:")
    c.line(user)
    c.until(b"Password:")
    c.line(pw)
    return c, c.until(PROMPT)


def test_sim_accounts():
    mb, tn = free_port(), free_port()
    # no account anywhere: refused before the Modbus side is announced
    r = ohm("sim", "bps2000v2", "--modbus-tcp", f"127.0.0.1:{mb}",
            "--telnet", f"127.0.0.1:{tn}", timeout=10, env=NOENV)
    T.ok(r.returncode != 0 and "no console account" in r.stderr,
         "sim --telnet without an account: error, non-zero exit", r.stderr)
    T.ok("listening" not in r.stderr,
         "nothing announced before the accounts are checked", r.stderr)
    r = ohm("sim", "bps2000v2", "--telnet", f"127.0.0.1:{tn}", "--user",
            "bkt", timeout=10, env=NOENV)
    T.ok(r.returncode == 2 and "--user and --password-file go together"
         in r.stderr and "listening" not in r.stderr,
         "--user without --password-file: usage error before listening",
         r.stderr)
    r = ohm("sim", "bps2000v2", "--user", "bkt", timeout=10, env=NOENV)
    T.ok(r.returncode == 2 and "go with --telnet" in r.stderr,
         "--user without --telnet: usage error", r.stderr)
    pw = pwfile("simpw", "s3cret")
    p = start(["sim", "bps2000v2", "--modbus-tcp", f"127.0.0.1:{mb}",
               "--telnet", f"127.0.0.1:{tn}", "--user", "bkt",
               "--password-file", pw, "--idle-timeout", "30"], tn)
    c, menu = login(tn, "bkt", "s3cret")
    T.ok(menu.endswith(b"11.Logout\r\n\r\n" + PROMPT),
         "sim --telnet --user --password-file: the account logs in", menu)
    c.line("11")
    T.ok(listening(mb), "and the Modbus side listens as asked")
    stop(p)


def ask(c, line, seconds=5.0):
    c.line(line)
    return c.until(PROMPT, seconds)


def rows8(text):
    """Screen 8's rows: title -> [high alarm, high warning, low warning,
    low alarm]."""
    rows = {}
    for m in re.finditer(rb"^(.*?) \[.*?\]: High Alarm:([-\d.]+)\D* High "
                         rb"Warning:([-\d.]+)\D* Low Warning:([-\d.]+)\D* "
                         rb"Low Alarm:([-\d.]+)", text, re.M):
        rows[m.group(1).decode()] = [float(m.group(i)) for i in range(2, 6)]
    return rows


def test_set_order():
    sim = "sim:bps2000v2"
    r = ohm("set", sim, "input.L1-N.voltage.high.critical=200")
    T.ok(r.returncode == 1 and "input.L1-N.voltage.high.critical 200 V would"
         " be below input.L1-N.voltage.low.critical 207 V" in r.stderr and
         "--force" in r.stderr,
         "set: a high alarm below the low alarm is refused with the reason",
         r.stderr)
    r = ohm("set", "--force", sim, "input.L1-N.voltage.high.critical=200")
    T.eq((r.returncode, r.stderr), (0, ""), "set --force writes it anyway")
    r = ohm("set", sim, "input.L1.current.low.critical=10",
            "input.L1.current.high.critical=5")
    T.ok(r.returncode == 1 and "would be" in r.stderr,
         "set: two assignments out of order with each other are refused",
         r.stderr)
    r = ohm("set", sim, "input.L1.current.low.critical=10",
            "input.L1.current.high.critical=12")
    T.eq((r.returncode, r.stderr), (0, ""),
         "set: assignments in order together are written")
    # a warning beyond its alarm, over an independent console
    port = free_port()
    start_listening([PY, os.path.join(TOP, "tests", "console_emulator.py"),
                     str(port), "--user", "bkt", "--password", "pa55"], port)
    uri = f"telnet://bkt:pa55@127.0.0.1:{port}"
    r = ohm("set", "-d", "bps2000v2", uri, "input.L1.current.high.warning=40")
    T.ok(r.returncode == 1 and "input.L1.current.high.warning 40 A would be "
         "above input.L1.current.high.critical 32 A" in r.stderr,
         "set: a warning beyond its alarm is refused (telnet://)", r.stderr)
    r = ohm("set", "-d", "bps2000v2", uri, "input.L1.current.high.warning=20")
    T.eq(r.returncode, 0, "set: a warning inside its alarms is written")


def test_console_thresholds():
    tn = free_port()
    pw = pwfile("thpw", "s3cret")
    p = start(["sim", "bps2000v2", "--telnet", f"127.0.0.1:{tn}",
               "--user", "bkt", "--password-file", pw], tn)
    c, _ = login(tn, "bkt", "s3cret")
    end = time.time() + 10
    while True:
        rows = rows8(ask(c, "8"))
        if len(rows) == 8 or time.time() > end:
            break
        ask(c, "5")
        time.sleep(0.3)
    bad = {k: v for k, v in rows.items()
           if not (v[3] <= v[2] <= v[1] <= v[0])}
    T.ok(len(rows) == 8 and not bad,
         "console defaults: low alarm <= low warning <= high warning <= "
         "high alarm on every row", bad or rows)
    r = ask(c, "voltage one:200&250&220&207")
    T.ok(b"Error: " in r and b"would be" in r and b"nothing written" in r,
         "console: a row out of order is refused with the reason", r)
    r = ask(c, "voltage one:260&250&220&200")
    T.ok(b"Set successfully" in r, "console: a row in order is written", r)
    c.line("5")
    c.line("11")
    stop(p)


def test_console_log():
    """`ohm serve --telnet` over a Modbus unit (a separate `ohm sim`): a
    row write logs no false failures for the warnings Modbus has no place
    for, every line has a time and the console's lines the account; an
    energy reset tells the console user why it cannot be done."""
    mb, tn = free_port(), free_port()
    start_listening([OHM, "sim", "bps2000v2", "--modbus-tcp",
                     f"127.0.0.1:{mb}", "-q"], mb)
    pw = pwfile("logpw", "s3cret")
    p = start(["serve", "--telnet", f"127.0.0.1:{tn}", "--interval", "0.5",
               "--user", "bkt", "--password-file", pw, "-d", "bps2000v2",
               f"modbus-tcp://127.0.0.1:{mb}"], tn)
    c, _ = login(tn, "bkt", "s3cret")
    ask(c, "8")
    end = time.time() + 10
    while True:
        r = ask(c, "current one:20&15&1&0")
        if b"Error" not in r or time.time() > end:
            break
        time.sleep(0.3)
    T.ok(b"Set successfully" in r and b"kept by ohm" in r,
         "console row write: alarms written, warnings kept", r)
    ask(c, "5")
    ask(c, "9")
    r = ask(c, "clearp1")
    T.ok(b"use the telnet console" not in r and b"Error: reset.energy.L1 "
         b"cannot be done here" in r and b"over modbus-tcp" in r,
         "energy reset over Modbus: the console says why, not 'use the "
         "telnet console'", r)
    c.line("2")
    c.until(PROMPT)
    c.line("11")
    time.sleep(0.3)
    log = log_of(p)
    T.ok("warning failed" not in log and "not available" not in log,
         "no false failures logged for the kept warnings", log)
    T.ok(re.search(r"telnet: bkt from 127\.0\.0\.1:\d+: master: current "
                   r"one:20&15&1&0: done", log) and
         re.search(r"telnet: bkt from 127\.0\.0\.1:\d+: logged in", log),
         "console lines name the account and its address", log)
    lines = [l for l in log.splitlines() if l.startswith("ohm: serve:")]
    T.ok(lines and all(re.match(r"ohm: serve: \d{4}-\d\d-\d\d "
                                r"\d\d:\d\d:\d\d ", l) for l in lines),
         "every log line has a date and time", log)
    stop(p)


def test_sigterm_quiet():
    """SIGTERM while a device's read is in flight: stopping is not the
    device failing, so nothing is logged as failed."""
    mb, nut = free_port(), free_port()
    start_listening([OHM, "sim", "bps2000v2", "--modbus-tcp",
                     f"127.0.0.1:{mb}", "-q"], mb)
    mute = socket.socket()  # accepts connections (backlog), never answers
    mute.bind(("127.0.0.1", 0))
    mute.listen(8)
    p = start(["serve", "--nut", f"127.0.0.1:{nut}", "--interval", "0.2",
               "--timeout", "3", "-d", "bps2000v2",
               f"modbus-tcp://127.0.0.1:{mb}",
               f"modbus-tcp://127.0.0.1:{mute.getsockname()[1]}"], nut)
    end = time.time() + 10
    while ": ok" not in log_of(p) and time.time() < end:
        time.sleep(0.1)
    time.sleep(0.5)
    stop(p)
    log = log_of(p)
    T.ok("SIGTERM: stopping" in log and "failed" not in log,
         "SIGTERM logs no device as failed", log)
    mute.close()


def write_accounts(path, accounts):
    with open(path, "w") as f:
        f.write('devices = { pdu = { uri = "sim:bps2000v2" } }\n'
                "console = { accounts = {\n")
        for user, pw in accounts:
            f.write(f'  {{ user = "{user}", password = "{pw}", '
                    f'role = "administrator" }},\n')
        f.write("} }\n")


def test_sighup_accounts(what):
    """SIGHUP re-reads the console accounts: a removed account's session
    ends and it can no longer log in; a new one can; the others stay."""
    tn = free_port()
    inv = os.path.join(tmp, what + "-accounts.lua")
    write_accounts(inv, [("alice", "a1ice"), ("bob", "b0b")])
    env = dict(NOENV, OHM_CONFIG=inv)
    if what == "serve":
        p = start(["serve", "--telnet", f"127.0.0.1:{tn}"], tn, env)
    else:
        p = start(["sim", "bps2000v2", "--telnet", f"127.0.0.1:{tn}"], tn,
                  env)
    bob, menu = login(tn, "bob", "b0b")
    alice, _ = login(tn, "alice", "a1ice")
    T.ok(menu.endswith(PROMPT), f"{what}: bob logs in before the reload", menu)
    write_accounts(inv, [("alice", "a1ice"), ("carol", "c4rol")])
    p.send_signal(1)  # SIGHUP
    end = time.time() + 10
    while "reloaded" not in log_of(p) and time.time() < end:
        time.sleep(0.1)
    T.ok(bob.wait_closed(5), f"{what}: the removed account's session is ended",
         log_of(p))
    c = Client(tn)
    c.until(b"Telnet Account:")
    c.line("bob")
    c.until(b"Password:")
    c.line("b0b")
    r = c.until(b"Telnet Account:")
    T.ok(b"Login failed" in r, f"{what}: the removed account can no longer log in", r)
    c.close()
    c, r = login(tn, "carol", "c4rol")
    T.ok(r.endswith(b"11.Logout\r\n\r\n" + PROMPT),
         f"{what}: an added account logs in after the reload", r)
    c.close()
    alice.line("1")
    T.ok(alice.until(PROMPT).endswith(b"10.Back\r\nCommand format:master load"
                                      b" or slave1 load\r\n" + PROMPT),
         f"{what}: a kept account's session goes on")
    T.ok("account removed, session ended" in log_of(p),
         f"{what}: the ended session is logged", log_of(p))
    stop(p)


def main():
    test_sim_accounts()
    test_set_order()
    test_console_thresholds()
    test_console_log()
    test_sigterm_quiet()
    test_sighup_accounts("serve")
    test_sighup_accounts("sim")


run(main)
