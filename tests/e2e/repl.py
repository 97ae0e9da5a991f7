"""The interactive REPL on a real pty (Python's pty module): expression
printing, multi-line input, dot-commands, .mode json, tab completion of
ohm functions and device variables, Ctrl-C at the prompt and during a call
blocked on a silent device, and a history file free of secrets."""
import os
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.environ["OHM_TOP"], "tests"))
from lib import T  # noqa: E402
from pty_lib import Pty, check, repl_env  # noqa: E402


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


def main():
    env, state = repl_env(
        "repl", 'devices = { rack1 = { uri = "sim:bps2000v2" } }\n')
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
