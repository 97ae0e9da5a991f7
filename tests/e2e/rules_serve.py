"""`ohm serve --rules FILE` against a UPS simulated by net-snmp's snmpd (a
`pass` program reading a state file, tests/ups_pass.py): going OB then LB,
one rules file writes the event log, sends a mail (python3-aiosmtpd),
calls a webhook (a Python HTTP server), sends a syslog line (a UDP
receiver) and runs exec jobs, each within 2 s of the change being read;
a hung job is killed at its timeout while other jobs and polling go on;
an after() timer fires, and is cancelled by the opposite event; a
condition with a hold time fires once; a flapping UPS gives a bounded
number of notifications and a summary of the rest."""
import http.server
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request

sys.path.insert(0, os.path.join(os.environ["OHM_TOP"], "tests"))
from lib import T, OHM, PY, TOP, free_port, start, run  # noqa: E402
import snmplib as S  # noqa: E402

TMP = os.environ.get("TMPDIR", "/tmp")
EVLOG = os.path.join(TMP, "events.jsonl")
STATE = os.path.join(TMP, "ups.json")
posts = []


class Hook(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        n = int(self.headers.get("Content-Length", 0))
        posts.append((time.time(), self.path, self.rfile.read(n).decode()))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_GET = do_POST

    def log_message(self, *a):
        pass


def ups(**kw):
    st = {"source": 3, "battery": 2, "charge": 100, "flap": False}
    if os.path.exists(STATE):
        st.update(json.load(open(STATE)))
    st.update(kw)
    with open(STATE + ".tmp", "w") as f:
        json.dump(st, f)
    os.rename(STATE + ".tmp", STATE)


def start_agent(port):
    wrapper = os.path.join(TMP, "pass.sh")
    with open(wrapper, "w") as f:
        f.write(f"#!/bin/sh\nexec {PY} {TOP}/tests/ups_pass.py {STATE} "
                '"$@"\n')
    os.chmod(wrapper, 0o755)
    conf = os.path.join(TMP, "snmpd.conf")
    with open(conf, "w") as f:
        f.write(f"agentAddress udp:127.0.0.1:{port}\n"
                "rocommunity public 127.0.0.1\n"
                f"pass_persist .1.3.6.1.2.1.33 {wrapper}\n")
    p = start("snmpd", "-f", "-Lf", os.path.join(TMP, "snmpd.log"), "-C",
              "-c", conf, "-M", "/nonexistent", "-m", "",
              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
              env=dict(os.environ, SNMP_PERSISTENT_DIR=TMP, MIBS=""))
    S.wait_answer(port, "public", p)


def smtp(port, box):
    code = f"""
import os, sys
from aiosmtpd.controller import Controller
class H:
    async def handle_DATA(self, server, session, envelope):
        with open(os.path.join({box!r}, str(len(os.listdir({box!r})))), "w") as f:
            f.write(envelope.content.decode())
        return "250 OK"
Controller(H(), hostname="127.0.0.1", port={port}).start()
print("ready", flush=True)
sys.stdin.read()
"""
    p = start(PY, "-c", code, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
              text=True)
    return p.stdout.readline().strip() == "ready"


def events():
    try:
        return [json.loads(l) for l in open(EVLOG)]
    except FileNotFoundError:
        return []


def iso(t):
    tm = time.strptime(t[:19], "%Y-%m-%dT%H:%M:%S")
    return time.mktime(tm) - time.timezone + float(t[19:23])


def wait_for(cond, seconds=6):
    end = time.time() + seconds
    while time.time() < end:
        v = cond()
        if v:
            return v
        time.sleep(0.05)
    return cond()


def event(name, after=0):
    ev = [e for e in events() if e.get("event") == name and "jobs" in e
          and iso(e["time"]) >= after]
    return ev[0] if ev else None


def rules_file(hport, uport, execf):
    hook = f"http://127.0.0.1:{hport}"
    text = f"""
on("ups1", "ONBATT", log(), mail{{to = "ops@example.com"}},
   http{{url = "{hook}/hook", method = "POST", body = "{{device}} {{event}}"}},
   syslog{{server = "127.0.0.1:{uport}"}},
   exec{{"/bin/sh", "-c", "echo $NOTIFYTYPE >> {execf}"}},
   exec{{"/bin/sleep", "30", timeout = 2}},
   after(1, "ob", http{{url = "{hook}/after1"}}))
on("ups1", "LOWBATT", exec{{"/bin/sh", "-c", "echo $NOTIFYTYPE >> {execf}"}},
   http{{url = "{hook}/lowbatt"}})
on("ups1", "ONBATT", after(4, "ob4", http{{url = "{hook}/after4"}}))
on("ups1", "ONLINE", cancel("ob"), cancel("ob4"), log())
on("ups1", when(function(v) return v["battery.charge"] < 30 end,
                {{hold = 0.5, clear = function(v)
                  return v["battery.charge"] > 50 end}}),
   "CHARGELOW", http{{url = "{hook}/chargelow"}})
on("ups1", "NOTCHARGELOW", http{{url = "{hook}/chargeok"}})
on("ups1", {{"ONBATT", "ONLINE"}}, http{{url = "{hook}/storm"}},
   {{limit = 3, per = 2}})
"""
    path = os.path.join(TMP, "rules.lua")
    open(path, "w").write(text)
    return path


def poll_times(port, seconds):
    """ups1's distinct last-update times seen on /metrics for seconds."""
    seen, end = [], time.time() + seconds
    while time.time() < end:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics",
                                        timeout=2) as r:
                for line in r.read().decode().splitlines():
                    if line.startswith("ohm_last_update_timestamp_seconds{"
                                       'device="ups1"'):
                        t = float(line.split()[-1])
                        if not seen or t != seen[-1]:
                            seen.append(t)
        except OSError:
            pass
        time.sleep(0.03)
    return seen


def posted(path, after=0):
    return [p for p in posts if p[1] == path and p[0] >= after]


def main():
    if not shutil.which("snmpd"):
        T.skip("rules_serve", "snmpd not installed")
        return
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    hport, uport, sport, aport = (srv.server_address[1], free_port("udp"),
                                  free_port(), free_port("udp"))
    box = os.path.join(TMP, "mail")
    os.makedirs(box)
    T.ok(smtp(sport, box), "aiosmtpd starts")
    ups()
    start_agent(aport)
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1", uport))
    udp.settimeout(6)
    execf = os.path.join(TMP, "exec.txt")
    cfg = os.path.join(TMP, "inv.lua")
    with open(cfg, "w") as f:
        f.write(f'devices = {{ ups1 = {{ uri = "snmp://public@127.0.0.1:{aport}",'
                ' driver = "ups-mib" } }\n'
                f'smtp = {{ url = "smtp://127.0.0.1:{sport}", from = "ohm@x" }}\n'
                f'events = {{ log = "{EVLOG}" }}\n')
    with open(cfg, "a") as f:  # the inventory names the rules file
        f.write(f'rules = {{ file = "{rules_file(hport, uport, execf)}" }}\n')
    pport = free_port()
    ohm = start(OHM, "serve", "--config", cfg, "--interval", "0.1", "-q",
                "--prometheus", f"127.0.0.1:{pport}")
    time.sleep(1.5)
    T.eq(events(), [], "on line at start: no event")

    ups(source=5)  # on battery
    ob = wait_for(lambda: event("ONBATT"))
    T.ok(ob is not None, "ONBATT in the event log", events())
    t_ev = iso(ob["time"]) if ob else time.time()
    T.ok(ob and ob["values"].get("ups.status") == "OB"
         and ob["values"].get("battery.charge") == 100,
         "the event line has the values that mattered", ob)
    got = wait_for(lambda: posted("/hook"))
    T.ok(got and got[0][2] == "ups1 ONBATT" and got[0][0] - t_ev < 2,
         "webhook within 2 s of the change being read", got)
    mail = wait_for(lambda: os.listdir(box))
    T.ok(mail and "Subject: ohm: ups1 ONBATT" in
         open(os.path.join(box, mail[0])).read(), "mail received", mail)
    try:
        msg, t_sys = udp.recv(2048).decode(), time.time()
    except socket.timeout:
        msg, t_sys = "", 1e12
    T.ok(msg.endswith("ups1: ONBATT") and t_sys - t_ev < 2,
         "syslog line within 2 s", msg)
    T.ok(wait_for(lambda: os.path.exists(execf) and
                  open(execf).read() == "ONBATT\n"), "exec job ran")

    polls = poll_times(pport, 1.5)  # while the hung job runs
    gaps = [b - a for a, b in zip(polls, polls[1:])]
    T.ok(len(polls) >= 5 and max(gaps) < 1.0,
         "polling goes on every interval while a job hangs "
         f"({len(polls)} polls in 1.5 s, longest gap "
         f"{max(gaps) if gaps else 0:.2f} s)", polls)
    t_lb = time.time()
    ups(battery=3)  # low battery, while the hung job still runs
    lb = wait_for(lambda: posted("/lowbatt"), 4)
    T.ok(lb and lb[0][0] - t_lb < 2,
         "LOWBATT jobs run within 2 s although another job hangs", lb)
    T.ok(wait_for(lambda: open(execf).read() == "ONBATT\nLOWBATT\n"),
         "LOWBATT exec ran")
    a1 = wait_for(lambda: posted("/after1"), 4)
    T.ok(a1 and 0.8 < a1[0][0] - t_ev < 2.5, "after(1) fired about 1 s "
         "after ONBATT", a1 and a1[0][0] - t_ev)
    hung = wait_for(lambda: [e for e in events() if e.get("outcome") ==
                             "timeout"], 5)
    T.ok(hung and hung[0]["detail"] == "killed at its timeout, 2 s",
         "the hung job is killed at its timeout and logged", hung)

    ups(charge=20)
    low = wait_for(lambda: posted("/chargelow"), 5)
    ev = event("CHARGELOW")
    T.ok(low and ev and ev["values"] == {"battery.charge": 20},
         "a condition fires after its hold, with the values it read", ev)

    ups(source=3, battery=2, charge=100)
    T.ok(wait_for(lambda: event("ONLINE")), "ONLINE when back on line")
    t_back = time.time()
    ups(source=5)
    wait_for(lambda: event("ONBATT", t_back))
    ups(source=3)
    wait_for(lambda: event("ONLINE", t_back))
    time.sleep(4.5)
    T.eq(len(posted("/after4", t_back)), 0,
         "ONLINE cancels the after() timer ONBATT started")
    T.eq(len(posted("/chargelow")), 1, "the condition fired once")
    T.eq(len(posted("/chargeok")), 1,
         "its clear() ended it once (NOTCHARGELOW)")

    t_storm = time.time()
    ups(flap=True)
    time.sleep(8)
    ups(flap=False, source=3)
    time.sleep(2.5)
    mine = [e for e in events() if e.get("rule") == 7]  # the storm rule
    sent = [e for e in mine if "jobs" in e and iso(e["time"]) >= t_storm]
    held = sum(e["count"] for e in mine if e["event"] == "SUPPRESSED")
    storm = posted("/storm", t_storm)
    T.ok(len(storm) == len(sent) and len(storm) <= 3 * 6 and held > 0,
         "flapping: at most 3 per 2 s reach the webhook, the rest summed "
         f"up ({len(storm)} sent, {held} held back)", mine)
    T.ok(len(sent) + held >= 40,
         f"the UPS flapped ({len(sent) + held} events in 8 s)")
    ohm.send_signal(signal.SIGTERM)
    T.eq(ohm.wait(15), 0, "serve --rules stops cleanly")
    srv.shutdown()


run(main)
