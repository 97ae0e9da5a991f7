"""ohm config over the BPS2000v2's Telnet console (`ohm sim bps2000v2
--telnet`), where the warning thresholds live: saved over Modbus they are
named in the file's comments as not reachable, saved over the console they
are in it; applying all four thresholds of a quantity through the console
writes them in a safe order (raising: high.critical, high.warning,
low.warning, low.critical; lowering: the reverse), which the report's rows
show in the order written; an independent Modbus client (mbpoll) reads
the critical ones back."""
import os, re, subprocess, sys, tempfile
sys.path.insert(0, os.path.join(os.environ["OHM_TOP"], "tests"))
from lib import T, OHM, ohm, free_port, start, wait_port, run

Q = "input.L1.current."


def mbpoll(port, reg, count):
    r = subprocess.run(["mbpoll", "-m", "tcp", "-p", str(port), "-a", "1",
                        "-0", "-r", str(reg), "-c", str(count), "-1",
                        "127.0.0.1"], capture_output=True, text=True,
                       timeout=20)
    return {int(m.group(1)): int(m.group(2)) for m in
            re.finditer(r"\[(\d+)\]:\s+(-?\d+)", r.stdout)}


def rows(out):
    """The VARIABLE column of the report, in the order written."""
    return [l.split()[1] for l in out.splitlines()[1:] if l.strip()]


def main():
    tmp = tempfile.mkdtemp()
    mp, tp = free_port(), free_port()
    env = dict(os.environ, OHM_CONSOLE_USER="admin", OHM_PASSWORD="cfg-pw")
    start(OHM, "sim", "bps2000v2", "--modbus-tcp", "127.0.0.1:%d" % mp,
          "--telnet", "127.0.0.1:%d" % tp, "-q", env=env)
    T.ok(wait_port(mp) and wait_port(tp), "sim with its console listens")
    mb = "modbus-tcp://127.0.0.1:%d?driver=bps2000v2" % mp
    tel = "telnet://admin@127.0.0.1:%d" % tp

    over_mb = os.path.join(tmp, "mb.lua")
    r = ohm("config", "save", mb, "-o", over_mb)
    text = open(over_mb).read()
    T.ok(r.returncode == 0 and "others not: see its comments" in r.stderr and
         "--   %shigh.warning: not reachable over modbus-tcp" % Q in text and
         '["%shigh.warning"]' % Q not in text,
         "saved over Modbus: the console-only warnings named as not saved",
         r.stderr + text)
    saved = os.path.join(tmp, "tel.lua")
    r = ohm("config", "save", tel, "-o", saved, env=env)
    text = open(saved).read()
    T.ok(r.returncode == 0 and '["%shigh.warning"] = ' % Q in text and
         '["%shigh.critical"] = 16,' % Q in text and "cfg-pw" not in text,
         "saved over the console: warnings and criticals", r.stderr + text)

    up = os.path.join(tmp, "up.lua")
    new = {"low.critical": 17, "low.warning": 18, "high.warning": 19,
           "high.critical": 20}
    for k, v in new.items():
        text = re.sub(r'(\["%s%s"\] = )[^,]+,' % (re.escape(Q), k),
                      r"\g<1>%d," % v, text)
    open(up, "w").write(text)
    r = ohm("config", "apply", "--yes", up, tel, env=env)
    T.ok(r.returncode == 0 and rows(r.stdout) == [
        Q + "high.critical", Q + "high.warning", Q + "low.warning",
        Q + "low.critical"] and r.stdout.count("written, read back") == 4,
        "raising all four through the console: top down, read back",
        r.stdout + r.stderr)
    T.eq(mbpoll(mp, 69, 2), {69: 170, 70: 200},
         "mbpoll reads 17 A and 20 A (critical low and high)")
    r = ohm("config", "diff", up, tel, env=env)
    T.eq((r.returncode, r.stdout), (0, ""), "diff over the console: equal")
    r = ohm("config", "apply", "--yes", saved, tel, env=env)
    T.ok(r.returncode == 0 and rows(r.stdout) == [
        Q + "low.critical", Q + "low.warning", Q + "high.warning",
        Q + "high.critical"],
        "lowering them again: bottom up", r.stdout + r.stderr)
    T.eq(mbpoll(mp, 69, 2), {69: 0, 70: 160}, "mbpoll reads 0 A and 16 A")


run(main)
