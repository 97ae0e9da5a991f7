"""`ohm sim bps2000v2 --telnet ADDR` and `ohm serve --telnet` as an
operator meets them, checked with an independent client
(tests/telnet_client.py): the sim takes the console's own options and
checks its accounts before anything listens."""
import os
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.environ["OHM_TOP"], "tests"))
from lib import T, OHM, ohm, free_port, wait_port, run, procs  # noqa: E402
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


def main():
    test_sim_accounts()


run(main)
