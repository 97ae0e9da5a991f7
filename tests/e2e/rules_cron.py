"""A schedule in `ohm serve --rules`: every("* * * * *", set(...), exec)
runs at the next whole minute (local time) and its set() job writes the
device through the serve cache (an `ohm sim` BPS2000v2 over Modbus TCP,
read back with `ohm get`). Waits up to a minute: the parser and DST are
covered by tests/unit/test_cron.c with a fake clock."""
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.environ["OHM_TOP"], "tests"))
from lib import T, OHM, ohm, free_port, start, run, wait_port  # noqa: E402

TMP = os.environ.get("TMPDIR", "/tmp")
VAR = "input.L1.current.high.critical"


def main():
    port = free_port()
    start(OHM, "sim", "bps2000v2", "--modbus-tcp", f"127.0.0.1:{port}", "-q")
    T.ok(wait_port(port), "the simulator listens")
    uri = f"modbus-tcp://127.0.0.1:{port}"
    ohm("set", "-d", "bps2000v2", uri, f"{VAR}=20")
    cfg = os.path.join(TMP, "inv.lua")
    stamp = os.path.join(TMP, "ran")
    open(cfg, "w").write(f'devices = {{ pdu = {{ uri = "{uri}", '
                         'driver = "bps2000v2" } }\n')
    rules = os.path.join(TMP, "cron.lua")
    open(rules, "w").write(f'every("* * * * *", set("pdu", "{VAR}", 33),\n'
                           f'      exec{{"/bin/sh", "-c", "date +%s.%N > {stamp}"}})\n')
    log = os.path.join(TMP, "ev.jsonl")
    start(OHM, "serve", "--config", cfg, "--rules", rules, "--events-log",
          log, "--interval", "5", "-q")
    minute = (int(time.time()) // 60 + 1) * 60

    def stamped():  # the shell creates the file before it writes it
        try:
            return float(open(stamp).read())
        except (OSError, ValueError):
            return 0

    while time.time() < minute + 5 and not stamped():
        time.sleep(0.1)
    ran = stamped()
    T.ok(minute <= ran < minute + 2,
         "the schedule runs at the whole minute (%.2f s after it)"
         % (ran - minute))
    time.sleep(0.5)
    r = ohm("get", "-d", "bps2000v2", uri, VAR)
    T.eq(r.stdout.strip(), f"{VAR}: 33", "its set() job wrote the device")
    ev = [json.loads(l) for l in open(log)]
    T.ok(any(e["event"] == "SCHEDULE" and e.get("jobs") == ["set", "exec"]
             for e in ev) and
         any(e.get("job") == "set" and e["outcome"] == "ok" for e in ev),
         "the event log has the schedule and its jobs' outcomes", ev)


run(main)
