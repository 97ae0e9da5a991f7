"""ohm.upgrade{} from Lua and the example scripts/batch-upgrade.lua
against tftpd-hpa (issue 5)."""
import os, sys, tempfile
sys.path.insert(0, os.path.join(os.environ["OHM_TOP"], "tests"))
from lib import T, ohm, free_port, kill_peers, start_tftpd

TOP = os.environ["OHM_TOP"]
tmp = tempfile.mkdtemp()
try:
    d = os.path.join(tmp, "tftp")
    os.mkdir(d)
    port = start_tftpd(d)
    closed = free_port("udp")
    fw = os.path.join(tmp, "fw.bin")
    data = os.urandom(123457)
    with open(fw, "wb") as f:
        f.write(data)
    good, bad = "tftp://127.0.0.1:%d" % port, "tftp://127.0.0.1:%d" % closed
    chunk = ('local r = ohm.upgrade{file=%r, targets={%r, %r}, jobs=2, '
             'remote_name="lua.bin"}\n'
             'print(r.ok, r.failed, r.status, r.files[1].size, '
             'r.targets[1].result, r.targets[2].result, '
             'r.targets[1].bytes)' % (fw, good, bad))
    r = ohm("-e", chunk)
    T.eq(r.stdout.split(), ["1", "1", "3", str(len(data)), "ok", "failed",
                            str(len(data))], "ohm.upgrade report table")
    with open(os.path.join(d, "lua.bin"), "rb") as f:
        T.ok(f.read() == data, "ohm.upgrade: identical file")
    r = ohm("-e", "print(pcall(ohm.upgrade, {targets={'x'}}))")
    T.ok("file" in r.stdout and r.stdout.startswith("false"),
         "ohm.upgrade without file raises", r.stdout + r.stderr)
    r = ohm("-e", "print(ohm.upgrade{file=%r, targets={'nosuch'}})" % fw)
    T.ok(r.stdout.startswith("nil") and "nosuch" in r.stdout,
         "unknown target: nil, message", r.stdout + r.stderr)

    script = os.path.join(TOP, "scripts", "batch-upgrade.lua")
    r = ohm(script, "--file", fw, good, bad)
    T.eq(r.returncode, 3, "batch-upgrade.lua: exit 3 when one fails")
    T.ok("1 ok, 1 failed" in r.stdout and good in r.stdout,
         "batch-upgrade.lua: summary", r.stdout + r.stderr)
    r = ohm(script, "--dry-run", "--file", fw, good)
    T.ok(r.returncode == 0 and "(dry run)" in r.stdout,
         "batch-upgrade.lua --dry-run", r.stdout + r.stderr)
finally:
    kill_peers(tmp)
T.done()
