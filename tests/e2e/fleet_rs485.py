"""`ohm poll` with several devices on one RS485 line: `ohm sim
--modbus-rtu` on one end of a socat pty pair, three inventory devices on
the other end (all unit 1: the simulator answers one unit over RTU) plus a
TCP device. The line's devices are read one after another (two masters
writing the one line at once garble each other's frames), so all three
read correctly, every time, with many jobs; `ohm watch` too."""
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.environ["OHM_TOP"], "tests"))
from lib import T, OHM, ohm, free_port, wait_port  # noqa: E402

PEER = os.path.join(os.environ["OHM_TOP"], "tests", "modbus_peer.py")
PY = os.environ.get("PYTHON", "/usr/bin/python3")
TMP = os.environ.get("TMPDIR", "/tmp")


def main(procs):
    if subprocess.run(["which", "socat"], capture_output=True).returncode:
        T.skip("RS485 line", "socat not installed")
        return
    a, b = os.path.join(TMP, "ttyA"), os.path.join(TMP, "ttyB")
    procs.append(subprocess.Popen(
        ["socat", f"pty,raw,echo=0,link={a}", f"pty,raw,echo=0,link={b}"],
        stderr=subprocess.DEVNULL))
    for _ in range(100):
        if os.path.exists(a) and os.path.exists(b):
            break
        time.sleep(0.05)
    procs.append(subprocess.Popen(
        [OHM, "sim", "bps2000v2", "--modbus-rtu", f"{a}?baud=38400",
         ], stderr=subprocess.DEVNULL))
    pt = free_port()
    procs.append(subprocess.Popen([PY, PEER, "tcp", str(pt), "--set",
                                   "0=2301"], stderr=subprocess.DEVNULL))
    wait_port(pt)
    time.sleep(0.5)
    cfg = os.path.join(TMP, "config.lua")
    with open(cfg, "w") as f:
        f.write("devices = {\n")
        for u in (1, 2, 3):
            f.write(f'  bus{u} = {{ uri = "modbus-rtu://{b}?baud=38400&'
                    'unit=1", driver = "bps2000v2" },\n')
        f.write(f'  tcp = {{ uri = "modbus-tcp://127.0.0.1:{pt}",'
                ' driver = "bps2000v2" },\n}\n')
    good = 0
    for _ in range(3):
        r = ohm("poll", "--config", cfg, "--json", "--jobs", "8",
                "--timeout", "1", timeout=60)
        try:
            out = json.loads(r.stdout)
        except ValueError:
            out = {}
        if r.returncode == 0 and all(
                isinstance(out.get(f"bus{u}", {}).get("input.L1-N.voltage"),
                           (int, float)) for u in (1, 2, 3)):
            good += 1
        else:
            print("# " + r.stderr.replace("\n", "\n# "))
    T.eq(good, 3, "three polls: every device on the line read each time")
    T.eq(out.get("tcp", {}).get("input.L1-N.voltage"), 230.1,
         "the TCP device alongside")

    # watch: the line's devices refresh on one thread, one after another,
    # in their order, round after round
    r = ohm("watch", "--config", cfg, "--count", "10", "--every", "0.05",
            "--timeout", "1", "bus1", "bus2", "bus3", "input.L1-N.voltage",
            timeout=60)
    got = [l.split(" ", 1)[1] for l in r.stdout.splitlines()]
    T.ok(r.returncode == 0 and len(got) == 30 and all(
        g.startswith(f"bus{u} input.L1-N.voltage: ") and
        g.split(": ")[1].replace(".", "", 1).isdigit()
        for u, g in zip([1, 2, 3] * 10, got)),
        "watch: ten rounds of bus1, bus2, bus3 in turn, every one read",
        r.stdout + r.stderr)


procs = []
try:
    main(procs)
finally:
    for p in procs:
        p.kill()
        p.wait()
T.done()
