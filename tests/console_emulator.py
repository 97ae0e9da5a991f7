"""An emulator of the BKT BPS2000v2 Telnet console (manual section 9), for
testing ohm's telnet:// client against something that is NOT ohm's own
server. Written from the manual's screens; plain sockets, its own IAC
handling. Run with Debian's python3:

  console_emulator.py PORT --user U --password P [--log FILE] [--mode M]
                      [--slaves N] [--words W]

MODE: manual   the screens as the manual prints them (default)
      sloppy   the same with blank lines, odd spacing, other case and
               trailing text, as firmware variants and terminals produce
      alien    after login, screen 1 is something else entirely
      hangup   hang up after a wrong password instead of asking again
      garbled  the menus as printed, but every reading and threshold line
               of the screens garbled (line noise, a firmware bug)
WORDS: how screen 1 takes its items (the manual prints only "master load"):
      joined   the words run together: "master totalenergy" (default)
      spaced   as the menu prints them: "master total energy"
      number   the item's number only: "master 8"
      noenergy Total Energy refused in every spelling, the rest joined
The log gets one line per event: "login ok", "login failed", "cmd TEXT".
"""
import argparse
import socketserver
import threading
import time

IAC, DONT, DO, WONT, WILL, SB, SE = 255, 254, 253, 252, 251, 250, 240
PROMPT = "Please enter the command:"

MENU = ["Command:", "1.Show information", "2.Set time and date", "3.Users",
        "4.Network Settings", "5.SNMP service", "6.HTTP Settings",
        "7.SMTP Settings", "8.Threshold Settings", "9.Clear energy Phase",
        "10.Restart", "11.Logout", ""]

# Per unit (0 master, 1.. slaves): readings as the web page shows them.
def unit_values(u):
    k = u + 1
    return {
        "load": [12.34 * k, 5.67, 0.89], "voltage": [239.7, 240.0, 240.3],
        "activepower": [2.3, 0.0, 100.5], "apparentpower": [7.1, 0, 0],
        "reactivepower": [6.7, 0, 0], "frequency": [50.0, 50.01, 49.99],
        "pf": [0.32, 0, 1.0], "energy": [1800.12, 0.48, 0.0],
        "apparent": [1944.13, 0.5, 0.0],
        "thresh": {"current": [[32.0, 16.0, 0.0, 0.0] for _ in range(3)],
                   "voltage": [[276.0, 250.0, 170.0, 0.0] for _ in range(3)],
                   "temperature": [40, 35, 5, 0], "humidity": [99, 80, 0, 0]},
    }


class State:
    def __init__(self, a):
        self.a = a
        self.units = [unit_values(u) for u in range(a.slaves + 1)]
        self.lock = threading.Lock()

    def log(self, line):
        if self.a.log:
            with self.lock, open(self.a.log, "a") as f:
                f.write(line + "\n")


def phases(title, vals, dec, unit):
    return title + " " + " ".join(
        "Phase%d:%.*f%s" % (i + 1, dec, v, unit) for i, v in enumerate(vals))


ITEMS = ["load", "voltage", "activepower", "apparentpower", "reactivepower",
         "frequency", "pf", "totalenergy", "sensor"]
SPACED = {"totalenergy": "total energy"}


def show_item(words, said):
    """The item a screen 1 command names in this unit's spelling, or
    None if the unit does not take it."""
    if words == "number":
        return ITEMS[int(said) - 1] if said.isdigit() and \
            1 <= int(said) <= len(ITEMS) else None
    if words == "spaced":
        for item in ITEMS:
            if said == SPACED.get(item, item):
                return item
        return None
    if words == "noenergy" and said in ("totalenergy", "energy"):
        return None
    return said


def show_reply(v, item):
    table = {"load": ("Load", 2, "A"), "voltage": ("Voltage", 1, "V"),
             "activepower": ("ActivePower", 1, "W"),
             "apparentpower": ("ApparentPower", 1, "VA"),
             "reactivepower": ("ReactivePower", 1, "VAR"),
             "frequency": ("Frequency", 2, "Hz"), "pf": ("PF", 2, "")}
    if item in table:
        t, d, u = table[item]
        return [phases(t, v[item], d, u)]
    if item in ("totalenergy", "energy"):
        return [phases("Total Energy", v["energy"], 2, "kWh") +
                " Total:%.2fkWh" % sum(v["energy"]),
                phases("Apparent Energy", v["apparent"], 2, "kVAh") +
                " Total:%.2fkVAh" % sum(v["apparent"])]
    if item == "sensor":
        return ["Sensor Temperature:25.4C Humidity:41.1%",
                "SensorBox Temperature1:24.2C Temperature2:24.1C "
                "Humidity1:50.0% Humidity2:50.0%",
                "SensorBox Door1:Closed Door2:Open Smoke:No Water:-"]
    return None


def garble(line):
    """Line noise: digits and separators replaced, as a bad link shows."""
    return "".join("#" if c.isdigit() else "~" if c in ":." else c
                   for c in line)


def thresh_lines(v):
    t = v["thresh"]
    out = []
    for q, name, unit in (("current", "Current", "A"),
                          ("voltage", "Voltage", "V")):
        for i in range(3):
            ha, hw, lw, la = t[q][i]
            out.append("Phase %d %s [%s]: High Alarm:%.1f%s High Warning:%.1f%s "
                       "Low Warning:%.1f%s Low Alarm:%.1f%s" %
                       (i + 1, name, unit, ha, unit, hw, unit, lw, unit, la,
                        unit))
    for q, name, unit in (("temperature", "Temperature [C]", "C"),
                          ("humidity", "Humidity [%]", "%")):
        ha, hw, lw, la = t[q]
        out.append("%s: High Alarm:%d%s High Warning:%d%s Low Warning:%d%s "
                   "Low Alarm:%d%s" % (name, ha, unit, hw, unit, lw, unit,
                                       la, unit))
    return out


class Session(socketserver.BaseRequestHandler):
    def setup(self):
        self.st = self.server.state
        self.mode = self.st.a.mode
        self.buf = b""
        self.screen = 0

    def out(self, lines, prompt=None):
        """Send lines (CR LF), the sloppy mode's way if asked."""
        text = ""
        for l in lines:
            if self.mode == "sloppy" and l:
                l = "  " + l.replace(":", " : ", 1).swapcase() + "   (ok)"
                text += "\r\n"
            text += l + "\r\n"
        if prompt:
            text += (prompt.lower() + "  ") if self.mode == "sloppy" else prompt
        self.request.sendall(text.encode())

    def readline(self):
        while b"\r" not in self.buf and b"\n" not in self.buf:
            d = self.request.recv(4096)
            if not d:
                return None
            self.buf += d
            self.buf = strip_iac(self.buf)
        i = min(x for x in (self.buf.find(b"\r"), self.buf.find(b"\n"))
                if x >= 0)
        line, self.buf = self.buf[:i], self.buf[i + 1:].lstrip(b"\n\x00")
        return line.decode("latin1").strip()

    def handle(self):
        a = self.st.a
        self.request.sendall(bytes([IAC, WILL, 1, IAC, WILL, 3]))
        self.out(["Last Update Time : 2014-10-20", "Version : 1.0.0",
                  "Date:2019-01-23 Time:09:48:45",
                  "Up time : 0Days 17Hours 47Minute",
                  "BKT ELEKTRONIK 69 Lochowska Str., 86-005 Biale Blota, "
                  "www.bkte.pl", ""])
        while True:
            self.out([], "Telnet Account:")
            user = self.readline()
            self.out([], "Password:")
            pw = self.readline()
            if user is None or pw is None:
                return
            if user == a.user and pw == a.password:
                break
            self.st.log("login failed")
            if self.mode == "hangup":
                return
        self.st.log("login ok")
        self.out(MENU, PROMPT)
        while True:
            line = self.readline()
            if line is None:
                return
            self.st.log("cmd " + line)
            if not self.command(line):
                return

    def command(self, line):
        if self.screen == 0:
            return self.main(line)
        back = {1: "10", 8: "5", 9: "2", 10: "3"}[self.screen]
        if line == back:
            self.screen = 0
            self.out(MENU, PROMPT)
            return True
        words = line.split()
        unit = 0
        if words and words[0].startswith("slave"):
            unit = int(words[0][5:] or 0)
            line = " ".join(words[1:])
        elif words and words[0] == "master":
            line = " ".join(words[1:])
        if unit >= len(self.st.units):
            self.out(["Error: no such unit", ""], PROMPT)
            return True
        v = self.st.units[unit]
        if self.screen == 1:
            item = show_item(self.st.a.words, line.strip().lower())
            r = show_reply(v, item) if item else None
            if r and self.mode == "garbled":
                r = [garble(x) for x in r]
            self.out((r or ["Command format:master load or slave1 load"])
                     + [""], PROMPT)
        elif self.screen == 8:
            self.thresh(v, line)
        elif self.screen == 9:
            ok = line.strip() in ("clearp1", "clearp2", "clearp3")
            if ok:
                v["energy"][int(line.strip()[-1]) - 1] = 0.0
            self.out(["Clear OK" if ok else "Command format: clearp1"],
                     PROMPT)
        return True

    def thresh(self, v, line):
        if not line:
            self.out(thresh_lines(v), PROMPT)
            return
        name, _, vals = line.partition(":")
        names = {"current one": ("current", 0), "current two": ("current", 1),
                 "current three": ("current", 2),
                 "voltage one": ("voltage", 0), "voltage two": ("voltage", 1),
                 "voltage three": ("voltage", 2),
                 "temperature": ("temperature", None),
                 "humidity": ("humidity", None)}
        nums = [x for x in vals.split("&") if x]
        if name.strip() not in names or len(nums) != 4:
            self.out(["Command format: current one:xx&xx&xx&xx"], PROMPT)
            return
        q, i = names[name.strip()]
        new = [float(x) for x in nums]
        if i is None:
            v["thresh"][q] = new
        else:
            v["thresh"][q][i] = new
        self.out(["Set OK"], PROMPT)

    def main(self, line):
        if line == "11":
            return False
        if line == "1":
            self.screen = 1
            if self.mode == "alien":
                self.out(["Welcome to the maintenance shell", "0.Exit"],
                         PROMPT)
                return True
            self.out(["Command:1.Load 2.Voltage 3.ActivePower "
                      "4.ApparentPower 5.ReactivePower 6.Frequency 7.PF "
                      "8.Total Energy 9.Sensor 10.Back",
                      "Command format:master load or slave1 load"], PROMPT)
        elif line == "8":
            self.screen = 8
            lines = thresh_lines(self.st.units[0])
            if self.mode == "garbled":
                lines = [garble(x) for x in lines]
            self.out(["Threshold Settings"] + lines +
                     ["Command:1.Set Current 2.Set Voltage 3.Set "
                      "Temperature 4.Set Humidity 5.Back",
                      "Command format: current one:xx&xx&xx&xx"], PROMPT)
        elif line == "9":
            self.screen = 9
            e = self.st.units[0]["energy"]
            self.out(["Clear energy Phase"] +
                     ["Phase%d energy:%d" % (i + 1, e[i] * 1000)
                      for i in range(3)] +
                     ["Command:1.Clear energy 2.Back",
                      "Command format: clearp1"], PROMPT)
        else:
            self.out(["", ""], PROMPT)
        return True


def strip_iac(b):
    out = bytearray()
    i = 0
    while i < len(b):
        if b[i] != IAC:
            out.append(b[i])
            i += 1
        elif i + 1 < len(b) and b[i + 1] in (DO, DONT, WILL, WONT):
            if i + 2 >= len(b):
                return bytes(out) + b[i:]
            i += 3
        elif i + 1 < len(b):
            i += 2
        else:
            return bytes(out) + b[i:]
    return bytes(out)


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


def main():
    p = argparse.ArgumentParser()
    p.add_argument("port", type=int)
    p.add_argument("--user", default="bkt")
    p.add_argument("--password", default="bkt")
    p.add_argument("--log")
    p.add_argument("--mode", default="manual",
                   choices=["manual", "sloppy", "alien", "hangup",
                            "garbled"])
    p.add_argument("--slaves", type=int, default=1)
    p.add_argument("--words", default="joined",
                   choices=["joined", "spaced", "number", "noenergy"])
    a = p.parse_args()
    srv = Server(("127.0.0.1", a.port), Session)
    srv.state = State(a)
    srv.serve_forever()


if __name__ == "__main__":
    main()
