"""`ohm poll` over a mixed inventory: python3-pymodbus servers, an `ohm sim`
simulator, an snmpsim agent (RFC 1628 UPS-MIB) and dead devices (TCP
servers that accept and never answer). Values equal `ohm get`'s; the dead
devices fail with an error in the JSON and on stderr (exit 3) and time out
in parallel, without holding the others up; --csv has one header; --shard
splits the inventory into stable disjoint parts; usage errors exit 2."""
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.environ["OHM_TOP"], "tests"))
from lib import (  # noqa: E402
    T, OHM, ohm, free_port, wait_port, PEER, PY, procs, start, run)

TMP = os.environ.get("TMPDIR", "/tmp")




def start_snmpsim():
    """One snmpsim agent: community "ups" an RFC 1628 UPS on line power,
    "public" a BPS2000v2 (manual section 10.1). None if it cannot run."""
    try:
        import snmplib
        port = free_port("udp")
        procs.append(snmplib.start_snmpsim(
            os.path.join(TMP, "snmp"),
            {"ups": snmplib.ups_records(source=3, battery=2, charge=87),
             "public": snmplib.bps_records()}, [port]))
        return port
    except Exception as ex:  # no snmpsim here: the rest still runs
        print(f"# snmpsim: {ex}")
        return None


def main():
    pa, pb, psim = free_port(), free_port(), free_port()
    dead = [free_port() for _ in range(3)]
    start(PY, PEER, "tcp", str(pa), "--set", "0=2301,2302,2303",
          stderr=subprocess.DEVNULL)
    start(PY, PEER, "tcp", str(pb), "--set", "3=1234", "--set",
          "21=0,27,119,184", stderr=subprocess.DEVNULL)
    start(OHM, "sim", "bps2000v2", "--modbus-tcp", f"127.0.0.1:{psim}",
          stderr=subprocess.DEVNULL)
    for d in dead:
        start(PY, PEER, "raw", str(d), "silent")
    for p in [pa, pb, psim] + dead:
        wait_port(p)
    snmp = start_snmpsim()
    devs = {"pdu-a": f"modbus-tcp://127.0.0.1:{pa}",
            "pdu-b": f"modbus-tcp://127.0.0.1:{pb}",
            "sim": f"modbus-tcp://127.0.0.1:{psim}"}
    for i, d in enumerate(dead):
        devs[f"dead{i}"] = f"modbus-tcp://127.0.0.1:{d}"
    cfg = os.path.join(TMP, "config.lua")
    with open(cfg, "w") as f:
        f.write("devices = {\n")
        for n, u in devs.items():
            f.write(f'  ["{n}"] = {{ uri = "{u}", driver = "bps2000v2" }},\n')
        if snmp:
            f.write(f'  ups = {{ uri = "snmp://ups@127.0.0.1:{snmp}",'
                    ' driver = "ups-mib" },\n'
                    f'  pdu_snmp = {{ uri = "snmp://public@127.0.0.1:{snmp}",'
                    ' driver = "bps2000v2" },\n')
        f.write("}\n")
    if not snmp:
        T.skip("snmp agent in the mix", "snmpsimd did not start")

    t0 = time.time()
    r = ohm("poll", "--config", cfg, "--json", "--timeout", "1.5",
            "--retries", "0", timeout=60)
    elapsed = time.time() - t0
    T.eq(r.returncode, 3, "some devices failed: exit 3")
    try:
        out = json.loads(r.stdout)
    except ValueError as ex:
        out = {}
        T.ok(False, "--json is one JSON object", f"{ex}\n{r.stdout[:300]}")
    T.eq(list(out), sorted(out), "devices come out in inventory order")
    T.eq(out.get("pdu-a", {}).get("input.L1-N.voltage"), 230.1,
         "pymodbus device A read")
    T.eq(out.get("pdu-b", {}).get("input.L1.energy"), 1800.12,
         "pymodbus device B read (energy8)")
    T.ok(isinstance(out.get("sim", {}).get("input.L1-N.voltage"),
                    (int, float)),
         "ohm sim device read", out.get("sim"))
    if snmp:
        T.eq(out.get("ups", {}).get("battery.charge"), 87,
             "snmp agent read in the same poll")
        T.eq(out.get("ups", {}).get("ups.status"), "OL",
             "snmp agent's derived ups.status")
        T.eq(out.get("pdu_snmp", {}).get("input.L1-N.voltage"), 230.1,
             "a BPS2000v2 over SNMP in the same batch")
    for i in range(3):
        T.ok("error" in out.get(f"dead{i}", {}) and
             "timed out" in out[f"dead{i}"]["error"],
             f"dead{i} reports its timeout", out.get(f"dead{i}"))
    T.ok(r.stderr.count("ohm: dead") == 3 and
         "ohm: dead0: " in r.stderr, "one error line per dead device",
         r.stderr)
    # three 1.5 s timeouts one after another would take 4.5 s at least
    T.ok(elapsed < 4.0, "dead devices time out in parallel, not in turn",
         f"{elapsed:.2f} s")
    g = ohm("get", "--config", cfg, "--json", "pdu-b")
    T.eq(out.get("pdu-b"), json.loads(g.stdout or "{}"),
         "poll's values for a device equal ohm get --json's")

    r = ohm("poll", "--config", cfg, "--csv", "pdu-a", "pdu-b")
    lines = r.stdout.splitlines()
    T.eq(r.returncode, 0, "named devices only: exit 0")
    T.ok(lines and lines[0] == "device,name,value" and
         lines.count("device,name,value") == 1, "--csv: one header line")
    T.ok("pdu-a,input.L1-N.voltage,230.1" in lines and
         "pdu-b,input.L1.current,12.34" in lines, "--csv rows",
         "\n".join(lines[:5]))
    T.ok(not any(l.startswith("sim,") for l in lines),
         "only the named devices are polled")

    r = ohm("poll", "--config", cfg, "--csv", "pdu-a", "pdu-b",
            "input.L1.current", "input.*-N.voltage")
    T.eq((r.returncode, r.stdout.splitlines()),
         (0, ["device,name,value", "pdu-a,input.L1-N.voltage,230.1",
              "pdu-a,input.L1.current,0", "pdu-a,input.L2-N.voltage,230.2",
              "pdu-a,input.L3-N.voltage,230.3", "pdu-b,input.L1-N.voltage,0",
              "pdu-b,input.L1.current,12.34", "pdu-b,input.L2-N.voltage,0",
              "pdu-b,input.L3-N.voltage,0"]),
         "poll DEVICE... VAR...: only the variables named or matched")
    r = ohm("poll", "--config", cfg, "pdu-a", "input.L1.curent")
    T.ok(r.returncode == 1 and
         "no variable matches 'input.L1.curent' (did you mean input.L1.current?" in r.stderr,
         "poll: a VAR that matches nothing is an error", r.stderr)

    r = ohm("poll", "--config", cfg, "--jobs", "1", "pdu-a")
    T.ok(r.returncode == 0 and "input.L1-N.voltage" in r.stdout and
         "230.1" in r.stdout, "table output with --jobs 1", r.stdout[:300])

    def shard(k):
        r = ohm("poll", "--config", cfg, "--csv", "--timeout", "0.2",
                "--retries", "0", "--shard", f"{k}/2")
        return {l.split(",")[0] for l in r.stdout.splitlines()[1:]} | \
            {l.split(":")[1].strip() for l in r.stderr.splitlines()
             if l.startswith("ohm: ")}
    s1, s2 = shard(1), shard(2)
    T.ok(s1 and s2 and not (s1 & s2), "shards are disjoint", f"{s1} {s2}")
    T.eq(s1 | s2, set(devs) | ({"ups", "pdu_snmp"} if snmp else set()),
         "the shards cover the inventory")
    T.eq(shard(1), s1, "a shard is stable from run to run")

    for bad in (["--shard", "3/2"], ["--jobs", "0"], ["--bogus"]):
        r = ohm("poll", "--config", cfg, *bad)
        T.eq(r.returncode, 2, f"usage error {' '.join(bad)}: exit 2")
    r = ohm("poll", "--config", "/nonexistent/x.lua")
    T.ok(r.returncode != 0 and r.stderr.startswith("ohm: "),
         "no inventory: one-line error", r.stderr)


run(main)
