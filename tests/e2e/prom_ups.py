"""`ohm serve --prometheus` with an RFC 1628 UPS (snmpsim): ups.status is
built by a hook ("OB LB", "OL LB") and is not one of the map's enum texts;
the exporter must still show the current state as a series of value 1, so
that a UPS on battery with a low battery does not read as all zeros, and
no series has an empty state label."""
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.environ["OHM_TOP"], "tests"))
from lib import T, OHM, free_port, wait_port, start  # noqa: E402
import snmplib as S  # noqa: E402

if not shutil.which("snmpsimd") or not shutil.which("snmpget"):
    T.skip("prom_ups", "snmpsimd or snmpget not installed")
    T.done()

work = tempfile.mkdtemp()
port, http = free_port("udp"), free_port()
agent = None
try:
    agent = S.start_snmpsim(work, {
        "upsoblb": S.ups_records(source=5, battery=3),
        "upsol": S.ups_records(source=3, battery=2, charge=100),
    }, [port])
    cfg = os.path.join(work, "config.lua")
    with open(cfg, "w") as f:
        f.write('devices = {\n'
                f'  a = {{ uri = "snmp://upsoblb@127.0.0.1:{port}",'
                ' driver = "ups-mib" },\n'
                f'  b = {{ uri = "snmp://upsol@127.0.0.1:{port}",'
                ' driver = "ups-mib" },\n}\n')
    srv = start(OHM, "serve", "--config", cfg, "--prometheus",
                f"127.0.0.1:{http}", "--interval", "30",
                stderr=subprocess.DEVNULL)
    T.ok(wait_port(http), "serve listens on the Prometheus port")
    body = ""
    for _ in range(100):
        r = subprocess.run(["curl", "-sS", f"http://127.0.0.1:{http}/metrics"],
                           capture_output=True, text=True, timeout=20)
        body = r.stdout
        if 'ohm_up{device="a"} 1' in body and 'ohm_up{device="b"} 1' in body:
            break
        time.sleep(0.1)
    status = [ln for ln in body.splitlines()
              if ln.startswith("ohm_ups_status{")]
    T.ok('ohm_ups_status{device="a",state="OB LB"} 1' in status,
         "on battery, battery low: the current ups.status is 1",
         "\n".join(status))
    T.ok(not any(ln.endswith(" 1") and 'device="a"' in ln and
                 'state="OB LB"' not in ln for ln in status),
         "and no other state of that UPS is 1")
    T.ok('ohm_ups_status{device="b",state="OL"} 1' in status,
         "on line: state OL is 1")
    T.ok(not any('state=""' in ln for ln in status),
         "no series with an empty state label")
    srv.terminate()
    srv.wait(10)
finally:
    S.stop(agent)
    shutil.rmtree(work, ignore_errors=True)
T.done()
