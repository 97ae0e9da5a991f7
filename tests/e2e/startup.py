"""Start-up and the one-shot read (issue 17): the built-in maps are C
tables compiled at build time, and each reads as its map file loaded at
run time as a user map (the same loader); `ohm get` of a numeric host
makes no name lookup (no netlink interface dump, no nscd), and a reply is
one poll and one recv, seen by strace.
Peer: tests/modbus_peer.py (python3-pymodbus)."""
import os, shutil, subprocess, sys, tempfile
sys.path.insert(0, os.path.join(os.environ["OHM_TOP"], "tests"))
from lib import T, ohm, free_port, start, wait_port, run, OHM, PY

TOP = os.environ["OHM_TOP"]


def builtin_equals_user_map(tmp):
    """Names, locations (reg, transports), units, access and descriptions
    of every built-in driver equal those of its file as a user map."""
    names = ohm("drivers", "--names").stdout.split()
    drivers = [n for n in names
               if os.path.exists(os.path.join(TOP, "devices", n, "map.lua"))]
    T.ok(len(drivers) >= 4, "the built-in drivers are listed", names)
    user = os.path.join(tmp, "drivers")
    os.makedirs(user)
    for d in drivers:
        shutil.copy(os.path.join(TOP, "devices", d, "map.lua"),
                    os.path.join(user, d + ".lua"))
        a = ohm("list", "--all", "--json", "sim:" + d,
                env={"OHM_DRIVERS": os.path.join(tmp, "none")})
        b = ohm("list", "--all", "--json", "sim:" + d,
                env={"OHM_DRIVERS": user})
        T.ok(a.returncode == 0 and "replaces the built-in" not in a.stderr,
             f"{d}: the built-in map lists", a.stderr)
        T.ok(b.returncode == 0 and "replaces the built-in" in b.stderr,
             f"{d}: its map file loads as a user map", b.stderr)
        T.ok(a.stdout == b.stdout and a.stdout.count('"name"') > 5,
             f"{d}: built-in == the same file as a user map "
             "(names, registers, transports, units, access)",
             (a.stdout[:200], b.stdout[:200]))
        os.remove(os.path.join(user, d + ".lua"))


def numeric_host_no_lookup(tmp):
    if not shutil.which("strace"):
        return T.skip("numeric host", "strace not installed")
    p = free_port()
    start(PY, os.path.join(TOP, "tests", "modbus_peer.py"), "tcp", str(p),
          "--set", "3=522", stderr=subprocess.DEVNULL)
    wait_port(p)
    log = os.path.join(tmp, "strace.log")
    r = subprocess.run(["strace", "-f", "-o", log, "-e",
                        "trace=socket,connect", OHM, "get", "-d", "bps2000v2",
                        f"modbus-tcp://127.0.0.1:{p}", "input.L1.current"],
                       capture_output=True, text=True, timeout=60)
    T.eq(r.stdout, "input.L1.current: 5.22\n",
         "ohm get reads the numeric host")
    trace = open(log).read()
    T.ok("AF_NETLINK" not in trace and "nscd" not in trace,
         "a numeric host: no getaddrinfo (no netlink dump, no nscd)",
         [l for l in trace.splitlines() if "NETLINK" in l or "nscd" in l])
    r = ohm("get", "-d", "bps2000v2", f"modbus-tcp://localhost:{p}",
            "input.L1.current")
    T.eq(r.stdout, "input.L1.current: 5.22\n", "a host name still resolves")


def one_poll_a_reply(tmp):
    """A Lua loop of reads on one connection: each reply is taken with one
    poll and one recv (the header and the rest used to be two of each)."""
    if not shutil.which("strace"):
        return T.skip("one poll a reply", "strace not installed")
    p = free_port()
    start(PY, os.path.join(TOP, "tests", "modbus_peer.py"), "tcp", str(p),
          "--set", "0=7", stderr=subprocess.DEVNULL)
    wait_port(p)
    log, k = os.path.join(tmp, "loop.log"), 40
    lua = (f"local m = assert(ohm.connect('modbus-tcp://127.0.0.1:{p}')) "
           f"local s = 0 for i = 1, {k} do s = s + assert(m:read(0, 99))[1] "
           "end print(s)")
    r = subprocess.run(["strace", "-f", "-o", log, "-e", "trace=poll",
                        OHM, "-e", lua], capture_output=True, text=True,
                       timeout=60)
    T.eq(r.stdout, f"{7 * k}\n", f"{k} reads on one connection")
    polls = sum(1 for l in open(log) if " poll(" in l)
    T.ok(k <= polls <= k + 2, f"one poll a reply ({polls} for {k} reads)")


def main():
    with tempfile.TemporaryDirectory() as tmp:
        builtin_equals_user_map(tmp)
        numeric_host_no_lookup(tmp)
        one_poll_a_reply(tmp)


run(main)
