"""ohm upgrade / ohm push over FTP against pyftpdlib (issue 5): binary puts
of several files in order, each on its own connection; a user without
write permission and a closed port fail while the others finish."""
import json, os, subprocess, sys, tempfile
sys.path.insert(0, os.path.join(os.environ["OHM_TOP"], "tests"))
from lib import T, ohm, free_port, wait_port, procs, kill_peers

PY = os.environ.get("PYTHON", "/usr/bin/python3")
SERVER = r'''
import sys
from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.handlers import FTPHandler
from pyftpdlib.servers import FTPServer
port, root, log = int(sys.argv[1]), sys.argv[2], sys.argv[3]
class H(FTPHandler):
    def on_file_received(self, path):
        with open(log, "a") as f:
            f.write("%s %s %s\n" % (self.username, self._current_type,
                                    path.rsplit("/", 1)[-1]))
    def on_logout(self, user):
        with open(log, "a") as f:
            f.write("%s quit\n" % user)
a = DummyAuthorizer()
a.add_user("admin", "s3cret", root, perm="elradfmw")
a.add_user("viewer", "s3cret", root, perm="elr")
H.authorizer = a
FTPServer(("127.0.0.1", port), H).serve_forever()
'''

tmp = tempfile.mkdtemp()


def ftpd(name):
    d = os.path.join(tmp, name)
    os.mkdir(d)
    port = free_port()
    log = os.path.join(tmp, name + ".log")
    procs.append(subprocess.Popen([PY, "-c", SERVER, str(port), d, log],
                                  stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL))
    if not wait_port(port, "tcp", 10):
        T.ok(False, "pyftpdlib listens on %d" % port)
    return port, d, log


def read(path):
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError:
        return None


try:
    try:
        import pyftpdlib  # noqa: F401
    except ImportError:
        T.skip("upgrade over ftp", "python3-pyftpdlib not installed")
        T.done()
    # binary content with CR LF, which an ASCII-mode put would alter
    fw = os.path.join(tmp, "cpsbmethafw_100.bin")
    fd = os.path.join(tmp, "cpsbmethadata_100.bin")
    a, b = os.urandom(200000) + b"\r\n\n\r", os.urandom(90000) + b"\n\r\n"
    for path, data in ((fw, a), (fd, b)):
        with open(path, "wb") as f:
            f.write(data)
    u1, u2 = ftpd("u1"), ftpd("u2")
    closed = free_port()
    env = {"OHM_PASSWORD": "s3cret"}
    targets = ["ftp://admin@127.0.0.1:%d" % u1[0],
               "ftp://admin@127.0.0.1:%d" % u2[0],
               "ftp://viewer@127.0.0.1:%d" % u1[0],
               "ftp://admin@127.0.0.1:%d" % closed]
    r = ohm("upgrade", "--file", fw, "--file", fd, "--settle", "0.2",
            "--yes", "--json", "--timeout", "2", "--retries", "0", *targets,
            env=env, timeout=60)
    T.eq(r.returncode, 3, "some failed: exit 3")
    try:
        rep = json.loads(r.stdout)
        res = {t["target"]: t for t in rep["targets"]}
    except ValueError as ex:
        T.ok(False, "--json parses", "%s\n%s\n%s" % (ex, r.stdout, r.stderr))
        res = {}
    for port, d, log in (u1, u2):
        t = res.get("ftp://admin@127.0.0.1:%d" % port, {})
        T.eq(t.get("result"), "ok", "pyftpdlib %d: ok" % port)
        T.eq(t.get("bytes"), len(a) + len(b), "pyftpdlib %d: bytes" % port)
        T.ok(read(os.path.join(d, "cpsbmethafw_100.bin")) == a and
             read(os.path.join(d, "cpsbmethadata_100.bin")) == b,
             "pyftpdlib %d: both files identical" % port)
    lines = [l.split() for l in open(u2[2]).read().splitlines()]
    T.eq(lines, [["admin", "i", "cpsbmethafw_100.bin"], ["admin", "quit"],
                 ["admin", "i", "cpsbmethadata_100.bin"], ["admin", "quit"]],
         "binary puts in order, a QUIT after each file")
    t = res.get(targets[2], {})
    T.ok(t.get("result") == "failed" and "550" in t.get("message", ""),
         "user without write permission: failed", t)
    t = res.get(targets[3], {})
    T.ok(t.get("result") == "failed" and "refused" in t.get("message", ""),
         "closed port: refused", t)
    T.ok("s3cret" not in r.stdout + r.stderr, "password never shown")

    cfg = os.path.join(tmp, "2024_01_02_0304.txt")
    with open(cfg, "wb") as f:
        f.write(b"[network]\r\nip=192.168.20.177\r\n")
    r = ohm("push", "--file", cfg, "--yes", targets[0], targets[1], env=env)
    T.eq(r.returncode, 0, "push: exit 0")
    T.ok(all(read(os.path.join(d, "2024_01_02_0304.txt")) ==
             b"[network]\r\nip=192.168.20.177\r\n" for _, d, _ in (u1, u2)),
         "push: configuration identical on every unit")
    r = ohm("push", "--file", cfg, "--yes",
            "ftp://admin:wrong@127.0.0.1:%d" % u1[0])
    T.ok(r.returncode == 1 and "wrong" not in r.stdout + r.stderr,
         "bad password: exit 1, password not shown", r.stdout + r.stderr)
finally:
    kill_peers(tmp)
T.done()
