"""ohm.upgrade{} and `ohm upgrade` take the same limits and say so: more
than 16 files is refused by both (ohm.upgrade with file={16 files} plus
files="x" overflowed a 16-slot array); every target is taken, none
dropped after the 1,024th. No peer needed: the batch is refused before
anything is sent."""
import os
import sys
import tempfile

sys.path.insert(0, os.path.join(os.environ["OHM_TOP"], "tests"))
from lib import T, ohm, free_port, run  # noqa: E402


def main():
    d = tempfile.mkdtemp()
    fw = os.path.join(d, "fw.bin")
    with open(fw, "wb") as f:
        f.write(b"x" * 100)
    tgt = "tftp://127.0.0.1:%d" % free_port("udp")
    sixteen = "{" + ", ".join([repr(fw)] * 16) + "}"
    r = ohm("-e", "print(pcall(ohm.upgrade, {file=%s, files=%r, "
            "targets={%r}, dry_run=true}))" % (sixteen, fw, tgt))
    T.ok(r.returncode == 0 and r.stdout.startswith("false") and
         "too many files (17; at most 16)" in r.stdout,
         "ohm.upgrade: 17 files refused, saying the limit",
         r.stdout + r.stderr[-800:])
    r = ohm("-e", "print(pcall(ohm.upgrade, {files=%s, "
            "targets={%r}, dry_run=true, remote_name='x'}))"
            % (sixteen, tgt))
    T.ok(r.returncode == 0 and "at most" not in r.stdout,
         "ohm.upgrade: 16 files are within the limit", r.stdout + r.stderr)
    r = ohm("upgrade", "--dry-run", *(["--file", fw] * 17), tgt)
    T.ok(r.returncode == 2 and "too many files (at most 16)" in r.stderr,
         "ohm upgrade: 17 files refused with the same limit", r.stderr)
    many = ", ".join([repr(tgt)] * 1100)
    r = ohm("-e", "print(ohm.upgrade{file=%r, targets={%s, 'nosuch'}, "
            "dry_run=true, timeout=0.1, retries=0, jobs=64})" % (fw, many),
            timeout=120)
    T.ok(r.stdout.startswith("nil") and "nosuch" in r.stdout,
         "ohm.upgrade: the 1,101st target is read, not dropped",
         r.stdout[:300] + r.stderr[-300:])


run(main)
