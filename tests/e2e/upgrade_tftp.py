"""ohm upgrade over TFTP against tftpd-hpa, the lossy test server and
targets that refuse, time out or refuse the write (issue 5)."""
import json, os, shutil, socket, subprocess, sys, tempfile, time
sys.path.insert(0, os.path.join(os.environ["OHM_TOP"], "tests"))
from lib import T, ohm, free_port, wait_port, procs, kill_peers

TOP = os.environ["OHM_TOP"]
PY = os.environ.get("PYTHON", "/usr/bin/python3")
tmp = tempfile.mkdtemp()


def start(args, port):
    procs.append(subprocess.Popen(args, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL))
    if not wait_port(port, "udp", 10):
        T.ok(False, "peer listens on %d" % port, " ".join(args))


def tftpd(name, *extra):
    d = os.path.join(tmp, name)
    os.mkdir(d)
    port = free_port("udp")
    start(["in.tftpd", "-L", "-u", "root", "-s", d,
           "-a", "127.0.0.1:%d" % port, *extra], port)
    return port, d


def lossy(name, *extra):
    d = os.path.join(tmp, name)
    os.mkdir(d)
    port = free_port("udp")
    start([PY, os.path.join(TOP, "tests", "lossy_tftpd.py"), "--port",
           str(port), "--dir", d, *extra], port)
    return port, d


def same(path, want):
    try:
        with open(path, "rb") as f:
            return f.read() == want
    except OSError:
        return False


try:
    if not shutil.which("in.tftpd"):
        T.skip("upgrade over tftp", "in.tftpd (tftpd-hpa) not installed")
        T.done()
    fw = os.path.join(tmp, "BPS2500-3.bin")
    data = os.urandom(700 * 1024 + 123)
    with open(fw, "wb") as f:
        f.write(data)
    good = [tftpd("good%d" % i, "-c") for i in range(3)]
    noopt = tftpd("noblk", "-c", "-r", "blksize")
    nocreate = tftpd("nocreate")  # without -c: refuses to create the file
    lossy_t = lossy("lossy", "--drop", "0.03", "--dup", "0.03", "--seed", "7")
    rfc1350 = lossy("rfc1350", "--no-options")
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    silent.bind(("127.0.0.1", 0))  # never answers: a target that times out
    closed = free_port("udp")      # nothing listens: ICMP unreachable
    url = lambda p: "tftp://127.0.0.1:%d" % p
    targets = [url(p) for p, _ in good] + [
        url(noopt[0]), url(lossy_t[0]), url(rfc1350[0]), url(nocreate[0]),
        url(silent.getsockname()[1]), url(closed)]

    r = ohm("upgrade", "--file", fw, "--dry-run", "--json", *targets[:3])
    T.eq(r.returncode, 0, "dry run exits 0")
    T.ok(all(not os.listdir(d) for _, d in good), "dry run sends nothing")
    T.eq([t["result"] for t in json.loads(r.stdout)["targets"]],
         ["ok (dry run)"] * 3, "dry run reports the checks")

    r = ohm("upgrade", "--file", fw, *targets[:2])
    T.eq(r.returncode, 2, "without --yes and no terminal: refused")
    T.ok("--yes" in r.stderr, "the refusal says --yes", r.stderr)
    T.ok(all(not os.listdir(d) for _, d in good), "refused: nothing sent")

    r = ohm("upgrade", "--file", fw, "--yes", "--json", "--jobs", "4",
            "--timeout", "1", "--retries", "0", *targets, timeout=120)
    T.eq(r.returncode, 3, "some failed: exit 3")
    rep = None
    try:
        rep = json.loads(r.stdout)
    except ValueError as ex:
        T.ok(False, "--json parses", "%s\n%s" % (ex, r.stdout))
    if rep:
        T.ok(True, "--json parses")
        res = {t["target"]: t for t in rep["targets"]}
        T.eq(rep["files"][0]["size"], len(data), "report: file size")
        import hashlib
        T.eq(rep["files"][0]["sha256"], hashlib.sha256(data).hexdigest(),
             "report: sha256 of the file")
        for p, d in good:
            T.eq(res[url(p)]["result"], "ok", "tftpd-hpa %d: ok" % p)
            T.ok(same(os.path.join(d, "BPS2500-3.bin"), data),
                 "tftpd-hpa %d: identical file" % p)
        T.eq(res[url(noopt[0])]["result"], "ok", "tftpd-hpa -r blksize: ok")
        T.ok(same(os.path.join(noopt[1], "BPS2500-3.bin"), data),
             "tftpd-hpa -r blksize: identical file")
        T.eq(res[url(lossy_t[0])]["result"], "ok", "lossy server: ok")
        T.ok(same(os.path.join(lossy_t[1], "BPS2500-3.bin"), data),
             "lossy server (drops, duplicates): identical file")
        t = res[url(rfc1350[0])]
        T.ok(t["result"] == "ok" and not t["tftp_options"],
             "server refusing options: sent in RFC 1350 mode", t)
        T.ok(same(os.path.join(rfc1350[1], "BPS2500-3.bin"), data),
             "server refusing options: identical file")
        t = res[url(nocreate[0])]
        T.ok(t["result"] == "failed" and "put" in t["message"],
             "write refused: failed", t)
        t = res[url(silent.getsockname()[1])]
        T.ok(t["result"] == "failed" and "no answer" in t["message"],
             "silent server: failed with no answer", t)
        t = res[url(closed)]
        T.ok(t["result"] == "failed" and "refused" in t["message"],
             "closed port: failed as refused", t)
        T.eq((rep["ok"], rep["failed"]), (6, 3), "report counts")

    r = ohm("upgrade", "--file", fw, "--yes", "--remote-name", "x.bin",
            targets[0])
    T.eq(r.returncode, 0, "--remote-name: exit 0")
    T.ok(same(os.path.join(good[0][1], "x.bin"), data),
         "--remote-name names the file on the server")
    T.ok(targets[0] in r.stdout and " ok " in r.stdout and "result" in r.stdout,
         "table report", r.stdout)

    r = ohm("upgrade", "--file", fw, "--yes", url(closed))
    T.eq(r.returncode, 1, "none succeeded: exit 1")
    r = ohm("upgrade", "--file", os.path.join(tmp, "missing.bin"), "--yes",
            targets[0])
    T.ok(r.returncode == 1 and "missing.bin" in r.stderr,
         "missing file: exit 1 (it does not exist), naming it", r.stderr)
    empty = os.path.join(tmp, "empty.bin")
    open(empty, "w").close()
    r = ohm("upgrade", "--file", empty, "--yes", targets[0])
    T.ok(r.returncode != 0 and "empty" in r.stderr, "empty file refused",
         r.stderr)
    r = ohm("push", "--file", fw, "--yes", targets[0])
    T.ok(r.returncode == 2 and "FTP" in r.stderr, "push refuses TFTP targets",
         r.stderr)

    # On a terminal: the targets are listed and the user is asked.
    if shutil.which("script"):
        import shlex
        cmd = " ".join(shlex.quote(a) for a in
                       [os.environ.get("OHM", "ohm"), "upgrade", "--file", fw,
                        "--remote-name", "tty.bin", targets[1]])
        for answer, rc, sent in (("n", 2, False), ("y", 0, True)):
            r = subprocess.run(["script", "-qec", cmd, "/dev/null"],
                               input=answer + "\n", capture_output=True,
                               text=True, timeout=30)
            T.ok(r.returncode == rc and "proceed?" in r.stdout and
                 targets[1] in r.stdout, "terminal: asked, answered %s" %
                 answer, r.stdout)
            T.eq(os.path.exists(os.path.join(good[1][1], "tty.bin")), sent,
                 "terminal: answer %s %s" % (answer, "sends" if sent
                                               else "sends nothing"))
    else:
        T.skip("terminal confirmation", "script(1) not installed")
finally:
    kill_peers(tmp)
T.done()
