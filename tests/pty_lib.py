"""The REPL on a real pty (Python's pty module), for tests/e2e/repl*.py:
Pty (a child on a pty, expect() on its output), check() (one T.ok per
expected reply) and repl_env() (a fresh HOME, history and inventory)."""
import fcntl
import os
import pty
import re
import select
import signal
import struct
import termios
import time

from lib import T, OHM

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


def check(p, name, send, pattern, timeout=10.0):
    if send is not None:
        p.send(send)
    m = p.expect(pattern, timeout)
    T.ok(m is not None, name, f"wanted /{pattern}/ in:\n{getattr(p, 'last', '')}")
    return m


def repl_env(tag, inventory):
    """The environment of a REPL in its own HOME and XDG_STATE_HOME (named
    after tag), with no bracketed paste and the inventory text as its
    config; returns (env, the state directory)."""
    home = os.path.join(TMP, tag + "home")
    state = os.path.join(TMP, tag + "state")
    os.makedirs(home, exist_ok=True)
    inputrc = os.path.join(TMP, "inputrc")
    with open(inputrc, "w") as f:
        f.write("set enable-bracketed-paste off\n")
    config = os.path.join(TMP, "inventory.lua")
    with open(config, "w") as f:
        f.write(inventory)
    env = dict(os.environ, HOME=home, XDG_STATE_HOME=state, TERM="xterm",
               INPUTRC=inputrc, OHM_CONFIG=config)
    return env, state
