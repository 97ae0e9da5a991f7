"""`ohm record` never loses rows silently: two devices whose names make one
file name ("x y" and "x_y") are refused; a full disk (/dev/full) and a file
over the size limit (RLIMIT_FSIZE) are reported with their real reason,
and a line torn by the failed write is cut back at once. Peer: `ohm sim`."""
import datetime
import os
import resource
import signal
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.environ["OHM_TOP"], "tests"))
from lib import T, OHM, free_port, wait_port, start, run  # noqa: E402

tmp = tempfile.mkdtemp()


def rec(cfg, out, *devs, limit=None):
    def pre():
        signal.signal(signal.SIGXFSZ, signal.SIG_DFL)
        if limit is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return subprocess.run([OHM, "record", "--config", cfg, "--out", out,
                           "--every", "1", "--count", "1", "--timeout", "2",
                           *devs], capture_output=True, text=True,
                          timeout=60, preexec_fn=pre)


def day():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")


def main():
    port = free_port()
    start(OHM, "sim", "bps2000v2", "--modbus-tcp", f"127.0.0.1:{port}",
          stderr=subprocess.DEVNULL)
    wait_port(port)
    cfg = os.path.join(tmp, "config.lua")
    uri = f"modbus-tcp://127.0.0.1:{port}"
    with open(cfg, "w") as f:
        f.write('devices = {\n'
                f'  ["x y"] = {{ uri = "{uri}", driver = "bps2000v2" }},\n'
                f'  x_y = {{ uri = "{uri}", driver = "bps2000v2" }},\n'
                f'  pdu = {{ uri = "{uri}", driver = "bps2000v2" }},\n}}\n')
    out = os.path.join(tmp, "rec")
    r = rec(cfg, out)
    T.ok(r.returncode == 2 and "'x y' and 'x_y'" in r.stderr and
         len(r.stderr.strip().splitlines()) == 1,
         "two names making one file: refused in one line, exit 2", r.stderr)
    T.ok(not os.path.isdir(out) or not os.listdir(out),
         "nothing recorded when refused",
         os.listdir(out) if os.path.isdir(out) else "")

    full = os.path.join(tmp, "full")
    os.mkdir(full)
    os.symlink("/dev/full", os.path.join(full, f"pdu-{day()}.csv"))
    r = rec(cfg, full, "pdu")
    T.ok(r.returncode == 3 and "No space left on device" in r.stderr and
         "Success" not in r.stderr,
         "a full disk is reported as such", r.stderr)

    r = rec(cfg, out, "pdu")
    path = os.path.join(out, f"pdu-{day()}.csv")
    T.eq(r.returncode, 0, "one row recorded")
    size = os.path.getsize(path)
    r = rec(cfg, out, "pdu", limit=size + 20)
    T.ok(r.returncode == 3 and "File too large" in r.stderr,
         "a write over the file size limit says why", r)
    with open(path, "rb") as f:
        data = f.read()
    T.ok(len(data) == size and data.endswith(b"\n"),
         "the torn row is cut back at once", f"{size} -> {len(data)}")
    for opt, bad in (("--every", "0x10"), ("--every", "1e9d"),
                     ("--every", "inf"), ("--every", " 5"),
                     ("--max-size", "0x100"), ("--max-size", "nan"),
                     ("--max-size", "1e30G"), ("--max-size", "-1")):
        r = subprocess.run([OHM, "record", "--config", cfg, "--out", out,
                            "--count", "1", opt, bad, "pdu"] +
                           ([] if opt == "--every" else ["--every", "1"]),
                           capture_output=True, text=True, timeout=30)
        T.ok(r.returncode == 2 and "bad value" in r.stderr,
             f"{opt} '{bad}': refused (decimal and in range only)",
             r.returncode)
    deep = tmp
    while len(deep) < 4085:  # the path of its file is longer than 4095
        deep = os.path.join(deep, "d" * min(200, 4084 - len(deep)))
    os.makedirs(deep)
    r = rec(cfg, deep, "pdu")
    T.ok(r.returncode == 3 and "File name too long" in r.stderr and
         not os.listdir(deep),
         "a path too long for the buffer is refused, never cut to another",
         (r.returncode, os.listdir(deep), r.stderr[-200:]))
    r = rec(cfg, out, "pdu")
    with open(path) as f:
        lines = f.read().splitlines()
    T.ok(r.returncode == 0 and len(lines) == 3,
         "the next run appends whole rows", lines[-1][:80])


run(main)
