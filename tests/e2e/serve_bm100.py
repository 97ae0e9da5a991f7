"""`ohm serve --snmp` serves a cps-bm100 device under its own OIDs, its
probe tables included (rows in the map's order, index = probe index
1..N, each row's string and battery columns): the source is net-snmp's
snmpd with the BM100 data of tests/bm_pass.py (2 strings x 4 blocks);
snmpwalk of ohm's agent shows every row and the table columns, and
ohm's own client reading ohm's agent (`ohm get -d cps-bm100
snmp://bm1@...?version=2c`) equals `ohm get` of the source device."""
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.environ["OHM_TOP"], "tests"))
from lib import T, OHM, ohm, free_port, start, run, wait_port  # noqa
import snmplib as S  # noqa: E402

BMG = "1.3.6.1.4.1.3808.1.1.7"


def parse(out):
    return dict(line.split(": ", 1) for line in out.splitlines()
                if ": " in line)


def source_snmpd(tmp):
    port = free_port("udp")
    S.start_bm_snmpd(tmp, port, ["rocommunity public 127.0.0.1"],
                     spawn=lambda a, **kw: start(*a, **kw), version="1")
    return port


def snmp(tool, port, *args):
    return subprocess.run([tool, "-v2c", "-c", "bm1", "-On", "-t", "2",
                           "-r", "1", "-M", "/nonexistent", "-m", "",
                           f"127.0.0.1:{port}", *args],
                          capture_output=True, text=True)


def main():
    if not shutil.which("snmpd") or not shutil.which("snmpwalk"):
        T.skip("serve_bm100", "snmpd or snmpwalk not installed")
        return
    tmp = tempfile.mkdtemp()
    src = source_snmpd(tmp)
    inv = os.path.join(tmp, "inv.lua")
    with open(inv, "w") as f:
        f.write(f'devices = {{ bm1 = {{ uri = "snmp://public@127.0.0.1:{src}"'
                ', driver = "cps-bm100" } }\n')
    port = free_port("udp")
    start(OHM, "--config", inv, "serve", "--snmp", str(port), "--interval",
          "60", "-q", stderr=subprocess.DEVNULL)
    T.ok(wait_port(port, "udp", 15), "serve --snmp listens")
    end = time.time() + 20
    while time.time() < end and "STRING" not in snmp(
            "snmpget", port, f".{BMG}.1.7.0").stdout:
        time.sleep(0.2)

    served = ohm("get", "-d", "cps-bm100",
                 f"snmp://bm1@127.0.0.1:{port}?version=2c")
    direct = ohm("get", "-d", "cps-bm100", f"snmp://public@127.0.0.1:{src}")
    want, got = parse(direct.stdout), parse(served.stdout)
    blocks = [k for k in want if k.startswith("battery.string.") and
              ".block." in k]
    T.ok(direct.returncode == 0 and len(blocks) == 2 * 4 * 9,
         "the source's 2 x 4 blocks read directly", direct.stderr)
    T.eq(got, want, "ohm get of ohm's agent equals ohm get of the source "
         "(every block, named by string and block)")
    T.eq({k: got.get(k) for k in S.bm_expected(2, 4)},
         S.bm_expected(2, 4),
         "and the served blocks equal the data file's")

    r = snmp("snmpwalk", port, f".{BMG}.5.5.1")
    w = dict(ln.split(" = ", 1) for ln in r.stdout.splitlines()
             if " = " in ln)
    col = lambda c: [(k.rsplit(".", 1)[1], v.split(": ")[-1])
                     for k, v in w.items()
                     if k.startswith(f".{BMG}.5.5.1.{c}.")]
    T.ok(r.returncode == 0 and
         col(3) == [(str(i), str(1 + (i - 1) // 4)) for i in range(1, 9)] and
         col(4) == [(str(i), str(1 + (i - 1) % 4)) for i in range(1, 9)] and
         len(col(7)) == 8,
         "snmpwalk of the voltage table: probes 1..8 in the map's order, "
         "string and battery columns", r.stdout + r.stderr)
    r = snmp("snmpwalk", port, f".{BMG}.5.9.1.7")
    lines = [ln for ln in r.stdout.splitlines() if "INTEGER" in ln]
    T.ok(len(lines) == 8 and lines[0].startswith(f".{BMG}.5.9.1.7.1 ="),
         "snmpwalk: the resistance column, one INTEGER a probe", r.stdout)


run(main)
