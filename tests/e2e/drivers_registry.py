"""Drivers as registered objects: no engine holds a driver's knowledge. A
Telnet-menu map of another name gets no BPS2000v2 console dialect (that
engine belongs to the bps2000v2 folder's hooks), and says where one goes;
the generated registries list every transport of the build."""
import os
import socket
import sys
import threading

sys.path.insert(0, os.path.join(os.environ["OHM_TOP"], "tests"))
from lib import T, ohm, run  # noqa: E402

TMP = os.environ.get("TMPDIR", "/tmp")


def main():
    d = os.path.join(TMP, "ohm-reg-%d" % os.getpid())
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "menu-test.lua"), "w") as f:
        f.write('return { name = "menu-test", vars = { { name = '
                '"input.L1.current", menu = "1:load.1" } } }')
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen()
    port = srv.getsockname()[1]
    conns = []
    threading.Thread(target=lambda: conns.append(srv.accept()),
                     daemon=True).start()
    r = ohm("get", "-d", "menu-test", "--timeout", "1",
            "telnet://127.0.0.1:%d" % port, env={"OHM_DRIVERS": d})
    T.ok(r.returncode == 1 and r.stdout == "" and
         "no telnet engine for driver menu-test" in r.stderr and
         "devices/menu-test/hooks.c" in r.stderr and
         r.stderr.count("\n") == 1,
         "a menu map without its own console engine: one line, no BPS "
         "dialect guessed", r.stderr)
    r = ohm("drivers", "--json")
    T.ok(r.returncode == 0 and all(s in r.stdout for s in (
        '"modbus-tcp"', '"modbus-rtu"', '"snmp"', '"telnet"', '"serial"')),
        "the generated transport registry lists every transport", r.stdout)
    srv.close()


run(main)
