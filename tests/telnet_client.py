"""A small Telnet client for the console tests: plain sockets and a minimal
IAC parser of its own (no libtelnet), so ohm's server is checked by
something independent of it.

    c = Client(port); c.until(b"Telnet Account:"); c.line("bkt") ...
"""
import socket
import time

IAC, DONT, DO, WONT, WILL, SB, SE = 255, 254, 253, 252, 251, 250, 240


class Closed(Exception):
    pass


class Client:
    def __init__(self, port, host="127.0.0.1", timeout=5.0, source=None):
        self.s = socket.create_connection(
            (host, port), timeout, (source, 0) if source else None)
        self.raw = b""      # every byte received, IAC sequences included
        self.text = b""     # console text not yet consumed
        self.opts = []      # (cmd, option) negotiations received
        self.closed = False
        self._iac = b""

    def _feed(self, data):
        self.raw += data
        buf = self._iac + data
        self._iac = b""
        i = 0
        out = bytearray()
        while i < len(buf):
            b = buf[i]
            if b != IAC:
                out.append(b)
                i += 1
                continue
            if i + 1 >= len(buf):
                self._iac = buf[i:]
                break
            cmd = buf[i + 1]
            if cmd == IAC:
                out.append(IAC)
                i += 2
            elif cmd in (DO, DONT, WILL, WONT):
                if i + 2 >= len(buf):
                    self._iac = buf[i:]
                    break
                self.opts.append((cmd, buf[i + 2]))
                i += 3
            elif cmd == SB:
                end = buf.find(bytes([IAC, SE]), i)
                if end < 0:
                    self._iac = buf[i:]
                    break
                i = end + 2
            else:
                i += 2
        self.text += bytes(out)

    def read(self, seconds=0.3):
        """Read what arrives within seconds."""
        end = time.time() + seconds
        while time.time() < end and not self.closed:
            self.s.settimeout(max(0.01, end - time.time()))
            try:
                b = self.s.recv(65536)
            except socket.timeout:
                break
            except OSError:
                self.closed = True
                break
            if not b:
                self.closed = True
                break
            self._feed(b)
        return self.text

    def until(self, needle, seconds=5.0):
        """Console text up to and including needle (consumed)."""
        if isinstance(needle, str):
            needle = needle.encode()
        end = time.time() + seconds
        while needle not in self.text:
            if self.closed or time.time() > end:
                raise Closed("waiting for %r; got %r" % (needle, self.text))
            self.read(min(0.2, max(0.01, end - time.time())))
        k = self.text.index(needle) + len(needle)
        got, self.text = self.text[:k], self.text[k:]
        return got

    def send(self, data):
        self.s.sendall(data)

    def line(self, text):
        if isinstance(text, str):
            text = text.encode()
        self.s.sendall(text + b"\r\n")

    def wait_closed(self, seconds=5.0):
        end = time.time() + seconds
        while not self.closed and time.time() < end:
            self.read(0.2)
        return self.closed

    def close(self):
        try:
            self.s.close()
        except OSError:
            pass


def login(port, user, password, host="127.0.0.1", source=None):
    """A client logged in and at the main menu's prompt (connecting from
    the source address if given)."""
    c = Client(port, host, source=source)
    c.until(b"Telnet Account:")
    c.line(user)
    c.until(b"Password:")
    c.line(password)
    c.until(b"Please enter the command:")
    return c
