"""Libraries only some commands need (readline, libserialport, libtelnet,
like libcurl, net-snmp and libmosquitto; libmodbus for RTU and the
simulator; libm for Lua's arithmetic and math library) are loaded on first
use (issue 17): start-up and a Modbus read load none of them, and a
missing one is a one-line error naming its Debian package (libm, part of
libc6, cannot be missing). The library is made missing for
real: a private mount namespace (unshare -rm) mounts /dev/null over it."""
import os, pty, re, select, shutil, subprocess, sys, time
sys.path.insert(0, os.path.join(os.environ["OHM_TOP"], "tests"))
from lib import T, ohm, run, OHM, PY, free_port, start, wait_port

TOP = os.environ["OHM_TOP"]

LAZY = ("libreadline", "libserialport", "libtelnet", "libtinfo", "libcurl",
        "libnetsnmp", "libmosquitto")


def loaded(*args):
    r = ohm(*args, env={"LD_DEBUG": "files"})
    libs = sorted({l for l in LAZY if "file=" + l in r.stderr})
    return r.returncode, libs


def ohm_maps(r, lib):
    """Whether ohm itself needed or dlopened lib (LD_DEBUG=files output);
    a sanitizer runtime needing libm is not ohm's doing."""
    pat = r"file=%s\S* \[\d+\];\s+(needed|dynamically loaded) by %s " % (
        re.escape(lib), re.escape(OHM))
    return re.search(pat, r.stderr) is not None


def modbus_tcp_peer():
    p = free_port()
    start(PY, os.path.join(TOP, "tests", "modbus_peer.py"), "tcp", str(p),
          "--set", "3=522", stderr=subprocess.DEVNULL)
    wait_port(p)
    return f"modbus-tcp://127.0.0.1:{p}"


def modbus_tcp_alone(uri):
    """A Modbus TCP read maps neither libmodbus nor libm; Lua arithmetic
    that needs libm loads it when it runs, with libm's results."""
    r = ohm("get", "-d", "bps2000v2", uri, "input.L1.current",
            env={"LD_DEBUG": "files"})
    T.ok(r.returncode == 0 and "input.L1.current: 5.22" in r.stdout,
         "ohm get over Modbus TCP reads", r.stderr[-300:])
    # glibc names the file of every dlopen ("opening file=", also of one a
    # sanitizer runtime had mapped) and of every library it maps
    T.ok("file=libmodbus" not in r.stderr and not ohm_maps(r, "libm.so")
         and not re.search(r"opening file=\S*libm\.so\.6", r.stderr),
         "ohm get over Modbus TCP loads neither libmodbus nor libm",
         [l for l in r.stderr.splitlines() if "libm" in l])
    r = ohm("-e", "print(2^0.5, 7.5 % 2, math.sin(0), math.fmod(-7, 3))",
            env={"LD_DEBUG": "files"})
    # dlopen's own line, also when a sanitizer runtime had mapped libm
    dlopened = re.search(r"opening file=\S*libm\.so\.6", r.stderr)
    T.ok(r.stdout.startswith("1.4142135623731\t1.5\t0.0\t-1") and dlopened,
         "Lua's ^, float %, math.sin and math.fmod load libm when they run",
         (r.stdout, [l for l in r.stderr.splitlines() if "libm" in l]))
    r = subprocess.run(["readelf", "-d", OHM], capture_output=True,
                       text=True)
    needed = re.findall(r"\(NEEDED\).*\[(.*)\]", r.stdout)
    T.ok(needed and not [n for n in needed if n.startswith(("libm.",
                                                            "libmodbus"))],
         "ohm is linked with neither libm nor libmodbus", needed)


def not_loaded():
    rc, libs = loaded("-e", "")
    T.ok(rc == 0 and not libs, "ohm -e '' loads none of the lazy libraries",
         libs)
    rc, libs = loaded("get", "sim:bps2000v2", "device.mfr")
    T.ok(rc == 0 and not libs,
         "ohm get over Modbus loads none of the lazy libraries", libs)
    r = subprocess.run(["ldd", OHM], capture_output=True, text=True)
    T.ok(not [l for l in LAZY if l in r.stdout],
         "ldd: ohm links none of them", r.stdout)


def lib_path(soname):
    r = subprocess.run(["/sbin/ldconfig", "-p"], capture_output=True,
                       text=True)
    for line in r.stdout.splitlines():
        if line.strip().startswith(soname + " ") and "x86-64" in line:
            return os.path.realpath(line.split("=> ")[1].strip())
    return None


def hidden(soname, argv):
    """argv with soname's file replaced by /dev/null for it alone."""
    path = lib_path(soname)
    return ["unshare", "-rm", "sh", "-c",
            'mount --bind /dev/null "$0" && exec "$@"', path, *argv]


def can_hide():
    if not shutil.which("unshare") or not lib_path("libtelnet.so.2"):
        return False
    r = subprocess.run(hidden("libtelnet.so.2", ["true"]),
                       capture_output=True)
    return r.returncode == 0


def missing(soname, pkg, argv, what):
    r = subprocess.run(hidden(soname, [OHM, *argv]), capture_output=True,
                       text=True, timeout=30)
    lines = r.stderr.splitlines()
    T.ok(r.returncode != 0 and len(lines) == 1 and lines[0].startswith("ohm:")
         and soname in lines[0] and "package " + pkg in lines[0],
         what + ": a one-line error naming " + pkg, r.stderr)


def repl_without_readline():
    """On a terminal without readline: a note naming the package, then the
    REPL still evaluates (unedited lines)."""
    pid, fd = pty.fork()
    if pid == 0:
        argv = hidden("libreadline.so.8", [OHM])
        os.execvp(argv[0], argv)
    out, deadline, sent = b"", time.time() + 20, False
    while time.time() < deadline:
        r, _, _ = select.select([fd], [], [], 0.2)
        if r:
            try:
                data = os.read(fd, 4096)
            except OSError:
                break
            if not data:
                break
            out += data
        if not sent and b"libreadline8" in out:
            os.write(fd, b"return 6*7\n")
            sent = True
        if b"42" in out:
            os.write(fd, b"\x04")
            break
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:
        pass
    os.close(fd)
    text = out.decode(errors="replace")
    T.ok("no line editing: cannot load libreadline.so.8" in text and
         "package libreadline8" in text,
         "REPL without readline: a note naming libreadline8", text[-300:])
    T.ok("42" in text, "REPL without readline still evaluates", text[-300:])


def main():
    not_loaded()
    uri = modbus_tcp_peer()
    modbus_tcp_alone(uri)
    if not can_hide():
        return T.skip("missing libraries", "no unprivileged mount namespace")
    missing("libtelnet.so.2", "libtelnet2",
            ["get", "-d", "bps2000v2", "telnet://127.0.0.1:9/", "device.mfr"],
            "telnet:// without libtelnet")
    missing("libserialport.so.0", "libserialport0",
            ["get", "-d", "bps2000v2", "serial:///dev/null", "device.mfr"],
            "serial:// without libserialport")
    missing("libmodbus.so.5", "libmodbus5",
            ["get", "-d", "bps2000v2", "modbus-rtu:///dev/null",
             "device.mfr"], "modbus-rtu:// without libmodbus")
    missing("libmodbus.so.5", "libmodbus5",
            ["sim", "bps2000v2", "--modbus-tcp", "127.0.0.1:0", "-q"],
            "ohm sim without libmodbus")
    r = subprocess.run(hidden("libmodbus.so.5", [
        OHM, "get", "-d", "bps2000v2", uri, "input.L1.current"]),
        capture_output=True, text=True, timeout=30)
    T.eq(r.stdout, "input.L1.current: 5.22\n",
         "without libmodbus a Modbus TCP read still works")
    missing("libnetsnmp.so.40", "libsnmp40",
            ["get", "-d", "ups-mib", "snmp://127.0.0.1:9", "ups.status"],
            "snmp:// without net-snmp")
    repl_without_readline()
    r = subprocess.run(hidden("libtelnet.so.2", [OHM, "-e", "print(1)"]),
                       capture_output=True, text=True, timeout=30)
    T.ok(r.returncode == 0 and r.stdout == "1\n",
         "without libtelnet the rest still works", r.stderr)


run(main)
