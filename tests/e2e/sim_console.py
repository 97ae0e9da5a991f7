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
    p.terminate()
    p.wait(10)


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
    p.terminate()
    p.wait(10)


def main():
    test_sim_accounts()
    test_set_order()
    test_console_thresholds()


run(main)
