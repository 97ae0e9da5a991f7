"""`ohm serve --prometheus`: /metrics fetched with curl and read back with
python3-prometheus-client's text-format parser (the format Prometheus
scrapes): base units in names, device and phase labels, counters for
energy, per-device ohm_up and ohm_scrape_duration_seconds, and no value
at all for a dead device. Peers: python3-pymodbus and a silent server."""
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.environ["OHM_TOP"], "tests"))
from lib import (  # noqa: E402
    T, OHM, free_port, wait_port, PEER, PY, procs, start, run)

TMP = os.environ.get("TMPDIR", "/tmp")



def curl(url):
    return subprocess.run(["curl", "-sS", "-i", url], capture_output=True,
                          text=True, timeout=20)


def main():
    try:
        from prometheus_client.parser import text_string_to_metric_families
    except ImportError:
        T.skip("prometheus text format", "python3-prometheus-client missing")
        return
    pa, pb, pdead, http = free_port(), free_port(), free_port(), free_port()
    start(PY, PEER, "tcp", str(pa), "--set", "0=2301,2302,2303",
          "--set", "3=1234,5,0", "--set", "21=0,27,119,184",
          "--set", "53=215", "--set", "56=456", "--set", "88=16,1",
          stderr=subprocess.DEVNULL)
    peer_b = start(PY, PEER, "tcp", str(pb), "--set", "0=2200",
                   stderr=subprocess.DEVNULL)
    start(PY, PEER, "raw", str(pdead), "silent")
    wait_port(pb)
    wait_port(pa)
    wait_port(pdead)
    cfg = os.path.join(TMP, "config.lua")
    with open(cfg, "w") as f:
        f.write('devices = {\n'
                f'  pdu1 = {{ uri = "modbus-tcp://127.0.0.1:{pa}",'
                ' driver = "bps2000v2" },\n'
                f'  fast = {{ uri = "modbus-tcp://127.0.0.1:{pb}",'
                ' driver = "bps2000v2", interval = 0.2 },\n'
                f'  dead = {{ uri = "modbus-tcp://127.0.0.1:{pdead}",'
                ' driver = "bps2000v2" },\n}\n')
    srv = start(OHM, "serve", "--config", cfg, "--prometheus",
                f"127.0.0.1:{http}", "--interval", "30", "--timeout", "0.5",
                "--retries", "0", stderr=subprocess.DEVNULL)
    T.ok(wait_port(http), "serve listens on the Prometheus port")
    time.sleep(1.5)
    r = curl(f"http://127.0.0.1:{http}/metrics")
    head, _, body = r.stdout.replace("\r\n", "\n").partition("\n\n")
    T.ok(head.startswith("HTTP/1.1 200") and
         "text/plain; version=0.0.4" in head,
         "GET /metrics: 200 with the text format's content type", head)
    fams = {}
    try:
        for fam in text_string_to_metric_families(body):
            fams[fam.name] = fam
        parsed = True
    except Exception as ex:  # the parser's own complaint is the detail
        parsed = False
        T.ok(False, "the parser accepts /metrics", str(ex))
    if parsed:
        T.ok(True, "the parser accepts /metrics")
    noisy = [ln for ln in body.splitlines() if ln.startswith("ohm_input")
             and len(ln.rsplit(" ", 1)[-1]) > 15]
    T.ok(not noisy, "readings without float noise (230.1, not "
         "230.10000000000002)", "\n".join(noisy[:5]))

    def sample(name, **labels):
        for fam in fams.values():
            for s in fam.samples:
                if s.name == name and s.labels == labels:
                    return s
        return None

    s = sample("ohm_up", device="pdu1")
    T.ok(s and s.value == 1, "ohm_up is 1 for a device that answers")
    s = sample("ohm_up", device="dead")
    T.ok(s and s.value == 0, "ohm_up is 0 for the dead device")
    T.ok(sample("ohm_scrape_duration_seconds", device="pdu1") is not None and
         sample("ohm_scrape_duration_seconds", device="dead") is not None,
         "per-device scrape duration")
    s = sample("ohm_input_phase_voltage_volts", device="pdu1", phase="L2-N")
    T.ok(s and abs(s.value - 230.2) < 1e-9,
         "voltage in volts with a phase label", s)
    s = sample("ohm_input_phase_current_amperes", device="pdu1",
               phase="L1")
    T.ok(s and abs(s.value - 12.34) < 1e-9, "current in amperes", s)
    fam = fams.get("ohm_input_phase_energy_joules")
    T.ok(fam is not None and fam.type == "counter",
         "energy is a counter in joules (base unit)")
    s = sample("ohm_input_phase_energy_joules_total", device="pdu1",
               phase="L1")
    T.ok(s and abs(s.value - 1800.12 * 3.6e6) < 1, "1800.12 kWh in joules", s)
    s = sample("ohm_ambient_temperature_celsius", device="pdu1")
    T.ok(s and abs(s.value - 21.5) < 1e-9, "temperature in celsius", s)
    s = sample("ohm_ambient_humidity_ratio", device="pdu1")
    T.ok(s and abs(s.value - 0.456) < 1e-9, "humidity as a 0..1 ratio", s)
    s = sample("ohm_input_phase_voltage_status", device="pdu1", phase="L2-N",
               state="critical-high")
    T.ok(s and s.value == 1, "a status is one series per state", s)
    s = next((s for s in fams["ohm_device_info"].samples
              if s.labels["device"] == "pdu1"), None)
    T.ok(s and s.labels.get("mfr") == "BKT ELEKTRONIK",
         "device identity in ohm_device_info", s)
    T.ok(not any(s.labels.get("device") == "dead"
                 for f in fams.values() for s in f.samples
                 if not s.name.startswith(("ohm_up", "ohm_scrape",
                                           "ohm_last_update"))),
         "no value is exported for the dead device")
    def last_update(dev):
        r = curl(f"http://127.0.0.1:{http}/metrics")
        body = r.stdout.replace("\r\n", "\n").partition("\n\n")[2]
        for fam in text_string_to_metric_families(body):
            for s in fam.samples:
                if s.name == "ohm_last_update_timestamp_seconds" and \
                        s.labels.get("device") == dev:
                    return s.value
        return None
    a1, f1 = last_update("pdu1"), last_update("fast")
    time.sleep(1)
    a2, f2 = last_update("pdu1"), last_update("fast")
    T.ok(a1 and a1 == a2, "--interval 30: pdu1 is not read again yet")
    T.ok(f1 and f2 and f2 > f1, "the inventory's interval = 0.2 overrides it")

    peer_b.kill()
    peer_b.wait()
    ok = False
    for _ in range(50):
        time.sleep(0.1)
        body = curl(f"http://127.0.0.1:{http}/metrics").stdout
        if 'ohm_up{device="fast"} 0' in body:
            ok = True
            break
    T.ok(ok, "a device that stops answering goes to ohm_up 0")
    T.ok('ohm_input_phase_voltage_volts{device="fast"' not in body,
         "and its last values are no longer exported")

    r = curl(f"http://127.0.0.1:{http}/nope")
    T.ok(r.stdout.startswith("HTTP/1.1 404"), "other paths are 404")
    srv.terminate()
    try:
        rc = srv.wait(10)
    except subprocess.TimeoutExpired:
        rc = None
    T.eq(rc, 0, "SIGTERM stops serve cleanly")


run(main)
