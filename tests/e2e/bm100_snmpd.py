"""The cps-bm100 driver against net-snmp's snmpd (an independent agent
that takes SETs), its battmgr subtree from a pass_persist program
(tests/bm_pass.py, the 2 x 4 data of snmplib.bm_records): the blocks
over v1 equal the data; thresholds and the location written and read
back (by ohm and by snmpget); SETs the agent refuses (not writable, a
value the unit finds wrong) are one-line errors with nothing changed."""
import os, shutil, subprocess, sys, tempfile
sys.path.insert(0, os.path.join(os.environ["OHM_TOP"], "tests"))
from lib import T, ohm, free_port, start, run
import snmplib as S

D = ["-d", "cps-bm100"]


def parse(out):
    return dict(line.split(": ", 1) for line in out.splitlines())


def snmpget(port, oid):
    r = subprocess.run(["snmpget", "-v1", "-c", "public", "-Oqv",
                        f"127.0.0.1:{port}", oid], capture_output=True,
                       text=True)
    return r.stdout.strip().strip('"')


def main():
    if not shutil.which("snmpd") or not shutil.which("snmpget"):
        T.skip("bm100_snmpd", "snmpd or snmpget not installed")
        return
    tmp = tempfile.mkdtemp()
    port = free_port("udp")
    S.start_bm_snmpd(tmp, port, [
        "rocommunity public 127.0.0.1", "rwcommunity private 127.0.0.1",
        'createUser bmuser SHA "authpass-bm" AES "privpass-bm"',
        "rouser bmuser priv"], spawn=lambda a, **kw: start(*a, **kw))
    RO = f"snmp://public@127.0.0.1:{port}"
    RW = f"snmp://private@127.0.0.1:{port}"

    r = ohm("get", *D, RO)
    got = parse(r.stdout) if r.returncode == 0 else {}
    want = S.bm_expected(2, 4)
    T.eq((r.returncode, {k: got.get(k) for k in want}), (0, want),
         "snmpd: every block's values over v1 equal the data")

    # v3 (the BM100's other version) with answers capped at 1400 bytes:
    # snmpd refuses the bulk (genErr), ohm asks for fewer rows, the values
    # the same
    v3 = (f"snmp://bmuser@127.0.0.1:{port}?version=3&auth=SHA&priv=AES"
          "&auth_pass=authpass-bm&priv_pass=privpass-bm")
    r = ohm("get", "-v", *D, v3 + "&msg_max=1400")
    got = parse(r.stdout) if r.returncode == 0 else {}
    T.ok(r.returncode == 0 and {k: got.get(k) for k in want} == want,
         "v3 GETBULK split on tooBig: every block's values equal the data",
         r.stderr[-300:])
    T.ok("errstat 5" in r.stderr and "GETNEXT" not in r.stderr,
         "the agent refused the first bulk and ohm kept to GETBULK",
         r.stderr[-300:])

    r = ohm("set", *D, RW, "battery.block.resistance.high.warning=16.5",
            "battery.block.resistance.health.warning=125",
            "device.location=row 2, rack 4")
    got = parse(ohm("get", *D, RO).stdout)
    T.eq((r.returncode, r.stderr,
          got.get("battery.block.resistance.high.warning"),
          got.get("battery.block.resistance.health.warning"),
          got.get("device.location")),
         (0, "", "16.5", "125", "row 2, rack 4"),
         "thresholds and the location written and read back")
    T.eq((snmpget(port, f"{S.BMG}.3.12.0"), snmpget(port, f"{S.BMG}.3.14.0"),
          snmpget(port, f"{S.BMG}.1.9.0")), ("1650", "125", "row 2, rack 4"),
         "snmpget sees the raw values ohm wrote (0.01 mOhm, %, text)")

    r = ohm("set", *D, RW, "battery.capacity=50")
    T.ok(r.returncode == 1 and r.stdout == "" and
         r.stderr.count("\n") == 1 and "refused" in r.stderr,
         "a SET the agent refuses (not writable): one-line error, exit 1",
         r.stderr)
    T.eq(parse(ohm("get", *D, RO, "battery.capacity").stdout),
         {"battery.capacity": "100"}, "the refused value is unchanged")
    r = ohm("set", *D, RW, "battery.block.resistance.health.critical=105")
    T.ok(r.returncode == 1 and r.stderr.count("\n") == 1 and
         "refused" in r.stderr,
         "a value the unit finds wrong: one-line error, exit 1", r.stderr)
    T.eq(snmpget(port, f"{S.BMG}.3.13.0"), "130",
         "the refused threshold is unchanged")
    # several at once: one SET PDU (all or none by RFC 3416; snmpd's
    # pass_persist applies each varbind on its own, so only the refused
    # one is known unchanged here)
    r = ohm("set", "-v", *D, RW, "battery.block.resistance.high.warning=17",
            "battery.block.resistance.health.critical=105",
            "device.location=elsewhere")
    err = [x for x in r.stderr.splitlines() if "trace" not in x]
    T.ok(r.returncode == 1 and len(err) == 1 and
         "battery.block.resistance.health.critical: " in err[0] and
         "refused as one SET" in err[0] and
         r.stderr.count("> SET ") == 1,
         "three values, the unit refuses one: one SET PDU, a one-line error "
         "naming the refused one", r.stderr[-600:])
    T.eq(snmpget(port, f"{S.BMG}.3.13.0"), "130",
         "the refused value is unchanged")
    r = ohm("set", *D, RO, "battery.block.resistance.high.warning=17")
    T.ok(r.returncode == 1 and r.stderr.count("\n") == 1,
         "a SET with the read-only community: one-line error", r.stderr)
    shutil.rmtree(tmp, ignore_errors=True)


run(main)
