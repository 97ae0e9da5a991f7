"""Helpers for Python end-to-end tests (run with Debian's /usr/bin/python3).

    import sys, os; sys.path.insert(0, os.path.join(os.environ["OHM_TOP"], "tests"))
    from lib import T, ohm, free_port, wait_port
"""
import os, shutil, socket, subprocess, sys, time

OHM = os.environ.get("OHM", "build/ohm")


class Tests:
    def __init__(self):
        self.failed = 0

    def ok(self, cond, name, detail=""):
        print(("ok - " if cond else "not ok - ") + name, flush=True)
        if not cond:
            self.failed += 1
            if detail:
                for line in str(detail).splitlines():
                    print("    " + line)
        return cond

    def eq(self, actual, expected, name):
        return self.ok(actual == expected, name,
                       f"expected: {expected!r}\nactual:   {actual!r}")

    def skip(self, name, why):
        print(f"skip - {name} ({why})", flush=True)

    def done(self):
        sys.exit(1 if self.failed else 0)


T = Tests()

TOP = os.environ.get("OHM_TOP", os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
PY = os.environ.get("PYTHON", "/usr/bin/python3")
PEER = os.path.join(TOP, "tests", "modbus_peer.py")  # pymodbus peer
procs = []  # peers started by start(), killed by run()


def start(*args, **kw):
    """Start a peer process; run() kills it at the end."""
    p = subprocess.Popen(list(args), **kw)
    procs.append(p)
    return p


def start_listening(args, port, kind="tcp"):
    """Start a quiet peer and wait until it listens on port."""
    p = start(*args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if not wait_port(port, kind, 10):
        raise SystemExit("peer did not start: %r" % (args,))
    return p


def stop_all(check_ohm=False):
    """Terminate every peer start() began; with check_ohm, the ohm
    processes among them must have stopped cleanly (exit 0 or SIGTERM,
    so ASan found no leak and nothing crashed)."""
    for p in procs:
        p.terminate()
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    if check_ohm:
        rcs = [p.returncode for p in procs if p.args[0] == OHM]
        T.ok(rcs and all(rc in (0, -15) for rc in rcs),
             "ohm serve stops cleanly (no leak, no crash)", rcs)


def kill_peers(tmp=None):
    """Kill every peer in procs and wait for it; remove the directory tmp
    (a test's own) if given."""
    for p in procs:
        p.kill()
        p.wait()
    if tmp:
        shutil.rmtree(tmp, ignore_errors=True)


def run(main):
    """Run a test's main(), kill every peer it started, exit with T's
    verdict."""
    try:
        main()
    finally:
        kill_peers()
    T.done()


def start_tftpd(root):
    """tftpd-hpa serving (and creating files in) root on a free UDP port
    of 127.0.0.1, killed by kill_peers(); returns the port."""
    port = free_port("udp")
    start("in.tftpd", "-L", "-c", "-u", "root", "-s", root,
          "-a", "127.0.0.1:%d" % port)
    wait_port(port, "udp")
    return port


def ohm(*args, timeout=30, input=None, env=None):
    """Run ohm; returns CompletedProcess with text stdout/stderr."""
    e = dict(os.environ)
    if env:
        e.update(env)
    return subprocess.run([OHM, *args], capture_output=True, text=True,
                          timeout=timeout, input=input, env=e)


def inventory(path, devs, driver="bps2000v2"):
    """Write an inventory of (name, uri) devices of one driver to path."""
    with open(path, "w") as f:
        f.write("devices = {\n")
        for name, uri in devs:
            f.write(f'  ["{name}"] = {{ uri = "{uri}", driver = "{driver}" '
                    '},\n')
        f.write("}\n")
    return path


def free_port(kind="tcp"):
    t = socket.SOCK_DGRAM if kind == "udp" else socket.SOCK_STREAM
    with socket.socket(socket.AF_INET, t) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, kind="tcp", seconds=10.0):
    end = time.time() + float(seconds)
    while time.time() < end:
        if kind == "udp":
            out = subprocess.run(["ss", "-Hlun", f"sport = :{port}"],
                                 capture_output=True, text=True).stdout
            if out.strip():
                return True
        else:
            try:
                socket.create_connection(("127.0.0.1", int(port)), 0.2).close()
                return True
            except OSError:
                pass
        time.sleep(0.05)
    return False



def wait_file(path, seconds=10):
    """Whether path exists within seconds (polled)."""
    end = time.time() + seconds
    while time.time() < end and not os.path.exists(path):
        time.sleep(0.05)
    return os.path.exists(path)


def pty_pair(a, b):
    """A socat pty pair linked at paths a and b (killed by run());
    whether both came up."""
    procs.append(subprocess.Popen(
        ["socat", f"pty,raw,echo=0,link={a}", f"pty,raw,echo=0,link={b}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    return wait_file(a) and wait_file(b)

if __name__ == "__main__":
    if sys.argv[1] == "free_port":
        print(free_port(sys.argv[2] if len(sys.argv) > 2 else "tcp"))
    elif sys.argv[1] == "wait_port":
        sys.exit(0 if wait_port(int(sys.argv[2]), sys.argv[3],
                                float(sys.argv[4])) else 1)
