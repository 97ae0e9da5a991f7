"""A battery bank served (issue 13): `ohm serve --nut --prometheus` with
the BMS simulator over tcp://; upsc reads battery.* and every pack's
cells; Prometheus has pack and cell labels, and a pack's highest
temperature and its sensors are different metrics (no metric mixes an
aggregate with its parts); promtool accepts the exposition."""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.environ["OHM_TOP"], "tests"))
from lib import T, OHM, free_port, wait_port, start, run  # noqa: E402


def main():
    work = tempfile.mkdtemp()
    sim, nut, http = free_port(), free_port(), free_port()
    start(OHM, "sim", "pace", "--tcp", f"127.0.0.1:{sim}", "--packs", "3",
          "-q")
    T.ok(wait_port(sim), "sim pace --tcp listens")
    cfg = os.path.join(work, "config.lua")
    with open(cfg, "w") as f:
        f.write('devices = {\n  bank1 = { uri = "tcp://127.0.0.1:%d?packs=0-2",'
                ' driver = "pace" },\n}\n' % sim)
    start(OHM, "serve", "--config", cfg, "--nut", f"127.0.0.1:{nut}",
          "--prometheus", f"127.0.0.1:{http}", "--interval", "2",
          stderr=subprocess.DEVNULL)
    T.ok(wait_port(nut) and wait_port(http), "serve listens")
    out = ""
    for _ in range(100):
        r = subprocess.run(["upsc", f"bank1@127.0.0.1:{nut}"],
                           capture_output=True, text=True, timeout=20)
        out = r.stdout
        if "battery.packs: 3" in out:
            break
        time.sleep(0.1)
    T.ok("battery.packs: 3" in out, "upsc: battery.packs", out[:300])
    cells = re.findall(r"^battery\.pack\.\d+\.cell\.\d+\.voltage: 3\.\d+$",
                       out, re.M)
    T.eq(len(cells), 48, "upsc: every cell of the three packs")
    T.ok(re.search(r"^battery\.charge: \d", out, re.M) is not None,
         "upsc: battery.charge")
    body = subprocess.run(["curl", "-sS", f"http://127.0.0.1:{http}/metrics"],
                          capture_output=True, text=True, timeout=20).stdout
    T.ok('ohm_battery_pack_cell_voltage_volts{device="bank1",pack="2",'
         'cell="16"}' in body, "prometheus: pack and cell labels")
    agg = [ln for ln in body.splitlines()
           if ln.startswith("ohm_battery_pack_temperature_celsius{")]
    T.ok(len(agg) == 3 and all("temperature=" not in ln for ln in agg),
         "prometheus: a pack's highest temperature is a metric of its own",
         agg[:4])
    T.ok(body.count("ohm_battery_pack_temperature_sensor_celsius{") == 18,
         "prometheus: the 18 sensors in another metric")
    if shutil.which("promtool"):
        r = subprocess.run(["promtool", "check", "metrics"], input=body,
                           capture_output=True, text=True)
        T.ok("error" not in (r.stdout + r.stderr).lower(),
             "promtool check metrics has no error", r.stdout + r.stderr)


run(main)
