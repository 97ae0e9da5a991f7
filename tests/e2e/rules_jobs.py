"""`ohm rules test FILE EVENT DEVICE` (and --dry-run, serve --check) with
real peers on loopback: an exec job (argv, no shell, NOTIFYTYPE/UPSNAME
and the values in its environment), a webhook POST with placeholders
(a Python HTTP server), RFC 5424 syslog over UDP (a UDP receiver), mail
through SMTP (python3-aiosmtpd) to two recipients, Lua functions; a hung
job killed at its timeout; retries; the event log; and the rules file's
mistakes reported in one line (unknown event with a suggestion, exec
without a path, a bad cron expression, a rule that loops or eats memory)."""
import http.server
import json
import os
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.environ["OHM_TOP"], "tests"))
from lib import T, PY, ohm, free_port, start, run  # noqa: E402

TMP = os.environ.get("TMPDIR", "/tmp")
EVLOG = os.path.join(TMP, "events.jsonl")
posts = []


class Hook(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        n = int(self.headers.get("Content-Length", 0))
        posts.append((time.time(), self.path, dict(self.headers),
                      self.rfile.read(n).decode()))
        self.send_response(500 if self.path == "/fail" else 200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_GET = do_POST

    def log_message(self, *a):
        pass


def http_server():
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv.server_address[1]


def smtp_server(port, box):
    """aiosmtpd writing each message to box/N.eml."""
    code = f"""
import asyncio, os, sys
from aiosmtpd.controller import Controller
class H:
    async def handle_DATA(self, server, session, envelope):
        n = len(os.listdir({box!r}))
        with open(os.path.join({box!r}, f"{{n}}.eml"), "wb") as f:
            f.write(("RCPT: " + ",".join(envelope.rcpt_tos) + "\\n").encode())
            f.write(envelope.content)
        return "250 OK"
c = Controller(H(), hostname="127.0.0.1", port={port})
c.start()
print("ready", flush=True)
sys.stdin.read()
"""
    p = start(PY, "-c", code, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
              text=True)
    return p.stdout.readline().strip() == "ready"


def rules(text):
    path = os.path.join(TMP, "rules.lua")
    with open(path, "w") as f:
        f.write(text)
    return path


def log_lines():
    try:
        with open(EVLOG) as f:
            return [json.loads(l) for l in f]
    except FileNotFoundError:
        return []


def test_jobs(hport, uport, sport, box):
    envf = os.path.join(TMP, "env.txt")
    literal = os.path.join(TMP, "a $HOME;b")
    cfg = os.path.join(TMP, "inv.lua")
    with open(cfg, "w") as f:
        f.write(f'smtp = {{ url = "smtp://127.0.0.1:{sport}", '
                'from = "ohm@example.com" }\n'
                'devices = { ups1 = { uri = "sim:bps2000v2" } }\n')
    path = rules(f"""
on("ups*", "ONBATT", log(),
   exec{{"/usr/bin/touch", "{literal}"}},
   exec{{"/bin/sh", "-c", "env > {envf}"}},
   http{{url = "http://127.0.0.1:{hport}/hook", method = "POST",
        body = "{{device}} {{event}} V={{var:input.L1-N.voltage}}",
        headers = {{"X-Test: yes"}}}},
   syslog{{server = "127.0.0.1:{uport}"}},
   mail{{to = {{"ops@example.com", "noc@example.com"}},
        subject = "{{device}} on battery"}},
   function(ev) print("lua saw", ev.device, ev.event,
                      type(ev.values["input.L1-N.voltage"])) end,
   function(ev) print("other device", type(values("ups1")["input.L1-N.voltage"]),
                      values("nope")) end)
""")
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1", uport))
    udp.settimeout(5)
    t0 = time.time()
    r = ohm("rules", "test", "--config", cfg, "--events-log", EVLOG, path,
            "ONBATT", "ups1")
    T.ok(r.returncode == 0, "rules test runs every job and exits 0",
         "exit %d\n%s" % (r.returncode, r.stderr[-3000:]))
    for job in ("log", "exec", "http", "syslog", "mail", "function"):
        T.ok(f"ups1 ONBATT: {job}: ok" in r.stdout, f"{job} job ok", r.stdout +
             r.stderr)
    T.ok("lua saw\tups1\tONBATT\tnumber" in r.stdout,
         "a Lua job sees the device's values as numbers", r.stdout)
    T.ok("other device\tnumber\tnil" in r.stdout,
         "values(DEVICE) reads a device's latest values (nil if none)",
         r.stdout)
    T.ok(os.path.exists(literal), "exec: argv as given, no shell")
    env = open(envf).read().splitlines()
    T.ok("NOTIFYTYPE=ONBATT" in env and "UPSNAME=ups1" in env,
         "exec: NOTIFYTYPE and UPSNAME in the environment", env)
    T.ok(any(l.startswith("OHM_INPUT_L1_N_VOLTAGE=") for l in env),
         "exec: the values in the environment", env)
    T.ok(len(posts) == 1 and posts[0][1] == "/hook"
         and posts[0][3].startswith("ups1 ONBATT V=2")
         and posts[0][2].get("X-Test") == "yes",
         "http: a POST with placeholders and headers", posts)
    msg = udp.recv(2048).decode()
    T.ok(msg.startswith("<28>1 ") and msg.endswith(" ohm %s - - ups1: ONBATT"
                                                    % msg.split()[4]),
         "syslog: one RFC 5424 line over UDP", msg)
    mails = sorted(os.listdir(box))
    body = open(os.path.join(box, mails[0])).read() if mails else ""
    T.ok(len(mails) == 1 and "RCPT: ops@example.com,noc@example.com" in body
         and "Subject: ups1 on battery" in body,
         "mail: one message to both recipients with the subject", body)
    T.ok(time.time() - t0 < 10, "all of it within 10 s")
    lines = log_lines()
    ev = [l for l in lines if "jobs" in l]
    T.ok(len(ev) == 1 and ev[0]["device"] == "ups1"
         and ev[0]["jobs"] == ["log", "exec", "exec", "http", "syslog",
                               "mail", "function", "function"]
         and "input.L1-N.voltage" in ev[0]["values"],
         "the event log: the event with its values and jobs", ev)
    outs = [l for l in lines if "outcome" in l]
    T.ok(len(outs) == 8 and all(l["outcome"] == "ok" and l["id"] == ev[0]["id"]
                                for l in outs),
         "the event log: each job's outcome, pointing at the event", outs)


def test_timeout_and_retries(hport):
    pidf = os.path.join(TMP, "hung.pid")
    path = rules(f"""
on("ups1", "LOWBATT", exec{{"/bin/sh", "-c", "echo $$ > {pidf}; exec sleep 60",
                          timeout = 0.5}})
on("ups1", "LOWBATT", http{{url = "http://127.0.0.1:{hport}/fail",
                           method = "POST", retries = 2, retry_delay = 0.1}})
""")
    t0 = time.time()
    r = ohm("rules", "test", "--events-log", EVLOG, path, "LOWBATT", "ups1")
    took = time.time() - t0
    T.eq(r.returncode, 1, "a failed job makes rules test exit 1")
    T.ok("exec: timeout (killed at its timeout, 0.5 s)" in r.stdout,
         "a hung exec job is killed at its timeout", r.stdout)
    pid = int(open(pidf).read())
    T.ok(not os.path.exists(f"/proc/{pid}"), "the hung process is gone")
    T.ok(took < 5, "and nothing waited for it (%.1f s)" % took)
    fails = [l for l in log_lines() if l.get("job") == "http"
             and l["event"] == "LOWBATT"]
    T.ok([l["attempt"] for l in fails] == [1, 2, 3]
         and all(l["detail"] == "HTTP 500" for l in fails),
         "http 500: retried twice, each attempt logged", fails)


def test_dry_run_and_check(hport):
    marker = os.path.join(TMP, "ran")
    path = rules(f"""
on("ups1", "ONBATT", exec{{"/usr/bin/touch", "{marker}"}},
   after(30, "onbatt30", http{{url = "http://127.0.0.1:{hport}/late"}}))
on("ups1", "ONLINE", cancel("onbatt30"))
on("pdu*", when(function(v) return v["input.L1.current"] > 14 end,
                {{hold = 60}}), "L1HIGH", log())
every("0 3 * * 1", cmd("ups1", "test.battery.start.quick"))
""")
    before = len(log_lines())
    r = ohm("rules", "test", "--dry-run", "--events-log", EVLOG, path,
            "ONBATT", "ups1")
    T.ok(r.returncode == 0 and f"ups1 ONBATT: would run exec /usr/bin/touch "
         f"{marker}" in r.stdout and "would run after" in r.stdout,
         "--dry-run prints the jobs", r.stdout + r.stderr)
    T.ok(not os.path.exists(marker) and len(log_lines()) == before,
         "--dry-run runs nothing and logs nothing")
    r = ohm("serve", "--rules", path, "--check")
    want = ["rule 1: on ups1 ONBATT -> exec, after(30 s, onbatt30: http)",
            "rule 2: on ups1 ONLINE -> cancel(onbatt30)",
            "rule 3: on pdu* when a condition holds 60s: L1HIGH -> log",
            "schedule 1: every '0 3 * * 1' (next "]
    T.ok(r.returncode == 0 and all(w in r.stdout for w in want),
         "serve --rules --check prints what the rules do", r.stdout + r.stderr)
    r = ohm("rules", "test", path, "ONLINE", "pdu9", "--events-log", EVLOG)
    T.ok(r.returncode == 1 and "no rule runs on pdu9 ONLINE" in r.stderr,
         "no matching rule: said, exit 1", r.stderr)


def test_mistakes():
    cases = [
        ('on("ups1", "ONBAT", log())', "unknown event 'ONBAT' (did you mean "
         "ONBATT?)"),
        ('on("ups1", "ONBATT", exec{"sh", "-c", "x"})',
         "the first item is the program's path"),
        ('every("61 * * * *", log())', "bad minute field '61'"),
        ('on("ups1", "ONBATT", "mail")', "a job (log(), exec{...}"),
        ('on("ups1", "ONBATT")', "no job given"),
        ('while true do end', "step limit"),
        ('local s = ("x"):rep(40 * 1024 * 1024)', "memory limit"),
        ('io.open("/etc/passwd")', "attempt to index a nil value"),
    ]
    for text, want in cases:
        t0 = time.time()
        r = ohm("serve", "--rules", rules(text), "--check", timeout=60)
        err = r.stderr.strip()
        T.ok(r.returncode == 1 and want in err and len(err.splitlines()) == 1
             and err.startswith("ohm: serve: rules: ") and time.time() - t0 < 30,
             f"refused in one line: {text[:40]}", err)
    path = rules('on("ups1", "ONBATT", function() while true do end end)')
    r = ohm("rules", "test", "--events-log", EVLOG, path, "ONBATT", "ups1")
    T.ok(r.returncode == 1 and "function: failed (stopped: a rule ran over "
         "its step limit)" in r.stdout, "a looping Lua job is stopped",
         r.stdout + r.stderr)


def main():
    hport, uport, sport = http_server(), free_port("udp"), free_port()
    box = os.path.join(TMP, "mail")
    os.makedirs(box)
    if not smtp_server(sport, box):
        T.ok(False, "aiosmtpd starts (python3-aiosmtpd)")
        return
    test_jobs(hport, uport, sport, box)
    test_timeout_and_retries(hport)
    test_dry_run_and_check(hport)
    test_mistakes()


run(main)
