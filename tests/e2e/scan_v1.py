"""`ohm scan` and `-d auto` find an agent that speaks SNMPv1 only (a real
BM100: v1 and v3, no v2c): net-snmp's snmpd with VACM lines granting the
community to the v1 security model alone (v2c requests get no answer),
its battmgr subtree from tests/bm_pass.py. The snippet says version=1
and is an inventory ohm reads; -d auto and no driver at all detect
cps-bm100 over v1; ohm's own BM100 simulator (v1 and v2c) still scans
without version=1; an explicit version=2c is not retried."""
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.environ["OHM_TOP"], "tests"))
from lib import T, ohm, free_port, start, run, wait_port  # noqa: E402
import snmplib as S  # noqa: E402



def v1_only_snmpd(tmp):
    """snmpd on 127.0.0.1: community public for v1 only (VACM)."""
    port = free_port("udp")
    S.start_bm_snmpd(tmp, port, [
        "com2sec local 127.0.0.1 public", "group v1only v1 local",
        "view all included .1",
        'access v1only "" v1 noauth exact all none none',
        "sysObjectID .1.3.6.1.4.1.3808.1.1.7",
        "sysDescr BM100 battery manager"],
        spawn=lambda a, **kw: start(*a, **kw), version="1")
    return port


def silent_v2c(port):
    r = subprocess.run(["snmpget", "-v2c", "-c", "public", "-t", "0.5",
                        "-r", "0", "-On", f"127.0.0.1:{port}",
                        "1.3.6.1.2.1.1.1.0"], capture_output=True, text=True)
    return r.returncode != 0 and "Timeout" in r.stderr + r.stdout


def snmpd_part(tmp):
    port = v1_only_snmpd(tmp)
    T.ok(silent_v2c(port), "snmpd: the v1-only agent gives v2c no answer")
    r = ohm("scan", f"snmp://127.0.0.1:{port}", timeout=60)
    T.ok(r.returncode == 0 and
         f'uri = "snmp://127.0.0.1:{port}?version=1", driver = "cps-bm100"'
         in r.stdout, "scan: a v1-only agent is found over v1, cps-bm100, "
         "its snippet says version=1", r.stdout + r.stderr)
    cfg = os.path.join(tmp, "config.lua")
    with open(cfg, "w") as f:
        f.write(r.stdout)
    r2 = ohm("get", "--config", cfg, "127.0.0.1", "device.serial")
    T.ok(r2.returncode == 0 and r2.stdout.startswith("device.serial: "),
         "the v1 snippet is an inventory ohm get reads",
         r2.stdout + r2.stderr)
    r = ohm("scan", "--json", f"snmp://127.0.0.1:{port}", timeout=60)
    T.ok(r.returncode == 0 and '"driver": "cps-bm100"' in r.stdout and
         "version=1" in r.stdout, "scan --json: the v1 agent, version=1",
         r.stdout + r.stderr)
    for args in (["-d", "auto"], []):
        r = ohm("get", "-v", *args, f"snmp://public@127.0.0.1:{port}",
                "device.model")
        T.ok(r.returncode == 0 and r.stdout.startswith("device.model: ") and
             "driver cps-bm100" in r.stderr,
             "get %s: cps-bm100 detected over v1" %
             (" ".join(args) or "without -d"), r.stdout + r.stderr)
    r = ohm("scan", f"snmp://127.0.0.1:{port}?version=2c", timeout=60)
    T.ok(r.returncode == 1 and r.stdout == "" and
         "nothing answered" in r.stderr,
         "scan with version=2c given: not retried over v1", r.stderr)


def sim_part():
    port = free_port("udp")
    start(os.environ.get("OHM", "build/ohm"), "sim", "cps-bm100", "--snmp",
          f"127.0.0.1:{port}", stdout=subprocess.DEVNULL,
          stderr=subprocess.DEVNULL)
    S.wait_answer(port, "public")
    r = ohm("scan", f"snmp://127.0.0.1:{port}", timeout=60)
    T.ok(r.returncode == 0 and
         f'uri = "snmp://127.0.0.1:{port}", driver = "cps-bm100"' in r.stdout,
         "scan: ohm sim cps-bm100 (v2c) found as before, no version=1",
         r.stdout + r.stderr)


def main():
    if not shutil.which("snmpd") or not shutil.which("snmpget"):
        T.skip("scan_v1", "snmpd or snmpget not installed")
        return
    tmp = tempfile.mkdtemp()
    snmpd_part(tmp)
    sim_part()


run(main)
