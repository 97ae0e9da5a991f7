"""`ohm serve --telnet` backed by python3-pymodbus servers (master and
slave1): register values travel Modbus -> ohm -> Telnet and are checked
byte for byte; screen 8 writes the alarm limits with function 06 and keeps
the warning limits; a master that stops answering gives an error line."""
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.environ["OHM_TOP"], "tests"))
from lib import (  # noqa: E402
    T, OHM, free_port, start_listening as start, stop_all)
from telnet_client import Closed, login  # noqa: E402

TOP = os.environ["OHM_TOP"]
PY = os.environ.get("PYTHON", "/usr/bin/python3")
PROMPT = b"Please enter the command:"
tmp = tempfile.mkdtemp()



def peer(sets, log):
    port = free_port()
    args = [PY, os.path.join(TOP, "tests", "modbus_peer.py"), "tcp",
            str(port), "--log", log]
    for s in sets:
        args += ["--set", s]
    return start(args, port), port


def ask(c, line):
    c.line(line)
    return c.until(PROMPT)


def ask_until(c, line, want, seconds=10):
    end = time.time() + seconds
    while True:
        r = ask(c, line)
        if want in r or time.time() > end:
            return r
        time.sleep(0.2)


def main():
    mlog, slog = os.path.join(tmp, "m.log"), os.path.join(tmp, "s.log")
    master, mport = peer(["0=2301,2302,2303,1234,567,89",
                          "15=5000,5001,4999", "53=215,0,0,456",
                          "69=0,320,0,320,0,320", "75=0,40,0,0,0,0,20,80"],
                         mlog)
    _, sport = peer(["3=100,200,300"], slog)
    pw = os.path.join(tmp, "pw")
    with open(pw, "w") as f:
        f.write("s3cret\n")
    port = free_port()
    start([OHM, "serve", "--telnet", f"127.0.0.1:{port}", "--interval", "0.3",
           "--timeout", "0.5", "--retries", "0", "--user", "bkt",
           "--password-file", pw, "-d", "bps2000v2",
           f"modbus-tcp://127.0.0.1:{mport}", f"modbus-tcp://127.0.0.1:{sport}"],
          port)
    c = login(port, "bkt", "s3cret")
    ask(c, "1")
    T.eq(ask_until(c, "master load", b"Load Phase1"),
         b"master load\r\nLoad Phase1:12.34A Phase2:5.67A Phase3:0.89A\r\n\r\n"
         + PROMPT, "master load from pymodbus, byte for byte")
    T.eq(ask(c, "master voltage"),
         b"master voltage\r\nVoltage Phase1:230.1V Phase2:230.2V "
         b"Phase3:230.3V\r\n\r\n" + PROMPT, "master voltage")
    T.eq(ask(c, "master frequency"),
         b"master frequency\r\nFrequency Phase1:50.00Hz Phase2:50.01Hz "
         b"Phase3:49.99Hz\r\n\r\n" + PROMPT, "master frequency")
    T.eq(ask_until(c, "slave1 load", b"Load Phase1"),
         b"slave1 load\r\nLoad Phase1:1.00A Phase2:2.00A Phase3:3.00A\r\n\r\n"
         + PROMPT, "slave1 load from the second device")
    ask(c, "10")
    r = ask(c, "8")
    # alarms from the registers; the warnings ohm keeps start inside them
    T.ok(b"\r\nPhase 1 Current [A]: High Alarm:32.0A High Warning:13.0A "
         b"Low Warning:0.0A Low Alarm:0.0A\r\n" in r and
         b"\r\nTemperature [C]: High Alarm:40C High Warning:30C Low "
         b"Warning:10C Low Alarm:0C\r\n" in r and
         b"\r\nHumidity [%]: High Alarm:80% High Warning:70% Low Warning:30% "
         b"Low Alarm:20%\r\n" in r, "screen 8 from the registers", r)
    r = ask(c, "current two:25.5&20&2&1")
    T.ok(b"Set successfully\r\nHigh Warning, Low Warning kept by ohm" in r,
         "set: alarms written, warnings kept", r)
    with open(mlog) as f:
        writes = [l.strip() for l in f if l.startswith("write")]
    T.ok("write 72 255" in writes and "write 71 10" in writes,
         "function 06 writes of registers 72 and 71", writes)
    r = ask_until(c, "master", b"High Alarm:25.5A High Warning:20.0A")
    T.ok(b"Phase 2 Current [A]: High Alarm:25.5A High Warning:20.0A Low "
         b"Warning:2.0A Low Alarm:1.0A\r\n" in r, "read back", r)
    r = ask(c, "current one:99&0&0&0")
    T.ok(r.startswith(b"current one:99&0&0&0\r\nError: ") and
         b"99" in r, "out-of-range limit: error line", r)
    ask(c, "5")
    ask(c, "1")
    master.terminate()
    master.wait(5)
    r = ask_until(c, "master load", b"Error", seconds=15)
    T.ok(b"\r\nError: master: no reading" in r,
         "silent master: error line, not a hung session", r)
    T.ok(b"Load Phase1:1.00A" in ask(c, "slave1 load"),
         "the slave still answers")


try:
    main()
except Closed as e:
    T.ok(False, "console conversation", str(e))
finally:
    stop_all(check_ohm=True)
T.done()
