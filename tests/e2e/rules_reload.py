"""`ohm serve --rules FILE` reloads the rules on SIGHUP: the file read and
checked again, a bad one logged in one line while the old rules go on
running, and what the new rules take over: an unchanged when() rule keeps
its state (no second event), a changed one starts afresh, a running
after() timer whose name the new rules still start fires, and traps go to
the new rules. The device is the in-process simulator (sim:bps2000v2);
traps come from net-snmp's snmptrap."""
import http.server
import os
import signal
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.environ["OHM_TOP"], "tests"))
from lib import T, OHM, free_port, start, run, wait_port  # noqa: E402

TMP = os.environ.get("TMPDIR", "/tmp")
posts = []


class Hook(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        n = int(self.headers.get("Content-Length", 0))
        posts.append((self.path, self.rfile.read(n).decode()))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *a):
        pass


def wait_for(cond, seconds=8):
    end = time.time() + seconds
    while time.time() < end and not cond():
        time.sleep(0.05)
    return cond()


def count(path):
    return sum(1 for p, _ in posts if p == path)


def rules_text(hport, up2_hold, trap_path, extra=""):
    url = f"http://127.0.0.1:{hport}"
    return f"""
local always = function(v) return true end
on("pdu1", when(always, {{hold = 0}}), "UP",
   http{{url = "{url}/up", method = "POST"}},
   after(4, "later", http{{url = "{url}/later", method = "POST"}}))
on("pdu1", when(always, {{hold = {up2_hold}}}), "UP2",
   http{{url = "{url}/up2", method = "POST"}})
on("*", "TRAP", http{{url = "{url}/{trap_path}", method = "POST"}})
{extra}
"""


def trap(port):
    return subprocess.run(
        ["snmptrap", "-v2c", "-c", "public", "-M", "/nonexistent", "-m", "",
         f"udp:127.0.0.1:{port}", "", "1.3.6.1.4.1.3808.0.603"],
        capture_output=True, text=True).returncode


def main():
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    hport = srv.server_address[1]
    inv = os.path.join(TMP, "inv.lua")
    open(inv, "w").write('devices = { pdu1 = "sim:bps2000v2" }\n')
    rules = os.path.join(TMP, "rules.lua")
    open(rules, "w").write(rules_text(hport, 0, "trap1"))
    tport = free_port("udp")
    err = open(os.path.join(TMP, "serve.err"), "w")
    p = start(OHM, "serve", "--config", inv, "--rules", rules,
              "--events-log", os.path.join(TMP, "ev.jsonl"), "--traps",
              f"127.0.0.1:{tport}", "--interval", "0.2", stderr=err)
    T.ok(wait_port(tport, "udp", 10), "serve --rules --traps runs")
    T.ok(wait_for(lambda: count("/up") == 1 and count("/up2") == 1),
         "both conditions fire once", posts)
    T.eq(trap(tport), 0, "a trap is sent")
    T.ok(wait_for(lambda: count("/trap1") == 1), "its rule runs", posts)
    # new file: UP unchanged, UP2's hold changed, traps to another path
    open(rules, "w").write(rules_text(hport, 0.3, "trap2"))
    p.send_signal(signal.SIGHUP)
    T.ok(wait_for(lambda: count("/up2") == 2),
         "a changed when() rule starts afresh and fires again", posts)
    T.ok(wait_for(lambda: count("/later") == 1),
         "the running after() timer is kept and fires", posts)
    T.eq(trap(tport), 0, "a trap is sent after the reload")
    T.ok(wait_for(lambda: count("/trap2") == 1) and count("/trap1") == 1,
         "traps go to the new rules", posts)
    time.sleep(1)
    T.eq(count("/up"), 1, "an unchanged when() rule keeps its state: "
         "no second UP")
    # a bad file: one line, the old rules go on
    open(rules, "w").write(rules_text(hport, 0.3, "trap3",
                                      'on("pdu1", "ONBAT", log())'))
    size = os.path.getsize(err.name)
    p.send_signal(signal.SIGHUP)
    wait_for(lambda: "keeping the old rules" in open(err.name).read()[size:])
    time.sleep(0.5)  # and no second line
    new = open(err.name).read()[size:]
    lines = [l for l in new.splitlines() if "rules" in l]
    T.ok(len(lines) == 1 and "keeping the old rules" in lines[0]
         and "ONBAT" in lines[0], "a bad rules file: one line saying so",
         new)
    T.eq(trap(tport), 0, "a trap is sent after the bad reload")
    T.ok(wait_for(lambda: count("/trap2") == 2) and count("/trap3") == 0,
         "the old rules still run", posts)
    T.ok(p.poll() is None, "serve still runs")
    p.send_signal(signal.SIGTERM)
    T.eq(p.wait(15), 0, "serve stops cleanly after the reloads")
    srv.shutdown()


run(main)
