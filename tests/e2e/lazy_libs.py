"""Libraries only some commands need (readline, libserialport, libtelnet,
like libcurl, net-snmp and libmosquitto) are loaded on first use (issue
17): start-up and a Modbus read load none of them, and a missing one is a
one-line error naming its Debian package. The library is made missing for
real: a private mount namespace (unshare -rm) mounts /dev/null over it."""
import os, pty, select, shutil, subprocess, sys, time
sys.path.insert(0, os.path.join(os.environ["OHM_TOP"], "tests"))
from lib import T, ohm, run, OHM

LAZY = ("libreadline", "libserialport", "libtelnet", "libtinfo", "libcurl",
        "libnetsnmp", "libmosquitto")


def loaded(*args):
    r = ohm(*args, env={"LD_DEBUG": "files"})
    libs = sorted({l for l in LAZY if "file=" + l in r.stderr})
    return r.returncode, libs


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
    if not can_hide():
        return T.skip("missing libraries", "no unprivileged mount namespace")
    missing("libtelnet.so.2", "libtelnet2",
            ["get", "-d", "bps2000v2", "telnet://127.0.0.1:9/", "device.mfr"],
            "telnet:// without libtelnet")
    missing("libserialport.so.0", "libserialport0",
            ["get", "-d", "bps2000v2", "serial:///dev/null", "device.mfr"],
            "serial:// without libserialport")
    missing("libnetsnmp.so.40", "libsnmp40",
            ["get", "-d", "ups-mib", "snmp://127.0.0.1:9", "ups.status"],
            "snmp:// without net-snmp")
    repl_without_readline()
    r = subprocess.run(hidden("libtelnet.so.2", [OHM, "-e", "print(1)"]),
                       capture_output=True, text=True, timeout=30)
    T.ok(r.returncode == 0 and r.stdout == "1\n",
         "without libtelnet the rest still works", r.stderr)


run(main)
