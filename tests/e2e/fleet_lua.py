"""ohm.poll from Lua: names from the inventory, URIs and open device
objects in one call, read in parallel; values per key, per-device errors
returned (not thrown), the lent device still open afterwards; bad
arguments raise. Peers: python3-pymodbus and a silent TCP server."""
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.environ["OHM_TOP"], "tests"))
from lib import T, ohm, free_port, wait_port  # noqa: E402

PEER = os.path.join(os.environ["OHM_TOP"], "tests", "modbus_peer.py")
PY = os.environ.get("PYTHON", "/usr/bin/python3")
TMP = os.environ.get("TMPDIR", "/tmp")

SCRIPT = r"""
local pa, pdead = ...
local uri = "modbus-tcp://127.0.0.1:" .. pa .. "?driver=bps2000v2"
local pdu = assert(ohm.open(uri))
local vals, errs = ohm.poll({"pdu1", "dead", uri, pdu},
                            {timeout = 1, retries = 0, jobs = 4})
print("name", vals.pdu1 and vals.pdu1["input.L1-N.voltage"])
print("uri", vals[uri] and vals[uri]["input.L1.current"])
print("object", vals[pdu] and vals[pdu]["input.L2-N.voltage"])
print("dead", vals.dead, errs.dead)
print("errs", errs.pdu1, errs[uri], errs[pdu])
print("still open", pdu:get("input.L3-N.voltage"))
print("bad", pcall(ohm.poll, {42}))
print("badjobs", pcall(ohm.poll, {"pdu1"}, {jobs = 0}))
local v2, e2 = ohm.poll({})
print("empty", next(v2), next(e2))
"""


def main():
    pa, pdead = free_port(), free_port()
    procs = [subprocess.Popen([PY, PEER, "tcp", str(pa), "--set",
                               "0=2301,2302,2303", "--set", "3=1234"],
                              stderr=subprocess.DEVNULL),
             subprocess.Popen([PY, PEER, "raw", str(pdead), "silent"])]
    try:
        wait_port(pa)
        wait_port(pdead)
        cfg = os.path.join(TMP, "config.lua")
        with open(cfg, "w") as f:
            f.write('devices = {\n'
                    f'  pdu1 = {{ uri = "modbus-tcp://127.0.0.1:{pa}",'
                    ' driver = "bps2000v2" },\n'
                    f'  dead = {{ uri = "modbus-tcp://127.0.0.1:{pdead}",'
                    ' driver = "bps2000v2" },\n}\n')
        script = os.path.join(TMP, "poll.lua")
        with open(script, "w") as f:
            f.write(SCRIPT)
        r = ohm(script, str(pa), str(pdead), env={"OHM_CONFIG": cfg},
                timeout=60)
        out = dict(l.split("\t", 1) for l in r.stdout.splitlines()
                   if "\t" in l)
        T.eq(r.returncode, 0, "the script runs", )
        if r.returncode:
            print(r.stderr)
        T.eq(out.get("name"), "230.1", "an inventory name is polled")
        T.eq(out.get("uri"), "12.34", "a URI is polled")
        T.eq(out.get("object"), "230.2", "an open device object is polled")
        T.ok(out.get("dead", "").startswith("nil\t") and
             "timed out" in out.get("dead", ""),
             "a dead device: no values, its error returned", out.get("dead"))
        T.eq(out.get("errs"), "nil\tnil\tnil", "no errors for the others")
        T.eq(out.get("still open"), "230.3",
             "the lent device object is still open after the poll")
        T.ok(out.get("bad", "").startswith("false\t") and
             "element 1" in out.get("bad", ""),
             "a bad list element raises", out.get("bad"))
        T.ok(out.get("badjobs", "").startswith("false\t"),
             "jobs = 0 raises", out.get("badjobs"))
        T.eq(out.get("empty"), "nil\tnil", "an empty list gives empty tables")
    finally:
        for p in procs:
            p.kill()
            p.wait()


main()
T.done()
