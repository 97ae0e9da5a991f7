"""The README's usage lines, its Lua snippet and the man page's EXAMPLES,
run verbatim (issue 9): each command exactly as printed, with `ohm` on
PATH, in a network namespace of the test's own where the documents'
example hosts are addresses of this machine's loopback:
  10.0.0.5, 10.0.0.6  BPS2000v2 simulators (Modbus TCP 502) + tftpd-hpa (69)
  10.0.0.7            the simulator's Telnet console (port 23)
  10.0.0.9            snmpsim with an RFC 1628 UPS (port 161)
The inventory is the README's own block, plus pdu2 and the upgrade hosts.
Every command must exit as expected (0 unless the table below says why
not); daemons must start listening and stay up until stopped."""
import os, re, shutil, subprocess, sys, tempfile, time
sys.path.insert(0, os.path.join(os.environ["OHM_TOP"], "tests"))
from lib import T, TOP, OHM, PY, wait_port
import snmplib as S

HOSTS = ["10.0.0.5", "10.0.0.6", "10.0.0.7", "10.0.0.9"]
CONSOLE_PW = "doc-console-pw"
# commands that are not expected to exit 0, with the reason
EXPECT = {}


def netns():
    """Re-run this file in a new network namespace (root only; CI is)."""
    if os.environ.get("OHM_DOC_NETNS") == "1":
        subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
        for h in HOSTS:
            subprocess.run(["ip", "addr", "add", h + "/32", "dev", "lo"],
                           check=True)
        return
    if not shutil.which("unshare"):
        T.ok(False, "unshare(1) available for a network namespace")
        T.done()
    env = dict(os.environ, OHM_DOC_NETNS="1")
    r = subprocess.run(["unshare", "-n", "--", PY, os.path.abspath(__file__)],
                       env=env)
    sys.exit(r.returncode)


def readme():
    """Usage lines (indented `ohm ...`, comments cut), the inventory block
    and the Lua snippet."""
    text = open(os.path.join(TOP, "README.md")).read()
    usage = text.split("## Usage", 1)[1].split("\n## ", 1)[0]
    cmds = []
    for line in usage.splitlines():
        m = re.match(r"^    (ohm( .*)?)$", line)
        if m:
            cmds.append(re.split(r"\s+#\s", m.group(1))[0].strip())
    blocks = re.findall(r"```lua\n(.*?)```", usage, re.S)
    inv = next(b for b in blocks if b.lstrip().startswith("devices"))
    snippet = next(b for b in blocks if "ohm.open" in b)
    return cmds, inv, snippet


def man_examples():
    text = open(os.path.join(TOP, "man", "ohm.1")).read()
    sect = text.split(".SH EXAMPLES", 1)[1].split("\n.SH ", 1)[0]
    out = []
    for line in sect.splitlines():
        if line.startswith(".B "):
            out.append(line[3:].replace("\\-", "-").replace('\\(dq', '"')
                       .strip())
    return out


def start_peers(tmp):
    procs = []
    env = dict(os.environ, OHM_CONSOLE_USER="admin", OHM_PASSWORD=CONSOLE_PW)
    for h in ("10.0.0.5", "10.0.0.6"):
        procs.append(subprocess.Popen(
            [OHM, "sim", "bps2000v2", "--modbus-tcp", h + ":502", "-q"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        tdir = os.path.join(tmp, "tftp-" + h)
        os.mkdir(tdir)
        procs.append(subprocess.Popen(
            ["in.tftpd", "-L", "-c", "-u", "root", "-s", tdir, "-a",
             h + ":69"]))
    procs.append(subprocess.Popen(
        [OHM, "sim", "bps2000v2", "--modbus-tcp", "127.0.0.1:0",
         "--telnet", "10.0.0.7:23", "-q"], env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    data = os.path.join(tmp, "snmp", "data")
    cache = os.path.join(tmp, "snmp", "cache")
    os.makedirs(data)
    os.makedirs(cache)
    with open(os.path.join(data, "public.snmprec"), "w") as f:
        f.write("\n".join(S.ups_records(source=3, battery=2, charge=100))
                + "\n")
    S._open_up(data)
    os.chmod(cache, 0o777)
    procs.append(subprocess.Popen(
        ["snmpsimd", "--data-dir=" + data, "--cache-dir=" + cache,
         "--logging-method=null", "--process-user=nobody",
         "--process-group=nogroup", "--agent-udpv4-endpoint=10.0.0.9:161"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    return procs


def wait_up(host, port, kind="tcp", seconds=20):
    import socket
    end = time.time() + seconds
    while time.time() < end:
        if kind == "udp":
            r = subprocess.run(["snmpget", "-v2c", "-c", "public", "-t", "0.3",
                                "-r", "0", host, "1.3.6.1.2.1.1.1.0"],
                               capture_output=True, text=True)
            if r.returncode == 0:
                return True
        else:
            try:
                socket.create_connection((host, port), 0.2).close()
                return True
            except OSError:
                pass
        time.sleep(0.1)
    return False


def run_cmd(cmd, cwd, env, name):
    """A one-shot command: run through sh exactly as printed."""
    if "upgrade" in cmd and "--yes" not in cmd:
        # as on a terminal, answering the confirmation with y
        argv = ["script", "-qefc", cmd, "/dev/null"]
        r = subprocess.run(argv, cwd=cwd, env=env, input="y\n",
                           capture_output=True, text=True, timeout=120)
    else:
        r = subprocess.run(["sh", "-c", cmd], cwd=cwd, env=env,
                           capture_output=True, text=True, timeout=120,
                           stdin=subprocess.DEVNULL)
    want = EXPECT.get(cmd, 0)
    T.ok(r.returncode == want, f"{name}: `{cmd}` exits {want}",
         f"exit {r.returncode}\nstdout: {r.stdout[-800:]}\n"
         f"stderr: {r.stderr[-800:]}")
    return r


def run_daemon(cmd, cwd, env, name, then=()):
    """A daemon (`... &`, or ohm sim/serve): it must come up listening on
    the port its command names, answer, and be alive until stopped."""
    line = cmd.rstrip(" &")
    p = subprocess.Popen(["sh", "-c", "exec env " + line], cwd=cwd, env=env,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                         text=True)
    ports = [int(x) for x in re.findall(r"127\.0\.0\.1:(\d+)", line)]
    up = all(wait_up("127.0.0.1", port) for port in ports) and ports
    T.ok(up and p.poll() is None, f"{name}: `{cmd}` listens on {ports}",
         "" if p.poll() is None else p.communicate()[1][-800:])
    for c in then:
        run_cmd(c, cwd, env, name)
    p.terminate()
    try:
        p.wait(10)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
    T.ok(p.returncode in (0, -15), f"{name}: `{line}` stops on SIGTERM",
         f"exit {p.returncode}")


def main():
    netns()
    tmp = tempfile.mkdtemp()
    home = os.path.join(tmp, "home")
    work = os.path.join(tmp, "work")
    bindir = os.path.join(tmp, "bin")
    for d in (home, work, bindir):
        os.makedirs(d)
    os.symlink(OHM, os.path.join(bindir, "ohm"))
    os.symlink(os.path.join(TOP, "scripts"), os.path.join(work, "scripts"))
    with open(os.path.join(work, "fw.bin"), "wb") as f:
        f.write(os.urandom(100 * 1024))
    cmds, inv, snippet = readme()
    examples = man_examples()
    T.ok(len(cmds) >= 10, f"README: {len(cmds)} usage lines found")
    T.ok(len(examples) >= 8, f"man EXAMPLES: {len(examples)} commands found")
    # the README's inventory verbatim, then what the examples also name
    cfgdir = os.path.join(home, ".config", "ohm")
    os.makedirs(cfgdir)
    with open(os.path.join(cfgdir, "config.lua"), "w") as f:
        f.write(inv + '''
devices.pdu1.upgrade_uri = "tftp://10.0.0.5:69"
devices.pdu2 = { uri = "modbus-tcp://10.0.0.6", driver = "bps2000v2",
                 upgrade_uri = "tftp://10.0.0.6:69" }
''')
    env = dict(os.environ, HOME=home, PATH=bindir + ":" + os.environ["PATH"],
               OHM_PASSWORD=CONSOLE_PW)
    env.pop("OHM_CONFIG", None)
    procs = start_peers(tmp)
    try:
        ready = all(wait_up(h, 502) for h in ("10.0.0.5", "10.0.0.6")) \
            and wait_up("10.0.0.7", 23) and wait_up("10.0.0.9", 161, "udp")
        T.ok(ready, "peers up at the documents' example hosts")
        if not ready:
            return
        for src, lines in (("README", cmds), ("man EXAMPLES", examples)):
            i = 0
            while i < len(lines):
                c = lines[i]
                if c.endswith("&"):  # a daemon, then the lines that use it
                    then = []
                    while i + 1 < len(lines) and not re.search(
                            r"(^|\s)ohm(\s|$)", lines[i + 1]):
                        i += 1
                        then.append(lines[i])
                    run_daemon(c, work, env, src, then)
                elif re.search(r"(^|\s)ohm (sim|serve) ", c):
                    run_daemon(c, work, env, src)
                else:
                    run_cmd(c, work, env, src)
                i += 1
        r = subprocess.run(["ohm", "-"], input=snippet, cwd=work, env=env,
                           capture_output=True, text=True, timeout=60)
        T.ok(r.returncode == 0 and re.match(r"^\d+(\.\d+)?\n", r.stdout),
             "README: the Lua snippet runs and prints the current",
             f"exit {r.returncode}\n{r.stdout}{r.stderr}")
    finally:
        for p in procs:
            p.kill()
            p.wait()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    try:
        main()
    except Exception:
        import traceback
        T.ok(False, "the test ran to the end", traceback.format_exc())
    T.done()
