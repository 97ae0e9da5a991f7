"""telnet:// against units that spell screen 1's items differently: the
manual prints only "master load", so ohm tries the known spellings in turn
(run together, as the menu prints them, the item's number), remembers per
device the one the unit took, and leaves out an item the unit refuses in
every spelling instead of failing the whole read. The unit is
tests/console_emulator.py (written from the manual, not ohm's server)."""
import os
import sys
import tempfile

sys.path.insert(0, os.path.join(os.environ["OHM_TOP"], "tests"))
from lib import T, PY, TOP, ohm, free_port, start_listening, run  # noqa: E402

tmp = tempfile.mkdtemp()


def emulator(words):
    port = free_port()
    log = os.path.join(tmp, f"{words}-{port}.log")
    start_listening([PY, os.path.join(TOP, "tests", "console_emulator.py"),
                     str(port), "--user", "bkt", "--password", "pa55",
                     "--words", words, "--log", log], port)
    return f"telnet://bkt:pa55@127.0.0.1:{port}", log


def cmds(log):
    with open(log) as f:
        return [l.strip()[4:] for l in f if l.startswith("cmd ")]


def values(out):
    return dict(l.split(": ", 1) for l in out.splitlines() if ": " in l)


def test_spelling(words, want):
    uri, log = emulator(words)
    r = ohm("get", "-d", "bps2000v2", uri)
    v = values(r.stdout)
    T.ok(r.returncode == 0 and v.get("input.L1.energy") == "1800.12" and
         v.get("input.L1.current") == "12.34",
         f"{words}: a unit that wants '{want}' gives every value",
         r.stdout[-300:] + r.stderr)
    T.ok(want in cmds(log), f"{words}: '{want}' was sent", cmds(log))


def test_remembered():
    uri, log = emulator("spaced")
    r = ohm("-e", f"""
local d = assert(ohm.open("{uri}", {{driver = "bps2000v2"}}))
for i = 1, 3 do assert(d:get("input.L1.energy") == 1800.12) end
d:close()""")
    sent = cmds(log)
    T.ok(r.returncode == 0 and sent.count("master totalenergy") == 1 and
         sent.count("master total energy") == 3,
         "the spelling the unit took is remembered for the device",
         r.stderr + "\n" + "\n".join(sent))


def test_refused():
    uri, log = emulator("noenergy")
    r = ohm("get", "-d", "bps2000v2", uri)
    v = values(r.stdout)
    T.ok(v.get("input.L1.current") == "12.34" and
         v.get("ambient.contacts.1.status") == "closed" and
         v.get("input.L1.current.high.critical") == "32",
         "an item refused in every spelling does not fail the whole read",
         r.stdout[-300:] + r.stderr)
    T.ok("input.L1.energy" not in v and "input.energy" not in v,
         "its variables are left out", r.stdout)
    T.ok(r.returncode == 1 and "refused 'Total Energy' in every spelling"
         in r.stderr and "'total energy'" in r.stderr and "'8'" in r.stderr,
         "with a warning naming the item and the spellings tried",
         r.stderr)
    sent = cmds(log)
    T.ok(all(s in sent for s in ("master totalenergy", "master total energy",
                                 "master 8")), "each spelling was tried",
         sent)


def main():
    test_spelling("spaced", "master total energy")
    test_spelling("number", "master 8")
    test_spelling("joined", "master totalenergy")
    test_remembered()
    test_refused()


run(main)
