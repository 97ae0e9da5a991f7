"""ohm upgrade when things happen mid-batch (issue 5): Ctrl-C during a
transfer, a unit that does not come back after its upgrade, and an FTP
unit that reboots (stops listening) between its two files."""
import json, os, signal, subprocess, sys, tempfile, time
sys.path.insert(0, os.path.join(os.environ["OHM_TOP"], "tests"))
from lib import T, OHM, free_port, wait_port, procs, kill_peers

TOP = os.environ["OHM_TOP"]
PY = os.environ.get("PYTHON", "/usr/bin/python3")
FTPD = r'''
import sys
from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.handlers import FTPHandler
from pyftpdlib.servers import FTPServer
port, root, log = int(sys.argv[1]), sys.argv[2], sys.argv[3]
class H(FTPHandler):
    def on_file_received(self, path):
        open(log, "a").write(path.rsplit("/", 1)[-1] + "\n")
    def on_logout(self, user):
        open(log, "a").write("quit\n")
a = DummyAuthorizer()
a.add_user("admin", "pw", root, perm="elradfmw")
H.authorizer = a
FTPServer(("127.0.0.1", port), H).serve_forever()
'''
tmp = tempfile.mkdtemp()


def spawn(args, **kw):
    p = subprocess.Popen(args, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, **kw)
    procs.append(p)
    return p


def until(cond, seconds):
    end = time.time() + seconds
    while time.time() < end:
        if cond():
            return True
        time.sleep(0.02)
    return False


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)
    return path


def run_ohm(args, env=None):
    e = dict(os.environ, **(env or {}))
    return subprocess.Popen([OHM, *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=e)


def report(p, name, timeout=60):
    out, err = p.communicate(timeout=timeout)
    try:
        return {t["target"]: t for t in json.loads(out)["targets"]}
    except ValueError as ex:
        T.ok(False, name + ": --json parses", "%s\n%s\n%s" % (ex, out, err))
        return {}


def ctrl_c():
    d = os.path.join(tmp, "slow")
    os.mkdir(d)
    port = free_port("udp")
    spawn([PY, os.path.join(TOP, "tests", "lossy_tftpd.py"), "--port",
           str(port), "--dir", d, "--drop", "0.3"])
    wait_port(port, "udp")
    fw = write(os.path.join(tmp, "big.bin"), os.urandom(2 << 20))
    slow = "tftp://127.0.0.1:%d" % port
    p = run_ohm(["upgrade", "--file", fw, "--yes", "--json", "--jobs", "1",
                 "--blksize", "512", slow, slow + "/"])
    time.sleep(2)
    p.send_signal(signal.SIGINT)
    t0 = time.time()
    res = report(p, "ctrl-c")
    T.ok(time.time() - t0 < 5, "Ctrl-C: ohm stops promptly")
    T.eq(p.returncode, 1, "Ctrl-C with nothing finished: exit 1")
    t = res.get(slow, {})
    T.ok(t.get("result") == "interrupted" and "during big.bin" in
         t.get("message", "") and 0 < t.get("bytes", 0) < 2 << 20,
         "Ctrl-C: the running target is reported interrupted mid-transfer",
         t)
    t = res.get(slow + "/", {})
    T.eq(t.get("result"), "skipped", "Ctrl-C: the queued target is skipped")


def not_back():
    d = os.path.join(tmp, "tftp")
    os.mkdir(d)
    tport, mport = free_port("udp"), free_port()
    spawn(["in.tftpd", "-L", "-c", "-u", "root", "-s", d,
           "-a", "127.0.0.1:%d" % tport])
    sim = spawn([OHM, "sim", "bps2000v2", "--modbus-tcp",
                 "127.0.0.1:%d" % mport])
    wait_port(tport, "udp")
    wait_port(mport)
    cfg = os.path.join(tmp, "config.lua")
    with open(cfg, "w") as f:
        f.write('devices = {\n'
                ' gone = { uri = "modbus-tcp://127.0.0.1:%d", driver = '
                '"bps2000v2", upgrade_uri = "tftp://127.0.0.1:%d" },\n'
                ' back = { uri = "sim:bps2000v2", upgrade_uri = '
                '"tftp://127.0.0.1:%d" },\n}\n' % (mport, tport, tport))
    fw = write(os.path.join(tmp, "fw.bin"), os.urandom(30000))
    p = run_ohm(["upgrade", "--config", cfg, "--file", fw, "--yes", "--json",
                 "--settle", "1.5", "--wait", "2", "--timeout", "0.5",
                 "gone", "back"])
    sent = until(lambda: os.path.exists(os.path.join(d, "fw.bin")), 20)
    sim.kill()  # the unit never comes back from its upgrade
    res = report(p, "not back")
    T.ok(sent, "the file reached the TFTP server")
    T.eq(p.returncode, 3, "a unit that does not come back: exit 3")
    t = res.get("gone", {})
    T.ok(t.get("result") == "failed" and "did not answer" in
         t.get("message", ""), "a unit that does not come back: failed", t)
    T.eq(res.get("back", {}).get("result"), "ok", "the other unit is ok")


def ftp_reboot():
    d = os.path.join(tmp, "ftp")
    os.mkdir(d)
    port = free_port()
    log1, log2 = os.path.join(tmp, "a.log"), os.path.join(tmp, "b.log")
    srv = spawn([PY, "-c", FTPD, str(port), d, log1])
    wait_port(port)
    a = write(os.path.join(tmp, "cpsbmethafw_1.bin"), os.urandom(50000))
    b = write(os.path.join(tmp, "cpsbmethadata_1.bin"), os.urandom(40000))
    p = run_ohm(["upgrade", "--file", a, "--file", b, "--settle", "1.5",
                 "--wait", "20", "--yes", "--json", "--timeout", "2",
                 "ftp://admin@127.0.0.1:%d" % port],
                env={"OHM_PASSWORD": "pw"})
    quit1 = until(lambda: os.path.exists(log1) and
                  "quit" in open(log1).read(), 20)
    srv.kill()  # the unit reboots after QUIT ...
    srv.wait()
    time.sleep(2)
    spawn([PY, "-c", FTPD, str(port), d, log2])  # ... and comes back
    res = report(p, "ftp reboot")
    T.ok(quit1, "first file sent and the session closed")
    T.eq(p.returncode, 0, "FTP unit rebooting between files: exit 0")
    T.eq(open(log1).read().split(), ["cpsbmethafw_1.bin", "quit"],
         "file A went before the reboot")
    T.ok(os.path.exists(log2) and open(log2).read().split()[:1] ==
         ["cpsbmethadata_1.bin"], "file B waited for the unit to come back")
    T.ok(open(os.path.join(d, "cpsbmethadata_1.bin"), "rb").read() ==
         open(b, "rb").read(), "file B identical")


try:
    ctrl_c()
    not_back()
    ftp_reboot()
finally:
    kill_peers(tmp)
T.done()
