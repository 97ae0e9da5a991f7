"""bench/events.sh's measurement (see there)."""
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import time

OHM, N, INTERVAL = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
VAR = "input.L1.current.high.critical"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port):
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit("simulator did not start")


def lines(path):
    try:
        return open(path).read().split()
    except FileNotFoundError:
        return []


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def main():
    work = tempfile.mkdtemp()
    port = free_port()
    stamps, evlog = os.path.join(work, "stamps"), os.path.join(work, "ev")
    sim = subprocess.Popen([OHM, "sim", "bps2000v2", "--modbus-tcp",
                            f"127.0.0.1:{port}", "-q"])
    wait_port(port)
    uri = f"modbus-tcp://127.0.0.1:{port}"
    cfg = os.path.join(work, "inv.lua")
    open(cfg, "w").write(f'devices = {{ pdu = {{ uri = "{uri}", '
                         'driver = "bps2000v2" } }\n')
    rules = os.path.join(work, "rules.lua")
    job = f'exec{{"/bin/sh", "-c", "date +%s.%N >> {stamps}"}}'
    open(rules, "w").write(
        f'on("pdu", when(function(v) return v["{VAR}"] > 30 end), "HIGH", '
        f'{job}, {{limit = 1000}})\non("pdu", "NOTHIGH", {job}, '
        '{limit = 1000})\n')
    subprocess.run([OHM, "set", "-d", "bps2000v2", uri, f"{VAR}=20"],
                   check=True, capture_output=True)
    srv = subprocess.Popen([OHM, "serve", "--config", cfg, "--rules", rules,
                            "--events-log", evlog, "--interval",
                            str(INTERVAL), "-q"])
    time.sleep(2 * INTERVAL)
    lat = []
    for i in range(N):
        time.sleep(random.uniform(0.2, 1.2) * INTERVAL)
        before = len(lines(stamps))
        subprocess.run([OHM, "set", "-d", "bps2000v2", uri,
                        f"{VAR}={40 if i % 2 == 0 else 20}"], check=True,
                       capture_output=True)
        t0 = time.time()  # the value is in the device from here on
        end = t0 + INTERVAL + 5
        while len(lines(stamps)) == before and time.time() < end:
            time.sleep(0.002)
        got = lines(stamps)
        if len(got) > before:
            lat.append((float(got[before]) - t0) * 1000)
    srv.terminate()
    srv.wait()
    sim.terminate()
    sim.wait()
    ev = [json.loads(l) for l in open(evlog)]
    t_ev = {e["id"]: e["time"] for e in ev if "jobs" in e}
    disp = []
    starts = [float(x) for x in lines(stamps)]
    for e, s in zip([e for e in ev if "jobs" in e], starts):
        tm = time.strptime(e["time"][:19], "%Y-%m-%dT%H:%M:%S")
        t = time.mktime(tm) - time.timezone + float(e["time"][19:23])
        disp.append((s - t) * 1000)
    print(f"events: {len(lat)}/{N} changes ran their job; poll interval "
          f"{INTERVAL * 1000:.0f} ms")
    if lat:
        print(f"  change -> job start: p50 {pct(lat, 50):.0f} ms, p95 "
              f"{pct(lat, 95):.0f} ms, max {max(lat):.0f} ms "
              f"(max beyond the interval: {max(lat) - INTERVAL * 1000:.0f} ms;"
              " target <= 50)")
    if disp:
        print(f"  event dispatched -> job start: p50 {pct(disp, 50):.1f} ms, "
              f"max {max(disp):.1f} ms")
    ok = lat and len(lat) == N and max(lat) <= INTERVAL * 1000 + 50
    sys.exit(0 if ok else 1)


main()
