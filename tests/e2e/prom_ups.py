"""`ohm serve --prometheus` with an RFC 1628 UPS (snmpsim): ups.status is
built by a hook ("OB LB", "OL LB"); the exporter shows one series per NUT
flag (ohm_ups_status{flag="OB"} 0/1), so OB stays 1 when LB is added and
the whole string is never a label."""
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
    on = {ln.split("{")[1].split("}")[0] for ln in status
          if ln.endswith(" 1")}
    T.eq(sorted(on), ['device="a",flag="LB"', 'device="a",flag="OB"',
                      'device="b",flag="OL"'],
         "on battery, battery low: OB and LB are 1 (and only they); "
         "on line: OL")
    T.eq(len(status), 28, "each UPS has all fourteen flags, 0 or 1")
    T.ok(not any("state=" in ln for ln in status),
         "no status string as a label (an alert on OB holds when LB comes)")
    srv.terminate()
    srv.wait(10)
finally:
    S.stop(agent)
    shutil.rmtree(work, ignore_errors=True)
T.done()
