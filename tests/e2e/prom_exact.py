"""`ohm serve --prometheus` exact (issue 16 item 4) for a BPS2000v2, a UPS
and a BMS bank (the built-in simulators): ohm_ups_status one series per
NUT flag, each 0/1 and always all fourteen; a total and its phases are
different metrics (sum() never counts input energy twice); no `_count`
(nor `_total`) suffix on a gauge; ohm_device_info{device,driver,...} 1;
the bank's pack and cell labels, each pack's serial and firmware in
ohm_battery_pack_info; `promtool check metrics` clean (Debian's
prometheus package); gzip when the scraper accepts it, the same text.
Peers: curl, promtool, python3-prometheus-client's parser."""
import gzip
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.join(os.environ["OHM_TOP"], "tests"))
from lib import T, OHM, free_port, wait_port, start, run  # noqa: E402

FLAGS = ["OL", "OB", "LB", "HB", "RB", "CHRG", "DISCHRG", "BYPASS", "CAL",
         "OFF", "OVER", "TRIM", "BOOST", "FSD"]


def fetch(url, gz=False):
    req = urllib.request.Request(url)
    if gz:
        req.add_header("Accept-Encoding", "gzip")
    with urllib.request.urlopen(req, timeout=20) as r:
        return r.headers, r.read()


def series(body):
    """[(name, {labels}, value)] with the client library's parser."""
    from prometheus_client.parser import text_string_to_metric_families
    out, types = [], {}
    for fam in text_string_to_metric_families(body):
        types[fam.name] = fam.type
        out += [(s.name, s.labels, s.value) for s in fam.samples]
    return out, types


def check_status(ss):
    st = [(s[1].get("flag", "?"), s[2]) for s in ss
          if s[0] == "ohm_ups_status" and s[1].get("device") == "ups"]
    T.eq(sorted(f for f, _ in st), sorted(FLAGS),
         "ohm_ups_status: one series per NUT flag, all fourteen")
    T.ok(all(v in (0, 1) for _, v in st), "each flag 0 or 1", st)
    T.ok(("OL", 1) in st and ("OB", 0) in st, "on line: OL 1, OB 0", st)
    T.ok(not any("state" in s[1] for s in ss if s[0] == "ohm_ups_status"),
         "no status string as a label")


def check_phases(ss):
    tot = [s for s in ss if s[0] == "ohm_input_energy_joules_total"
           and s[1]["device"] == "pdu"]
    ph = [s for s in ss if s[0] == "ohm_input_phase_energy_joules_total"
          and s[1]["device"] == "pdu"]
    T.ok(len(tot) == 1 and "phase" not in tot[0][1],
         "the input energy total: one series, no phase", tot)
    T.eq(sorted(s[1].get("phase", "") for s in ph), ["L1", "L2", "L3"],
         "its phases in ohm_input_phase_energy_joules_total")
    mixed = {s[0] for s in ss if "phase" in s[1]} & \
        {s[0] for s in ss if "phase" not in s[1]}
    T.ok(not mixed, "no metric has series with and without a phase", mixed)


def check_names(ss, types):
    bad = [n for n, t in types.items() if t == "gauge" and
           n.endswith(("_count", "_total", "_sum", "_bucket"))]
    T.ok(not bad, "no gauge named _count, _total, _sum or _bucket", bad)
    T.ok(any(s[0] == "ohm_ups_alarms" for s in ss),
         "ups.alarms.count is ohm_ups_alarms")
    info = {s[1]["device"]: s[1] for s in ss if s[0] == "ohm_device_info"}
    T.ok(set(info) == {"pdu", "ups", "bank"} and
         all(i.get("driver") and i.get("model") for i in info.values()),
         "ohm_device_info with driver and model for every device", info)
    T.eq(info.get("pdu", {}).get("driver"), "bps2000v2",
         "ohm_device_info: driver of the PDU")
    cells = [s for s in ss if s[0] == "ohm_battery_pack_cell_voltage_volts"]
    T.ok(len(cells) == 48 and any(s[1].get("pack") == "1" and
                                  s[1].get("cell") == "5" for s in cells),
         "the bank's cells with pack and cell labels", cells[:3])
    packs = {s[1].get("pack"): s[1] for s in ss
             if s[0] == "ohm_battery_pack_info"}
    T.ok(sorted(packs) == ["0", "1", "2"] and
         all(p.get("serial") and p.get("firmware") for p in packs.values()),
         "each pack's serial and firmware in ohm_battery_pack_info", packs)


def check_promtool(body):
    if not shutil.which("promtool"):
        T.skip("promtool check metrics", "prometheus package not installed")
        return
    r = subprocess.run(["promtool", "check", "metrics"], input=body,
                       capture_output=True, text=True)
    T.ok(r.returncode == 0 and not (r.stdout + r.stderr).strip(),
         "promtool check metrics: clean", r.stdout + r.stderr)


def main():
    try:
        import prometheus_client.parser  # noqa: F401
    except ImportError:
        T.skip("prom_exact", "python3-prometheus-client missing")
        return
    work = tempfile.mkdtemp()
    http = free_port()
    cfg = os.path.join(work, "config.lua")
    with open(cfg, "w") as f:
        f.write('devices = { pdu = { uri = "sim:bps2000v2" },\n'
                '  ups = { uri = "sim:ups-mib" },\n'
                '  bank = { uri = "sim:pace?packs=3" } }\n')
    start(OHM, "serve", "--config", cfg, "--prometheus", f"127.0.0.1:{http}",
          "--interval", "60", "-q", stderr=subprocess.DEVNULL)
    T.ok(wait_port(http), "serve listens")
    url = f"http://127.0.0.1:{http}/metrics"
    body = ""
    deadline = time.time() + 30  # the first round, on a loaded machine
    while time.time() < deadline:
        body = fetch(url)[1].decode()
        if body.count("ohm_up{") == 3 and " 0\n" not in \
                "".join(ln + "\n" for ln in body.splitlines()
                        if ln.startswith("ohm_up{")):
            break
        time.sleep(0.1)
    ss, types = series(body)
    check_status(ss)
    check_phases(ss)
    check_names(ss, types)
    check_promtool(body)
    head, zbody = fetch(url, gz=True)
    T.eq(head.get("Content-Encoding"), "gzip",
         "Accept-Encoding: gzip gets a gzip'd answer")
    try:
        plain = gzip.decompress(zbody).decode()
    except OSError as ex:
        plain = str(ex)
    T.ok(plain == body, "the same text once uncompressed", plain[:200])
    T.ok(fetch(url)[0].get("Content-Encoding") is None,
         "a scraper that does not ask gets plain text")


run(main)
