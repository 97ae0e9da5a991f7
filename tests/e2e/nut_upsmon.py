"""NUT's own upsmon as primary and two secondaries against `ohm serve
--nut` and, side by side in the same test, against real upsd + dummy-ups
(PEERS.md): when the UPS goes OB+LB, every secondary shuts down before
the primary (which waits for them to log out, as NUMLOGINS tells it), and
ohm's order and timing match upsd's. SHUTDOWNCMD writes who and when."""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.environ["OHM_TOP"], "tests"))
from lib import T, run, wait_port  # noqa: E402
from ups_agent import ups  # noqa: E402
import nut_peers as N  # noqa: E402

TMP = os.environ.get("TMPDIR", "/tmp")
shutdowns = N.shutdowns


def main():
    if not N.installed():
        T.ok(False, "NUT's upsd, upsmon and dummy-ups installed")
        return
    state = os.path.join(TMP, "ups.json")
    logs, _, d, (uport, oport) = N.start_pair(state)
    T.ok(wait_port(uport) and wait_port(oport), "upsd and ohm listen")
    T.ok(N.wait_logins((uport, oport)), "every upsmon logged in on both servers",
         [N.numlogins(p) for p in (uport, oport)])
    time.sleep(2)  # and polled once more
    t0 = time.time()
    dev = os.path.join(d, "ups1.dev")
    open(dev, "w").write("ups.status: OB LB\nbattery.charge: 5\n")
    os.utime(dev, (t0 + 2, t0 + 2))  # dummy-ups needs a whole second
    ups(state, source=5, battery=3)
    N.wait_shutdowns(logs)
    order = {}
    for tag, log in logs.items():
        got = shutdowns(log)
        order[tag] = [n for n, _ in got]
        T.ok(len(got) == 3 and got[-1][0] == "primary",
             f"{tag}: both secondaries shut down before the primary", got)
        T.ok(len(got) == 3 and got[-1][1] - t0 < 20,
             f"{tag}: all within 20 s", [t - t0 for _, t in got])
    N.compare_timing(T, shutdowns(logs["upsd"]), shutdowns(logs["ohm"]), t0)


try:
    run(main)
finally:
    N.remove_pidfiles()
