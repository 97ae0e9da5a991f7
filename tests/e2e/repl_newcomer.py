"""Issue 9, the REPL on a real pty: completion of ohm.open(" and .open
arguments (inventory names, URI prefixes, drivers) and of paths after a
bracketed segment (pdu.input["L1-N"].); Ctrl-D at ">>" reports the
unfinished chunk as lua.c does; the history keeps a multi-line chunk as
one entry (recalled by one Up in the next session) without blank lines.
Peer: the built-in simulator (sim:bps2000v2), from the inventory."""
import os
import sys

sys.path.insert(0, os.path.join(os.environ["OHM_TOP"], "tests"))
from lib import T  # noqa: E402
from pty_lib import Pty, check, repl_env  # noqa: E402


def session(p):
    check(p, "prompt", None, r"\n> ")
    check(p, 'ohm.open("p<TAB> completes an inventory name',
          'd = ohm.open("pd\t")\r', r'ohm\.open\("pdu1"\)\n> ', 20)
    check(p, "the completed name opened the device", "tostring(d)\r",
          r"ohm\.device \(pdu1")
    check(p, 'ohm.open("modbus-t<TAB> completes a URI scheme',
          'ohm.open("modbus-t\t127.0.0.1:1", {driver = "bps2000v2", '
          'timeout = 1, retries = 0})\r',
          r'ohm\.open\("modbus-tcp://127\.0\.0\.1:1".*\n> ')
    check(p, 'ohm.open("sim:bps<TAB> completes sim:DRIVER',
          'e = ohm.open("sim:bps\t")\r', r'ohm\.open\("sim:bps2000v2"\)\n> ', 20)
    check(p, ".open x p<TAB> completes an inventory name", ".open x pd\t\r",
          r"\.open x pdu1\nx = ohm\.device \(pdu1", 20)
    check(p, ".open y URI DRIVER<TAB> completes a driver",
          ".open y sim:bps2000v2 bps2\t\r",
          r"\.open y sim:bps2000v2 bps2000v2\ny = ohm\.device", 20)
    check(p, 'pdu.input["L1-N"].<TAB> completes that path\'s children',
          'd.input["L1-N"].volt\t()\r',
          r'd\.input\["L1-N"\]\.voltage\(\)\n[0-9.]+\n> ')
    check(p, "a multi-line chunk", "for i = 1, 2 do\r", r"\n>> ")
    check(p, "a blank line inside it", "\r", r"\n>> ")
    check(p, "its body", "  print(i * 10)\r", r"\n>> ")
    check(p, "its end runs it", "end\r", r"\n10\n20\n> ")
    check(p, "Ctrl-D at >> ...", "while false do\r", r"\n>> ")
    check(p, "... reports the unfinished chunk as lua.c does", "\x04",
          r"stdin:1: 'end' expected near <eof>\n> ")
    p.send("\x04")


def main():
    env, state = repl_env(
        "nc", 'devices = { pdu1 = { uri = "sim:bps2000v2" } }\n')
    p = Pty(["--timeout", "30"], env)
    try:
        session(p)
        p.wait(10)
    finally:
        p.kill()
    hist = os.path.join(state, "ohm", "history")
    text = open(hist).read() if os.path.exists(hist) else ""
    T.ok("for i = 1, 2 do\n  print(i * 10)\nend" in text,
         "the history file holds the chunk, its lines together", text)
    T.ok("\n\n" not in text and "\n \n" not in text,
         "the history file holds no blank line", text)
    p = Pty([], env)
    try:
        check(p, "a second session", None, r"\n> ")
        check(p, "one Up recalls the whole chunk (after the unfinished one)",
              "\x1b[A\x1b[A\r", r"\n10\n20\n> ")
        p.send("\x04")
        p.wait(10)
    finally:
        p.kill()
    T.done()


main()
