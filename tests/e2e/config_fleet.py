"""ohm config save/diff/apply across three simulated BPS2000v2 units (three
`ohm sim bps2000v2` on free ports), checked with an independent Modbus
client (mbpoll): save -> edit one value -> diff shows it -> apply to the
three -> diff shows nothing; a value out of range is refused for every
unit before any write; --dry-run writes nothing; a file from another
driver is refused; a unit that does not keep a write (a raw-socket Modbus
peer that acknowledges and forgets) is reported as a read-back mismatch;
thresholds raised together are written high first; on a terminal the
plan is shown and confirmed, with progress; secrets stay out of files."""
import json, os, pty, re, select, socket, struct, subprocess, sys, tempfile
import threading, time
sys.path.insert(0, os.path.join(os.environ["OHM_TOP"], "tests"))
from lib import T, OHM, ohm, free_port, start, wait_port, run

# bps2000v2 registers (DESIGN.md): thresholds 63..86
CUR_LO, CUR_HI = 69, 70      # input.L1.current.low/high.critical, /10 A
HUM_HI = 82                  # ambient.humidity.high.critical, raw %


def mbpoll(port, reg, count=1):
    r = subprocess.run(["mbpoll", "-m", "tcp", "-p", str(port), "-a", "1",
                        "-0", "-r", str(reg), "-c", str(count), "-1",
                        "127.0.0.1"], capture_output=True, text=True,
                       timeout=20)
    vals = {}
    for line in r.stdout.splitlines():
        m = re.match(r"\[(\d+)\]:\s+(-?\d+)", line)
        if m:
            vals[int(m.group(1))] = int(m.group(2))
    return vals


def thresholds(port):
    return mbpoll(port, 63, 24)


def uri(port):
    return "modbus-tcp://127.0.0.1:%d?driver=bps2000v2" % port


def edit(src, dst, changes, driver=None):
    text = open(src).read()
    for name, value in changes.items():
        text, n = re.subn(r'(\["%s"\] = )[^,]+,' % re.escape(name),
                          r"\g<1>%s," % value, text)
        assert n == 1, name
    if driver:
        text = text.replace('driver = "bps2000v2"', 'driver = "%s"' % driver)
    open(dst, "w").write(text)


class ForgetfulPeer:
    """A Modbus TCP unit (raw sockets) that answers function 03 from its
    registers and acknowledges function 06 writes, but keeps none to the
    register `forget`: what a unit with a write-protect jumper does."""

    def __init__(self, port, forget):
        self.regs = [0] * 99
        self.regs[63:69] = [2070, 2530, 2070, 2530, 2070, 2530]
        self.regs[69:75] = [0, 160, 0, 160, 0, 160]
        self.regs[75:87] = [5, 35, 5, 35, 5, 35, 20, 80, 20, 80, 20, 80]
        self.forget = forget
        self.srv = socket.socket()
        self.srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.srv.bind(("127.0.0.1", port))
        self.srv.listen(8)
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while True:
            c, _ = self.srv.accept()
            threading.Thread(target=self.serve, args=(c,), daemon=True).start()

    def serve(self, c):
        with c:
            while True:
                hdr = c.recv(7, socket.MSG_WAITALL)
                if len(hdr) < 7:
                    return
                tid, _, length, uid = struct.unpack(">HHHB", hdr)
                pdu = c.recv(length - 1, socket.MSG_WAITALL)
                fn, addr, val = struct.unpack(">BHH", pdu[:5])
                if fn == 3:
                    data = b"".join(struct.pack(">H", r)
                                    for r in self.regs[addr:addr + val])
                    out = bytes([3, len(data)]) + data
                elif fn == 6:
                    if addr != self.forget:
                        self.regs[addr] = val
                    out = pdu[:5]
                else:
                    out = bytes([fn | 0x80, 1])
                c.sendall(struct.pack(">HHHB", tid, 0, len(out) + 1, uid)
                          + out)


def main():
    tmp = tempfile.mkdtemp()
    ports = [free_port() for _ in range(3)]
    for p in ports:
        start(OHM, "sim", "bps2000v2", "--modbus-tcp", "127.0.0.1:%d" % p,
              "-q")
    T.ok(all(wait_port(p) for p in ports), "three simulators listen")
    units = [uri(p) for p in ports]
    saved = os.path.join(tmp, "pdu.lua")
    with open(saved, "w") as f:
        f.write("old contents\n")
    r = ohm("config", "save", units[0], "-o", saved)
    text = open(saved).read()
    T.ok(r.returncode == 0 and "return {" in text and
         'driver = "bps2000v2"' in text and 'model = "BPS2000v2"' in text and
         re.search(r'time = "\d{4}-\d\d-\d\dT', text) and
         '["input.L1.current.high.critical"] = 16,' in text and
         "input.L1.current\"" not in text,
         "save: writable variables and a header (driver, model, time)",
         r.stderr + text)
    T.eq(sorted(os.listdir(tmp)), ["pdu.lua"],
         "save replaces the file atomically (no temporary left beside it)")
    r = ohm("config", "diff", saved, *units)
    T.eq((r.returncode, r.stdout), (0, ""),
         "diff of the saved file with all three units: nothing, exit 0")

    edited = os.path.join(tmp, "edited.lua")
    edit(saved, edited, {"input.L1.current.high.critical": 12})
    r = ohm("config", "diff", edited, *units)
    rows = [l.split() for l in r.stdout.splitlines()[1:]]
    T.ok(r.returncode == 1 and len(rows) == 3 and
         all(row[1:] == ["input.L1.current.high.critical", "16", "12"]
             for row in rows),
         "diff shows the edited value on every unit (name, device, file); "
         "exit 1", r.stdout + r.stderr)
    r = ohm("config", "diff", "--json", edited, units[0])
    js = json.loads(r.stdout) if r.returncode == 1 else None
    T.eq(js and js[0]["differences"],
         [{"name": "input.L1.current.high.critical", "device": "16",
           "file": "12"}], "diff --json")

    r = ohm("config", "apply", "--dry-run", edited, *units)
    T.ok(r.returncode == 0 and r.stdout.count("would write") == 3 and
         all(mbpoll(p, CUR_HI) == {CUR_HI: 160} for p in ports),
         "--dry-run shows the plan and writes nothing (mbpoll)",
         r.stdout + r.stderr)
    r = ohm("config", "apply", edited, *units)
    T.ok(r.returncode == 2 and "add --yes" in r.stderr and
         all(mbpoll(p, CUR_HI) == {CUR_HI: 160} for p in ports),
         "without a terminal and --yes: refused, nothing written", r.stderr)

    r = ohm("config", "apply", "--yes", "--jobs", "3", edited, *units)
    T.ok(r.returncode == 0 and r.stdout.count("written, read back") == 3,
         "apply to three units: each written and read back, exit 0",
         r.stdout + r.stderr)
    T.ok(all(mbpoll(p, CUR_HI) == {CUR_HI: 120} for p in ports),
         "mbpoll reads 12.0 A on all three units")
    r = ohm("config", "diff", edited, *units)
    T.eq((r.returncode, r.stdout), (0, ""), "diff after apply: nothing, exit 0")
    r = ohm("config", "apply", "--yes", edited, *units)
    T.ok(r.returncode == 0 and r.stdout.count("equal, nothing to write") == 3,
         "apply again: every unit reported equal, nothing written",
         r.stdout + r.stderr)

    before = [thresholds(p) for p in ports]
    bad = os.path.join(tmp, "bad.lua")
    edit(saved, bad, {"ambient.humidity.high.critical": 85,
                      "input.L1-N.voltage.high.critical": 400})
    r = ohm("config", "apply", "--yes", bad, *units)
    T.ok(r.returncode == 1 and r.stderr.count("refused") == 3 and
         "400" in r.stderr and "nothing written" in r.stderr,
         "a value out of range is refused for every unit", r.stderr)
    T.ok([thresholds(p) for p in ports] == before and
         before[0].get(HUM_HI) == 80,
         "nothing changed on any unit (mbpoll), not even the valid value")

    r = ohm("config", "apply", "--yes", "--json", bad, *units)
    js = json.loads(r.stdout) if r.stdout.startswith("[") else []
    T.ok(r.returncode == 1 and len(js) == 3 and
         all(d["result"] == "refused" and "400" in d["error"] for d in js),
         "apply --json of a refused file: each unit 'refused'", r.stdout)
    for args in (["save", "--only", "x", units[0]], ["save", "--json",
                 units[0]], ["diff", "-o", "f", bad, units[0]],
                 ["diff", "--dry-run", bad, units[0]],
                 ["apply", "--csv", bad, units[0]]):
        r = ohm("config", *args)
        T.ok(r.returncode == 2 and "not an option of config" in r.stderr,
             "config %s: an option it does not take is refused" % args[0]
             + " (%s)" % args[1], r.stderr)

    r = ohm("config", "apply", "--yes", edited, units[0], units[0])
    T.ok(r.returncode == 2 and "given twice" in r.stderr,
         "the same unit twice is a usage error", r.stderr)

    other = os.path.join(tmp, "other.lua")
    edit(saved, other, {"ambient.humidity.high.critical": 85},
         driver="ups-mib")
    r = ohm("config", "apply", "--yes", other, units[0])
    T.ok(r.returncode == 1 and "saved from driver ups-mib" in r.stderr and
         mbpoll(ports[0], HUM_HI) == {HUM_HI: 80},
         "a file saved from another driver is refused, nothing written",
         r.stderr)

    up = os.path.join(tmp, "up.lua")
    edit(saved, up, {"input.L1.current.low.critical": 20,
                     "input.L1.current.high.critical": 25})
    r = ohm("config", "apply", "--yes", "-v", up, units[1])
    w = [m.group(1) for m in re.finditer(r"> 01 06 00 (4[56])", r.stderr)]
    T.ok(r.returncode == 0 and w == ["46", "45"] and
         mbpoll(ports[1], CUR_LO, 2) == {CUR_LO: 200, CUR_HI: 250},
         "raising a low/high pair past the old high: high written first",
         r.stderr)
    r = ohm("config", "apply", "--yes", "-v", saved, units[1])
    w = [m.group(1) for m in re.finditer(r"> 01 06 00 (4[56])", r.stderr)]
    T.ok(r.returncode == 0 and w == ["45", "46"] and
         mbpoll(ports[1], CUR_LO, 2) == {CUR_LO: 0, CUR_HI: 160},
         "lowering them again: low written first", r.stderr)

    r = ohm("config", "apply", "--yes", "--only",
            "ambient.humidity.high.critical", bad, units[2])
    T.ok(r.returncode == 0 and mbpoll(ports[2], HUM_HI) == {HUM_HI: 85} and
         thresholds(ports[2])[64] == 2530,
         "--only writes the named variable alone", r.stdout + r.stderr)
    r = ohm("config", "apply", "--yes", "--only", "no.such.var", bad,
            units[2])
    T.ok(r.returncode == 1 and "no.such.var is not in the file" in r.stderr,
         "--only with a name the file lacks is refused", r.stderr)

    fp = free_port()
    ForgetfulPeer(fp, CUR_HI)
    r = ohm("config", "apply", "--yes", "--json", edited, units[0], uri(fp))
    js = json.loads(r.stdout) if r.stdout.startswith("[") else []
    res = {d["device"].split(":")[2].split("?")[0]: d for d in js}
    bad_unit = res.get(str(fp), {})
    ch = bad_unit.get("changes", [{}])[0]
    T.ok(r.returncode == 3 and bad_unit.get("result") == "failed" and
         ch.get("result") == "mismatch" and ch.get("readback") == "16" and
         res.get(str(ports[0]), {}).get("result") == "equal" and
         "reads back 16" in r.stderr,
         "a unit that does not keep the write: read-back mismatch, exit 3",
         r.stdout + r.stderr)
    more(tmp, saved, units, ports)
    user_map(tmp, ports[2])

def on_terminal(args, answer):
    """Run ohm on a pseudo-terminal, answer its question; (rc, output)."""
    pid, fd = pty.fork()
    if pid == 0:
        os.execv(OHM, [OHM] + args)
    out, sent, end = b"", False, time.time() + 30
    while time.time() < end:
        r, _, _ = select.select([fd], [], [], 0.2)
        if r:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
        if not sent and b"proceed? [y/N]" in out:
            os.write(fd, answer + b"\n")
            sent = True
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), out.decode(errors="replace")


USER_MAP = """return { name = "acme-th", desc = "four thresholds of one quantity",
  vars = {
    { name = "ambient.temperature.low.critical", reg = 75 },
    { name = "ambient.temperature.high.critical", reg = 76 },
    { name = "ambient.temperature.low.warning", reg = 77 },
    { name = "ambient.temperature.high.warning", reg = 78 },
  } }
"""


def user_map(tmp, port):
    """Any map's writable variables: a user map with all four thresholds
    of a quantity (on the simulator's registers 75-78): raising all four
    past the old high.critical writes them top down, lowering bottom up,
    each step keeping low.critical <= low.warning <= high.warning <=
    high.critical."""
    d = os.path.join(tmp, "drivers")
    os.makedirs(d)
    with open(os.path.join(d, "acme-th.lua"), "w") as f:
        f.write(USER_MAP.replace("reg = 7", 'type = "s16", access = "rw", '
                                 'min = -20, max = 80, unit = "degC", '
                                 'reg = 7'))
    env = {"OHM_DRIVERS": d}
    u = "modbus-tcp://127.0.0.1:%d?driver=acme-th" % port
    base = os.path.join(tmp, "acme.lua")
    r = ohm("config", "save", u, "-o", base, env=env)
    T.ok(r.returncode == 0 and 'driver = "acme-th"' in open(base).read(),
         "a user map's thresholds saved", r.stderr)
    up = os.path.join(tmp, "acme-up.lua")
    t = "ambient.temperature."
    edit(base, up, {t + "low.critical": 40, t + "low.warning": 45,
                    t + "high.warning": 50, t + "high.critical": 55})
    order = []
    for f in (up, base):
        r = ohm("config", "apply", "--yes", "-v", f, u, env=env)
        order.append([int(m.group(1), 16) for m in
                      re.finditer(r"> 01 06 00 ([0-9a-f]{2})", r.stderr)])
        T.eq(r.returncode, 0, "apply of the user map's thresholds")
    T.eq(order, [[76, 78, 77, 75], [75, 77, 78, 76]],
         "four thresholds raised top down, lowered bottom up")


def more(tmp, saved, units, ports):
    """Terminals, failures of some units, bad files, secrets."""
    r = ohm("config", "apply", "--yes", saved, *units)
    T.eq(r.returncode, 0, "the three units back to the saved file")
    edited = os.path.join(tmp, "t.lua")
    edit(saved, edited, {"ambient.temperature.high.critical": 40})
    rc, out = on_terminal(["config", "apply", edited] + units[:2], b"n")
    T.ok(rc == 2 and "would write" in out and
         "config apply: 2 changes to 2 devices: proceed?" in out and
         mbpoll(ports[0], 76) == {76: 35},
         "on a terminal: the plan, a question; 'n' writes nothing", out)
    rc, out = on_terminal(["config", "apply", edited] + units[:2], b"y")
    T.ok(rc == 0 and "applying: 2/2 devices" in out and
         out.count("written, read back") == 2 and
         mbpoll(ports[1], 76) == {76: 40},
         "'y' applies, with progress on the terminal", out)

    down = "modbus-tcp://127.0.0.1:%d?driver=bps2000v2" % free_port()
    r = ohm("config", "diff", edited, units[2], down)
    T.ok(r.returncode == 2 and len(r.stderr.splitlines()) == 1 and
         r.stderr.startswith("ohm: %s: " % down) and
         "ambient.temperature.high.critical" in r.stdout,
         "diff with an unreachable unit: exit 2, one line for it, the "
         "others compared", r.stdout + r.stderr)
    r = ohm("config", "apply", "--yes", edited, units[2], down)
    T.ok(r.returncode == 3 and mbpoll(ports[2], 76) == {76: 40} and
         re.search(re.escape(down) + r"\s+-\s+-\s+-\s+failed", r.stdout),
         "apply with an unreachable unit: the others applied, it reported "
         "failed, exit 3", r.stdout + r.stderr)

    mute = socket.socket()
    mute.bind(("127.0.0.1", 0))
    mute.listen(4)  # accepts (the kernel does), never answers
    silent = "modbus-tcp://127.0.0.1:%d?driver=bps2000v2" % \
        mute.getsockname()[1]
    edit(saved, edited, {"ambient.temperature.high.critical": 41})
    r = ohm("config", "apply", "--yes", "--timeout", "0.5", "--retries", "0",
            edited, units[2], silent)
    T.ok(r.returncode == 3 and mbpoll(ports[2], 76) == {76: 41} and
         "refused" not in r.stderr,
         "a unit that does not answer is a failure, not a refusal: the "
         "others applied, exit 3", r.stdout + r.stderr)
    mute.close()

    broken = os.path.join(tmp, "broken.lua")
    with open(broken, "w") as f:
        f.write("return { driver = 'bps2000v2', values = {\n")
    r = ohm("config", "apply", "--yes", broken, units[0])
    T.ok(r.returncode == 2 and len(r.stderr.splitlines()) == 1 and
         r.stderr.startswith("ohm: " + broken + ":"),
         "a broken file: exit 2, one line naming it", r.stderr)
    with open(broken, "w") as f:
        f.write("os.execute('touch %s/ran') return {}\n" % tmp)
    r = ohm("config", "diff", broken, units[0])
    T.ok(r.returncode == 2 and not os.path.exists(tmp + "/ran"),
         "the file runs in the sandbox (no os.execute)", r.stderr)

    secret = "modbus-tcp://admin:s3cret@127.0.0.1:%d?driver=bps2000v2" \
        % ports[0]
    r = ohm("config", "save", secret)
    T.ok(r.returncode == 0 and "s3cret" not in r.stdout + r.stderr and
         'device = "modbus-tcp://admin:***@' in r.stdout,
         "save to stdout; the device's password redacted", r.stdout)

    bash = ('source "%s/completions/ohm.bash"; COMP_WORDS=(ohm config "");'
            ' COMP_CWORD=2; _ohm; echo "${COMPREPLY[*]}"' % os.environ["OHM_TOP"])
    r = subprocess.run(["bash", "-c", bash], capture_output=True, text=True,
                       env=dict(os.environ, PATH=os.path.dirname(OHM) + ":" +
                                os.environ["PATH"]))
    T.eq(r.stdout.split(), ["save", "diff", "apply"],
         "bash completion offers save, diff, apply")


run(main)
