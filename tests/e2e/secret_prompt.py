"""A missing password is asked on the terminal, without echo, and used:
`ohm get` of telnet://USER@HOST (no password in the URI, the inventory or
OHM_PASSWORD) on a pty prompts "Password for telnet://bkt@...: ", logs in
to the independent console emulator with the answer and never shows it;
`ohm poll` over two such devices asks once. Without a terminal nothing
is asked: one line says where the password may come from."""
import os
import pty
import re
import select
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.environ["OHM_TOP"], "tests"))
from lib import (  # noqa: E402
    T, OHM, ohm, free_port, start_listening, run)

TOP = os.environ["OHM_TOP"]
PY = os.environ.get("PYTHON", "/usr/bin/python3")
PW = "Pr0mpted7"


def on_pty(args, env, prompt, answer, seconds=30):
    """Run ohm on a new pty; answer each prompt (a regex) with answer.
    Returns (everything the terminal showed, exit status, prompts seen)."""
    pid, fd = pty.fork()
    if pid == 0:
        os.execve(OHM, [OHM, *args], env)
    out, seen, end = "", 0, time.time() + seconds
    while time.time() < end:
        if not select.select([fd], [], [], 0.5)[0]:
            continue
        try:
            b = os.read(fd, 4096)
        except OSError:
            break
        if not b:
            break
        out += b.decode(errors="replace")
        if len(re.findall(prompt, out)) > seen:
            seen += 1
            os.write(fd, answer.encode() + b"\n")
    _, st = os.waitpid(pid, 0)
    os.close(fd)
    return out, os.waitstatus_to_exitcode(st), seen


def main():
    port = free_port()
    start_listening([PY, os.path.join(TOP, "tests", "console_emulator.py"),
                     str(port), "--user", "bkt", "--password", PW,
                     "--mode", "manual"], port)
    uri = f"telnet://bkt@127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if k != "OHM_PASSWORD"}
    env["OHM_CONFIG"] = os.path.join(tempfile.mkdtemp(), "none.lua")
    out, rc, seen = on_pty(["get", "-d", "bps2000v2", uri,
                            "input.L1.current"], env,
                           r"Password for telnet://bkt@127\.0\.0\.1:\d+: ", PW)
    T.ok(seen == 1, "get on a terminal asks for the missing password", out)
    T.ok(rc == 0 and "input.L1.current: 12.34" in out,
         "the answer logs in", out)
    T.ok(PW not in out, "the answer is not echoed", out)
    out, rc, seen = on_pty(["poll", "-d", "bps2000v2", uri, uri + "/"], env,
                           r"Password for ", PW)
    T.ok(rc == 0 and seen == 1 and out.count("12.34") == 2 and PW not in out,
         "poll asks once for two devices", out)

    r = ohm("get", "-d", "bps2000v2", uri, env={"OHM_PASSWORD": ""})
    T.ok(r.returncode == 1 and r.stderr.count("\n") == 1 and
         "OHM_PASSWORD" in r.stderr and "Password for" not in r.stderr,
         "no terminal: one line, no prompt", r.stderr)


run(main)
