"""The cps-bm100 driver against snmpsim (an independent agent) serving a
BM100's data written for 2 strings x 4 blocks (tests/snmplib.py
bm_records, probes numbered block-major so a row's number is never the
block's position): every block's values equal the data file's, named by
string and block, over v1 (the driver's default, GETNEXT) and v2c
(GETBULK, a few PDUs for the whole unit). The faults: a row whose index
columns disagree between tables, two rows naming one block, holes, wrong
types, a 960-row table, an agent that stops answering mid-walk: exit 1
or the block absent with a one-line reason, never a value on the wrong
block."""
import os, re, shutil, socket, sys, tempfile, threading
sys.path.insert(0, os.path.join(os.environ["OHM_TOP"], "tests"))
from lib import T, ohm, free_port
import snmplib as S

if not shutil.which("snmpsimd") or not shutil.which("snmpget"):
    T.skip("bm100_snmpsim", "snmpsimd or snmpget not installed")
    T.done()

P = lambda s, b: S.bm_probe(s, b, 2, 4)  # noqa: E731
work = tempfile.mkdtemp()
port = free_port("udp")
communities = {
    "public": S.bm_records(),
    # the temperature table's row of 1/2 says it is 2/2 (which row 2/2
    # says too): both blocks' temperatures are no good
    "swap": S.bm_records(swap=(7, P(1, 2), 2, 2)),
    # a probe missing from the resistance table; a voltage row without
    # its string column
    "hole": S.bm_records(drop={(9, 7, P(2, 1)), (9, 8, P(2, 1)),
                               (9, 6, P(2, 1)), (9, 3, P(2, 1)),
                               (9, 4, P(2, 1)), (5, 3, P(1, 3))}),
    "rtype": S.bm_records(retype=(9, 7, P(1, 4))),
    "itype": S.bm_records(retype=(5, 4, P(2, 4))),
    "huge": S.bm_records(strings=24, blocks=40),
    # the probe tables are the last objects: a v1 walk runs off the MIB
    "tail": [x for x in S.bm_records() if not x.startswith(
        (S.BMG + ".6.", S.BMG + ".7."))],
    # same length as "public": the relay below switches a read to it
    "shiftd": S.bm_records(renumber=True),
}
try:
    agent = S.start_snmpsim(work, communities, [port])
except Exception as ex:  # an agent that cannot start is a failure here
    T.ok(False, "snmpsim starts", str(ex))
    T.done()


def uri(community, extra=""):
    return f"snmp://{community}@127.0.0.1:{port}{extra}"


def parse(out):
    return dict(line.split(": ", 1) for line in out.splitlines())


def blocks_of(vals):
    return {k: v for k, v in vals.items() if k.startswith("battery.string.")
            and ".block." in k}


def relay(target, forward, swap=None):
    """A UDP relay that passes the first `forward` requests to target and
    drops every later one (an agent that stops answering mid-walk); with
    swap = (n, a, b) it passes them all and from the n-th on puts
    community b in place of a (and back in the answers): the unit
    changing between two walks of one read."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    up = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    up.settimeout(2)

    def run():
        n = 0
        while True:
            data, peer = s.recvfrom(65535)
            n += 1
            if n > forward:
                continue
            if swap and n >= swap[0]:
                data = data.replace(swap[1], swap[2])
            up.sendto(data, ("127.0.0.1", target))
            try:
                back = up.recv(65535)
                if swap and n >= swap[0]:
                    back = back.replace(swap[2], swap[1])
                s.sendto(back, peer)
            except OSError:
                pass
    threading.Thread(target=run, daemon=True).start()
    return s.getsockname()[1]


try:
    want = S.bm_expected(2, 4)
    # --- every block's values, by string and block, v1 and v2c
    for extra, how in (("", "v1 GETNEXT (the driver's default)"),
                       ("?version=2c", "v2c GETBULK")):
        r = ohm("get", "-v", "-d", "cps-bm100", uri("public", extra))
        got = parse(r.stdout) if r.returncode == 0 else {}
        T.eq((r.returncode, blocks_of(got)), (0, want),
             f"{how}: every block's values equal the data file's")
        T.eq((got.get("device.serial"), got.get("device.location"),
              got.get("battery.block.resistance.high.critical"),
              got.get("battery.resistance.interval"),
              got.get("battery.equalization.elapsed")),
             ("QBM1234567", "room 3", "20", "7200", "3600"),
             f"{how}: identity, thresholds, interval in s, elapsed ticks")
        reqs = re.findall(r"> (GET\w*) ", r.stderr)
        kind = "GETNEXT" if extra == "" else "GETBULK"
        T.ok(kind in reqs and "GETBULK" not in reqs[:0], f"{how}: uses {kind}",
             sorted(set(reqs)))
        if extra:
            T.ok(len(reqs) <= 6, "v2c: 2 x 4 blocks in one GET and one "
                 "GETBULK per table", reqs)
            T.ok("GETNEXT" not in reqs, "v2c never falls back to GETNEXT",
                 reqs)
    r = ohm("get", "-v", "-d", "cps-bm100", uri("tail"))
    got = parse(r.stdout) if r.returncode == 0 else {}
    T.ok(r.returncode == 0 and blocks_of(got) == want and
         "errstat 2 " in r.stderr,
         "v1: tables at the end of the agent's MIB (noSuchName past the "
         "last column) still read whole", r.stderr[-300:])
    # one named block var
    r = ohm("get", "-d", "cps-bm100", uri("public"),
            "battery.string.2.block.3.voltage.status")
    T.eq((r.returncode, r.stdout),
         (0, "battery.string.2.block.3.voltage.status: critical-high\n"),
         "one block's status word by name")

    # --- rows whose index columns disagree between tables
    r = ohm("get", "-d", "cps-bm100", uri("swap"))
    got = parse(r.stdout)
    T.ok(r.returncode == 1 and
         "battery.string.1.block.2.temperature" not in got and
         "battery.string.2.block.2.temperature" not in got,
         "a row naming another block in one table: neither block's "
         "temperature shown, exit 1", r.returncode)
    T.ok(not [k for k in got if k.startswith("battery.string.1.block.2.")],
         "the probe that names two blocks gives block 1/2 no value at all",
         got)
    T.eq(got.get("battery.string.2.block.2.voltage"),
         want["battery.string.2.block.2.voltage"],
         "block 2/2's own rows that agree still give its voltage")
    T.ok(re.search(r"^ohm: .*battery\.string\.1\.block\.2\.voltage: "
                   r"row \d+ is 1/2 in .*5\.5\.1 but 2/2 in .*5\.7\.1$",
                   r.stderr, re.M) and
         re.search(r"^ohm: .*battery\.string\.2\.block\.2\.temperature: "
                   r"rows \d+ and \d+ of .*5\.7\.1 both say 2/2$",
                   r.stderr, re.M), "the reasons: one line a value, naming "
         "the row and both tables, or both rows", r.stderr)

    # --- holes: the block absent, nothing else touched
    r = ohm("get", "-d", "cps-bm100", uri("hole"))
    got = parse(r.stdout) if r.returncode == 0 else {}
    absent = {k for k in want if k.startswith("battery.string.2.block.1.res")}
    absent |= {k for k in want if k.startswith("battery.string.1.block.3.")
               and k.split(".", 5)[5] in ("voltage", "voltage.status",
                                          "equalization")}
    T.eq((r.returncode, r.stderr, blocks_of(got)),
         (0, "", {k: v for k, v in want.items() if k not in absent}),
         "a probe missing from a table, a row without its string: those "
         "blocks' values absent, the rest equal the data")
    r = ohm("get", "-d", "cps-bm100", uri("hole"),
            "battery.string.2.block.1.resistance")
    T.eq((r.returncode, r.stdout, r.stderr.count("\n")), (1, "", 1),
         "asked for by name, the missing block is a one-line error")

    # --- wrong types
    r = ohm("get", "-d", "cps-bm100", uri("rtype"))
    got = parse(r.stdout)
    T.ok(r.returncode == 1 and "battery.string.1.block.4.resistance" not in
         got and r.stderr.count("\n") == 1 and "STRING" in r.stderr and
         got.get("battery.string.1.block.3.resistance") ==
         want["battery.string.1.block.3.resistance"],
         "a STRING where a resistance belongs: that value a one-line error",
         r.stderr)
    r = ohm("get", "-d", "cps-bm100", uri("itype"))
    got = parse(r.stdout) if r.returncode == 0 else {}
    T.ok(r.returncode == 0 and
         "battery.string.2.block.4.voltage" not in got and
         got.get("battery.string.2.block.4.temperature") ==
         want["battery.string.2.block.4.temperature"],
         "an index column of the wrong type: that row names no block",
         r.stderr)

    # --- 960 rows (24 strings of 40): the map's 4 x 40 read, rest ignored
    r = ohm("get", "-d", "cps-bm100", uri("huge", "?version=2c"),
            timeout=60)
    got = parse(r.stdout) if r.returncode == 0 else {}
    big = S.bm_expected(4, 40)
    T.eq((r.returncode, blocks_of(got)), (0, big),
         "a 960-row table: the 4 x 40 blocks of the map, each its own")

    # --- the unit changes between walks (probes renumbered, new values):
    # the tables read before and after disagree on the rows' blocks
    after = S.bm_expected(2, 4)
    for k in list(after):
        if k.rsplit(".", 1)[1] in ("voltage", "equalization", "temperature",
                                   "resistance", "health"):
            raw = S.bm_block(int(k.split(".")[2]), int(k.split(".")[4]))
            name = k.split(".", 5)[5]
            key = next(x for x, (n, _) in S.BM_NAMES.items() if n == name)
            after[k] = S.fmt((raw[key] + 1) * S.BM_NAMES[key][1])
    rp = relay(port, 10 ** 6, (3, b"public", b"shiftd"))
    r = ohm("get", "-v", "-d", "cps-bm100",
            f"snmp://public@127.0.0.1:{rp}?version=2c")
    got = blocks_of(parse(r.stdout))
    wrong = {k: v for k, v in got.items()
             if v != want.get(k) and v != after.get(k)}
    T.ok(r.returncode == 1 and not wrong and
         len(got) < len(want) and "row " in r.stderr,
         "a unit that changes between walks: the blocks whose rows moved "
         "are errors, no value on another block", (wrong, r.stderr[-400:]))
    T.ok(any(v == after.get(k) != want.get(k) for k, v in got.items()) and
         any(v == want.get(k) != after.get(k) for k, v in got.items()),
         "the read really spanned the change (old and new values seen)")

    # --- an agent that stops answering mid-walk
    rp = relay(port, 3)
    r = ohm("get", "--timeout", "0.3", "--retries", "0", "-d", "cps-bm100",
            f"snmp://public@127.0.0.1:{rp}")
    T.eq((r.returncode, r.stdout, r.stderr.count("\n")), (1, "", 1),
         "an agent silent mid-walk: exit 1, one line, no values")
    T.ok("no answer" in r.stderr, "the line says why", r.stderr)
finally:
    S.stop(agent)
    shutil.rmtree(work, ignore_errors=True)
T.done()
