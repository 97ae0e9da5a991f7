"""`ohm events` over an event log: the default place ($XDG_STATE_HOME),
--events-log, --device patterns, --since (date and age), --json, --csv,
rotated files read first, --follow printing a line appended later (and
after a rotation), a torn last line never shown, bad options refused."""
import os
import select
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.environ["OHM_TOP"], "tests"))
from lib import T, OHM, ohm, start, run  # noqa: E402

TMP = os.environ.get("TMPDIR", "/tmp")


def iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(t))


def line(t, dev, ev, extra=""):
    return ('{"time":"%s","device":"%s","event":"%s"%s}\n'
            % (iso(t), dev, ev, extra))


def readline(p, seconds=5):
    """A line from p's stdout within seconds, or "" (no hang)."""
    if select.select([p.stdout], [], [], seconds)[0]:
        return p.stdout.readline()
    return ""


def main():
    now = time.time()
    state = os.path.join(TMP, "state")
    path = os.path.join(state, "ohm", "events.jsonl")
    os.makedirs(os.path.dirname(path))
    with open(path + ".1", "w") as f:
        f.write(line(now - 3 * 86400, "ups1", "ONLINE"))
    with open(path, "w") as f:
        f.write(line(now - 7200, "ups1", "ONBATT",
                     ',"values":{"ups.status":"OB","battery.charge":97}'))
        f.write(line(now - 60, "pdu1", "L1HIGH"))
        f.write(line(now - 30, "ups1", "ONBATT",
                     ',"job":"mail","outcome":"failed","detail":"no, \\"smtp\\""'))
        f.write('{"time":"%s","device":"ups1","ev' % iso(now))  # torn
    env = {"XDG_STATE_HOME": state}

    r = ohm("events", env=env)
    out = r.stdout.splitlines()
    T.eq(r.returncode, 0, "events exits 0")
    T.eq(len(out), 4, "four whole events, the torn line left out")
    T.ok("ONLINE" in out[0], "the rotated file comes first", out)
    T.ok('"battery.charge":97' in out[1], "values shown", out)
    T.ok("job mail: failed" in out[3], "a job outcome line", out)

    r = ohm("events", "--device", "ups*", env=env)
    T.ok(len(r.stdout.splitlines()) == 3 and "pdu1" not in r.stdout,
         "--device takes a pattern", r.stdout)
    r = ohm("events", "--since", "1h", env=env)
    T.eq(len(r.stdout.splitlines()), 2, "--since 1h: the last hour only")
    day = time.strftime("%Y-%m-%d", time.localtime(now - 86400))
    r = ohm("events", "--since", day, env=env)
    T.eq(len(r.stdout.splitlines()), 3, "--since DATE (local)")

    r = ohm("events", "--json", "--device", "pdu1", env=env)
    T.eq(r.stdout, line(now - 60, "pdu1", "L1HIGH"), "--json: the line as is")
    r = ohm("events", "--csv", "--since", "2m", env=env)
    T.eq(r.stdout.splitlines(),
         ["time,device,event,job,outcome,detail",
          "%s,pdu1,L1HIGH,,," % iso(now - 60),
          '%s,ups1,ONBATT,mail,failed,"no, ""smtp"""' % iso(now - 30)],
         "--csv with a header and RFC 4180 quoting")

    other = os.path.join(TMP, "other.jsonl")
    with open(other, "w") as f:
        f.write(line(now, "bm1", "TRAP"))
    r = ohm("events", "--events-log", other, env=env)
    T.ok("bm1 TRAP" in r.stdout, "--events-log FILE", r.stdout)

    r = ohm("events", "--since", "yesterday", env=env)
    T.ok(r.returncode == 2 and "bad --since" in r.stderr,
         "a bad --since is a usage error", r.stderr)
    r = ohm("events", "--events-log", os.path.join(TMP, "none"))
    T.ok(r.returncode == 1 and "no event log" in r.stderr
         and len(r.stderr.splitlines()) == 1, "a missing log: one line",
         r.stderr)

    with open(path, "r+") as f:  # cut the torn line for the follow test
        f.truncate(len(f.read().rsplit("\n", 1)[0]) + 1)
    p = start(OHM, "events", "--follow", "--since", "10s", env={**os.environ, **env},
              stdout=subprocess.PIPE, text=True)
    time.sleep(0.5)
    with open(path, "a") as f:
        f.write(line(time.time(), "ups2", "LOWBATT"))
    got = readline(p)
    T.ok("ups2 LOWBATT" in got, "--follow prints a new line", got)
    os.rename(path, path + ".1")
    with open(path, "w") as f:
        f.write(line(time.time(), "ups3", "FSD"))
    got = readline(p)
    T.ok("ups3 FSD" in got, "--follow goes on after a rotation", got)
    p.terminate()
    T.eq(p.wait(5), 0, "--follow stops cleanly on SIGTERM")


run(main)
