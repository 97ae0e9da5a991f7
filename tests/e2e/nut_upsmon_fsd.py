"""`upsmon -c fsd` on NUT's own primary upsmon, against `ohm serve --nut`
and, side by side, against real upsd + dummy-ups (PEERS.md), each with
two secondaries, the UPS on line: the primary sets FSD (ohm answers OK
FSD-SET and latches FSD in ups.status), both secondaries see it and shut
down before the primary, which waits for them to log out; the order and
timing with ohm match upsd's. SHUTDOWNCMD writes who and when."""
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.environ["OHM_TOP"], "tests"))
from lib import T, run, wait_port  # noqa: E402
import nut_peers as N  # noqa: E402

TMP = os.environ.get("TMPDIR", "/tmp")


def status(port):
    r = subprocess.run(["upsc", f"ups1@127.0.0.1:{port}", "ups.status"],
                       capture_output=True, text=True, timeout=10)
    return r.stdout.strip()


def main():
    if not N.installed():
        T.ok(False, "NUT's upsd, upsmon and dummy-ups installed")
        return
    state = os.path.join(TMP, "ups.json")
    logs, prim, _, ports = N.start_pair(state)
    T.ok(all(wait_port(p) for p in ports), "upsd and ohm listen")
    T.ok(N.wait_logins(ports), "every upsmon logged in on both servers",
         [N.numlogins(p) for p in ports])
    time.sleep(2)  # and polled once more
    T.ok(all(status(p) == "OL" for p in ports), "the UPS is on line",
         [status(p) for p in ports])
    t0 = time.time()
    for tag in ("upsd", "ohm"):
        argv0, env = prim[tag]
        r = subprocess.run([argv0, "-c", "fsd"], env=env, capture_output=True,
                           text=True, timeout=10)
        T.eq(r.returncode, 0, f"{tag}: upsmon -c fsd signals the primary")
    N.wait_shutdowns(logs)
    got = {tag: N.shutdowns(log) for tag, log in logs.items()}
    for tag in ("upsd", "ohm"):
        g = got[tag]
        T.ok(len(g) == 3 and g[-1][0] == "primary",
             f"{tag}: both secondaries shut down before the primary", g)
        T.ok(len(g) == 3 and g[-1][1] - t0 < 20,
             f"{tag}: all within 20 s of upsmon -c fsd",
             [t - t0 for _, t in g])
    st = status(ports[1])
    T.ok(st.split()[:1] == ["FSD"] and "OL" in st.split(),
         "ohm latched FSD in ups.status, as upsd does", (st, status(ports[0])))
    N.compare_timing(T, got["upsd"], got["ohm"], t0)


try:
    run(main)
finally:
    N.remove_pidfiles()
