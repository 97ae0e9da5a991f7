"""The rules' config_diff job (issue 15: a scheduled job runs a config
diff): against an `ohm sim bps2000v2` unit and a file of `ohm config
save`, through `ohm rules test` (ok while equal, failed naming the drift)
and as a schedule in `ohm serve --rules`: every("* * * * *",
config_diff{...}) logs the drift and fires CONFIGDRIFT on the unit, which
a rule turns into a notification (exec). Waits up to a minute for the
schedule, as rules_cron.py does."""
import json, os, sys, time
sys.path.insert(0, os.path.join(os.environ["OHM_TOP"], "tests"))
from lib import T, OHM, ohm, free_port, start, wait_port, run

TMP = os.environ.get("TMPDIR", "/tmp")
VAR = "input.L1.current.high.critical"


def main():
    port = free_port()
    start(OHM, "sim", "bps2000v2", "--modbus-tcp", "127.0.0.1:%d" % port,
          "-q")
    T.ok(wait_port(port), "the simulator listens")
    inv = os.path.join(TMP, "inv.lua")
    open(inv, "w").write('devices = { pdu = { uri = "modbus-tcp://127.0.0.1:'
                         '%d", driver = "bps2000v2" } }\n' % port)
    ref = os.path.join(TMP, "ref.lua")
    r = ohm("config", "save", "--config", inv, "pdu", "-o", ref)
    T.eq(r.returncode, 0, "reference saved")
    rules = os.path.join(TMP, "diff.lua")
    open(rules, "w").write('on("pdu", "COMMOK", config_diff{"pdu", file = '
                           '"%s"})\n' % ref)
    r = ohm("rules", "test", "--config", inv, rules, "COMMOK", "pdu")
    T.ok(r.returncode == 0 and "config_diff: ok" in r.stdout,
         "rules test: config_diff ok while the unit equals the file",
         r.stdout + r.stderr)
    ohm("set", "--config", inv, "pdu", "%s=12" % VAR)
    r = ohm("rules", "test", "--config", inv, rules, "COMMOK", "pdu")
    T.ok(r.returncode == 1 and
         "drift: pdu: %s 12 (file 16)" % VAR in r.stdout + r.stderr,
         "rules test: config_diff fails naming the drift",
         r.stdout + r.stderr)
    bad = os.path.join(TMP, "bad.lua")
    open(bad, "w").write('every("@daily", config_diff{file = "%s"})\n' % ref)
    r = ohm("rules", "test", "--config", inv, bad, "COMMOK", "pdu")
    T.ok(r.returncode != 0 and "name the devices" in r.stderr,
         "config_diff without devices is refused at load", r.stderr)

    stamp = os.path.join(TMP, "notified")
    sched = os.path.join(TMP, "sched.lua")
    open(sched, "w").write(
        'every("* * * * *", config_diff{"pdu", file = "%s"})\n'
        'on("pdu", "CONFIGDRIFT", exec{"/bin/sh", "-c", '
        '"echo $NOTIFYTYPE $UPSNAME > %s"})\n' % (ref, stamp))
    log = os.path.join(TMP, "ev.jsonl")
    start(OHM, "serve", "--config", inv, "--rules", sched, "--events-log",
          log, "--interval", "5", "-q")
    minute = (int(time.time()) // 60 + 1) * 60
    while time.time() < minute + 10 and not os.path.exists(stamp):
        time.sleep(0.2)
    note = open(stamp).read().strip() if os.path.exists(stamp) else ""
    T.eq(note, "CONFIGDRIFT pdu",
         "the schedule's drift fires CONFIGDRIFT, which notifies")
    lines = [json.loads(l) for l in open(log)] if os.path.exists(log) else []
    jobs = [l for l in lines if l.get("job") == "config_diff"]
    T.ok(jobs and jobs[0].get("outcome") == "failed" and
         "%s 12 (file 16)" % VAR in jobs[0].get("detail", ""),
         "the event log has the scheduled diff's drift", lines)


run(main)
