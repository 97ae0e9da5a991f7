"""A hostile inventory (endless loops and errors in metamethods on _G and in
the devices, nut and console tables, memory bombs) ends every command with
one line on stderr and exit 1, within a bound; never a hang, a crash or an
abort; `ohm serve` refuses to start on it, drops a bad reload without
hanging, and SIGTERM still ends it in time. Peer: the in-process
simulator (sim:bps2000v2)."""
import os
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.environ["OHM_TOP"], "tests"))
from lib import T, OHM, free_port, wait_port, start, run  # noqa: E402

tmp = tempfile.mkdtemp()
DEV = 'devices = { pdu1 = "sim:bps2000v2" }\n'
LOOP = "function() while true do end end"
BOOM = 'function() error"boom" end'
BOMB = 'function() local s = "x" while true do s = s .. s end end'

# name -> (config text, commands expected to fail)
ALL = ["get", "poll", "list", "watch", "record", "serve"]
CASES = {
    "_G __index loops, no devices": (
        f"setmetatable(_G, {{__index = {LOOP}}})\n", ALL),
    "_G __index errors, no devices": (
        f"setmetatable(_G, {{__index = {BOOM}}})\n", ALL),
    "_G __index memory bomb": (
        f"setmetatable(_G, {{__index = {BOMB}}})\n", ALL),
    "memory bomb at load": (
        DEV + "local t = {} for i = 1, 1e9 do t[i] = ('x'):rep(64) .. i end\n",
        ALL),
    "endless loop at load": (DEV + "while true do end\n", ALL),
    "_G __index loops, serve --nut": (
        DEV + f"setmetatable(_G, {{__index = {LOOP}}})\n", ["serve"]),
    "nut table __index loops": (
        DEV + f"nut = setmetatable({{}}, {{__index = {LOOP}}})\n", ["serve"]),
    "nut.users entry __index errors": (
        DEV + f"nut = {{users = {{admin = setmetatable({{}}, "
        f"{{__index = {BOOM}}})}}}}\n", ["serve"]),
    "nut.users instcmds __index memory bomb": (
        DEV + f"nut = {{users = {{admin = {{password = 'p', instcmds = "
        f"setmetatable({{}}, {{__index = {BOMB}}})}}}}}}\n", ["serve"]),
}


def command(name, cfg, out):
    base = [OHM, name, "--config", cfg]
    if name == "get":
        return base + ["pdu1", "input.phases"]
    if name == "list":
        return base + ["pdu1"]
    if name == "watch":
        return base + ["--count", "1"]
    if name == "record":
        return base + ["--every", "1", "--count", "1", "--out", out]
    if name == "serve":
        return base + ["-q", "--nut", f"127.0.0.1:{free_port()}",
                       "--telnet", f"127.0.0.1:{free_port()}",
                       "--prometheus", f"127.0.0.1:{free_port()}"]
    return base


def one(case, text, cmds):
    cfg = os.path.join(tmp, "c.lua")
    with open(cfg, "w") as f:
        f.write(text)
    for name in cmds:
        t0 = time.time()
        try:
            r = subprocess.run(command(name, cfg, os.path.join(tmp, "rec")),
                               capture_output=True, text=True, timeout=30)
            rc, err = r.returncode, r.stderr
        except subprocess.TimeoutExpired as e:
            rc, err = "hang", (e.stderr or b"").decode(errors="replace")
        lines = err.strip().splitlines()
        T.ok(rc == 1 and len(lines) == 1 and lines[0].startswith("ohm: "),
             f"{case}: {name} ends in one line, exit 1",
             f"rc={rc} after {time.time() - t0:.1f}s: {err[-600:]}")


def serve_reload_and_term():
    cfg = os.path.join(tmp, "r.lua")
    with open(cfg, "w") as f:
        f.write(DEV)
    port = free_port()
    srv = start(OHM, "serve", "--config", cfg, "--nut", f"127.0.0.1:{port}",
                stderr=subprocess.PIPE)
    T.ok(wait_port(port), "serve starts on a good inventory")
    with open(cfg, "w") as f:
        f.write(DEV + f"nut = setmetatable({{}}, {{__index = {LOOP}}})\n")
    srv.send_signal(signal.SIGHUP)
    time.sleep(3)
    T.ok(srv.poll() is None, "a hostile reload does not end serve")
    t0 = time.time()
    srv.terminate()
    try:
        rc = srv.wait(10)
    except subprocess.TimeoutExpired:
        rc = "hang"
    err = srv.stderr.read().decode(errors="replace")
    T.ok(rc in (0, -15) and time.time() - t0 < 10,
         "SIGTERM ends serve after a hostile reload, in time",
         f"rc={rc}: {err[-600:]}")
    T.ok("runs too long" in err, "the bad reload is logged", err[-600:])


def main():
    for case, (text, cmds) in CASES.items():
        one(case, text, cmds)
    serve_reload_and_term()


run(main)
