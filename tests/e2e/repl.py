"""The interactive REPL on a real pty (Python's pty module): expression
printing, multi-line input, dot-commands, .mode json, tab completion of
ohm functions and device variables, Ctrl-C at the prompt and during a call
blocked on a silent device, and a history file free of secrets."""
import os
import pty
import re
import select
import signal
import socket
import struct
import sys
import termios
import fcntl
import threading
import time

sys.path.insert(0, os.path.join(os.environ["OHM_TOP"], "tests"))
from lib import T, OHM  # noqa: E402

TMP = os.environ.get("TMPDIR", "/tmp")
ANSI = re.compile(rb"\x1b\[[0-9;?]*[A-Za-z]|\x1b[=>]|\r")


class Pty:
    """A child on a pty; expect() matches a regex against its output with
    escape sequences and carriage returns removed."""

    def __init__(self, args, env):
        pid, fd = pty.fork()
        if pid == 0:
            os.execve(OHM, [OHM] + args, env)
        self.pid, self.fd, self.buf = pid, fd, b""
        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 200, 0, 0))

    def send(self, s):
        os.write(self.fd, s.encode())

    def _fill(self, end):
        left = end - time.time()
        if left <= 0:
            return False
        r, _, _ = select.select([self.fd], [], [], left)
        if not r:
            return False
        try:
            data = os.read(self.fd, 4096)
        except OSError:
            return False
        if not data:
            return False
        self.buf += data
        return True

    def expect(self, pattern, timeout=10.0):
        """The match (text consumed up to its end) or None on timeout."""
        end = time.time() + timeout
        rx = re.compile(pattern.encode(), re.S)
        while True:
            clean = ANSI.sub(b"", self.buf)
            m = rx.search(clean)
            if m:
                self.buf = clean[m.end():]
                return m
            if not self._fill(end):
                self.last = clean.decode(errors="replace")
                return None

    def wait(self, timeout=10.0):
        end = time.time() + timeout
        while time.time() < end:
            pid, st = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                return os.waitstatus_to_exitcode(st)
            self._fill(min(end, time.time() + 0.1))
        return None

    def kill(self):
        try:
            os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
        except OSError:
            pass


def silent_server():
    """A TCP server that accepts and never answers; returns its port."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(8)
    conns = []

    def run():
        while True:
            try:
                c, _ = s.accept()
                conns.append(c)
            except OSError:
                return
    threading.Thread(target=run, daemon=True).start()
    return s.getsockname()[1]


def check(p, name, send, pattern, timeout=10.0):
    if send is not None:
        p.send(send)
    m = p.expect(pattern, timeout)
    T.ok(m is not None, name, f"wanted /{pattern}/ in:\n{getattr(p, 'last', '')}")
    return m


def main():
    home = os.path.join(TMP, "replhome")
    state = os.path.join(TMP, "replstate")
    os.makedirs(home, exist_ok=True)
    inputrc = os.path.join(TMP, "inputrc")
    with open(inputrc, "w") as f:
        f.write("set enable-bracketed-paste off\n")
    config = os.path.join(TMP, "inventory.lua")
    with open(config, "w") as f:
        f.write('devices = { rack1 = { uri = "sim:bps2000v2" } }\n')
    env = dict(os.environ, HOME=home, XDG_STATE_HOME=state, TERM="xterm",
               INPUTRC=inputrc, OHM_CONFIG=config)
    p = Pty(["--timeout", "30"], env)
    try:
        session(p)
    finally:
        p.kill()
    hist = os.path.join(state, "ohm", "history")
    T.ok(os.path.exists(hist), "history file written at exit")
    text = open(hist).read() if os.path.exists(hist) else ""
    T.ok("7*6" in text, "history keeps ordinary lines", text)
    T.ok("s3cret" not in text and "hunter2" not in text and
         "c0mmunity" not in text, "history holds no secrets", text)
    T.ok(not [f for f in os.listdir(os.path.dirname(hist))
              if f.endswith(".tmp")], "no temporary history file left")
    p = Pty(["-e", "x = 7", "-i"], env)
    try:
        check(p, "-e CHUNK -i: a second session starts", None, r"\n> ")
        check(p, "-i keeps what -e defined", "x\r", r"\n7\n> ")
        check(p, "history recalled with Up", "\x1b[A\x1b[A\x1b[A\r", r"7\*6\n42\n> ")
        p.send("\x04")
        T.eq(p.wait(10), 0, "Ctrl-D exits 0")
    finally:
        p.kill()
    T.done()


def session(p):
    check(p, "banner and prompt", None, r"\.help.*\n> ")
    check(p, "expression prints its value", "1+2\r", r"\n3\n> ")
    check(p, "statement then expression", "x = 5\r", r"\n> ")
    check(p, "global kept", "x * 2\r", r"\n10\n> ")
    check(p, "multi-line continues", "function dbl(v)\r", r"\n>> ")
    check(p, "multi-line body", "  return v * 2\r", r"\n>> ")
    check(p, "multi-line end", "end\r", r"\n> ")
    check(p, "multi-line function runs", "dbl(21)\r", r"\n42\n> ")
    m = check(p, ".help lists dot-commands", ".help\r", r"\.help.*?\n> ")
    if m:
        out = m.group(0).decode(errors="replace")
        T.ok(all(c in out for c in (".open", ".devices", ".drivers", ".mode",
                                    ".quit")), ".help names every command",
             out)
    check(p, ".mode json", ".mode json\r", r"\n> ")
    check(p, "json output", "{a = 1, b = {1, 2}}\r",
          r'\n\{"a": 1, "b": \[1, 2\]\}\n> ')
    check(p, ".mode table", ".mode table\r", r"\n> ")
    check(p, "error reported, shell continues", "error('boom')\r",
          r"boom.*\n> ")
    check(p, "complete ohm.op -> ohm.open", "ohm.op\t\r",
          r"ohm\.open\n(builtin|function)[^\n]*\n> ")
    check(p, "Ctrl-C drops the typed line", "12345\x03", r"\n> ")
    check(p, "shell works after Ctrl-C at prompt", "2+2\r", r"\n4\n> ")
    check(p, ".open a simulator", ".open pdu sim:bps2000v2\r",
          r"pdu = ohm\.device[^\n]*\n> ", 20)
    check(p, "complete a device variable path", "pdu.input.L1.curr\t\r",
          r"pdu\.input\.L1\.current\n[0-9.]+\n> ")
    check(p, "complete a variable name in get(\"", 'pdu:get("input.L1.freq\t")\r',
          r'pdu:get\("input\.L1\.frequency"\)\n[0-9.]+\n> ')
    check(p, "complete a device method", "pdu:li\t()[1].name\r",
          r"pdu:list\(\)\[1\]\.name\n[a-z]")
    check(p, "get() prints an aligned name/value/unit table", "pdu:get()\r",
          r"\ninput\.L1\.current +[0-9.]+ +A\n.*\n> ")
    port = silent_server()
    check(p, "open a silent device", f'slow = ohm.open("modbus-tcp://127.0.0.1:'
          f'{port}", {{driver = "bps2000v2"}})\r', r"\n> ")
    p.send('slow:get("input.L1.current")\r')
    time.sleep(1.0)
    p.send("\x03")
    t0 = time.time()
    m = check(p, "Ctrl-C stops a call blocked on a silent device", None,
              r"interrupt[^\n]*\n(.*\n)?> ", 8)
    T.ok(m is not None and time.time() - t0 < 8,
         "prompt back within seconds, not the 30 s timeout")
    check(p, "shell still works after the interrupted call", "6*7\r",
          r"\n42\n> ")
    p.send("while true do end\r")
    time.sleep(0.5)
    p.send("\x03")
    check(p, "Ctrl-C stops a running Lua loop", None,
          r"interrupted![^\n]*\n(.*\n)?> ", 8)
    check(p, ".devices lists the inventory", ".devices\r",
          r"inventory \(1\):\n +rack1 +sim:bps2000v2.*open:.*pdu +ohm\.device"
          r".*\n> ")
    check(p, ".open an inventory name", ".open r1 rack1\r",
          r"r1 = ohm\.device \(rack1[^\n]*\n> ", 20)
    check(p, ".open with bad arguments prints usage", ".open 1x\r",
          r"usage: \.open NAME URI \[DRIVER\]\n> ")
    check(p, "unknown dot-command", ".nope\r", r"unknown command \.nope.*\n> ")
    check(p, "a URI with a password", 'u = "modbus-tcp://admin:s3cret@h"\r',
          r"\n> ")
    check(p, "a password assignment", 'password = "hunter2"\r', r"\n> ")
    check(p, "an SNMP community", 'c = "snmp://c0mmunity@127.0.0.1"\r', r"\n> ")
    check(p, "ordinary line", "7*6\r", r"\n42\n> ")
    p.send(".quit\r")
    T.eq(p.wait(10), 0, ".quit exits 0")


if __name__ == "__main__":
    main()
