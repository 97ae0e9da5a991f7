"""ohm upgrade of inventory devices (issue 5): the firmware goes to the
device's upgrade_uri by its driver's method; before and after, ohm checks
the unit over its management transport and waits for it to answer."""
import json, os, sys, tempfile
sys.path.insert(0, os.path.join(os.environ["OHM_TOP"], "tests"))
from lib import T, ohm, free_port, kill_peers, start_tftpd

tmp = tempfile.mkdtemp()
try:
    d = os.path.join(tmp, "tftp")
    os.mkdir(d)
    port = start_tftpd(d)
    dead = free_port()  # no Modbus server here
    cfg = os.path.join(tmp, "config.lua")
    with open(cfg, "w") as f:
        f.write('''devices = {
  pdu1 = { uri = "sim:bps2000v2", upgrade_uri = "tftp://127.0.0.1:%d" },
  pdu2 = { uri = "modbus-tcp://127.0.0.1:%d", driver = "bps2000v2",
           upgrade_uri = "tftp://127.0.0.1:%d" },
  pdu3 = { uri = "sim:bps2000v2" },
}
''' % (port, dead, port))
    fw = os.path.join(tmp, "BPS2500-3.bin")
    data = os.urandom(64 * 1024 + 1)
    with open(fw, "wb") as f:
        f.write(data)
    r = ohm("upgrade", "--config", cfg, "--file", fw, "--yes", "--json",
            "--settle", "0", "--wait", "3", "--timeout", "1", "pdu1", "pdu2",
            timeout=60)
    T.eq(r.returncode, 3, "one unit unreachable over Modbus: exit 3")
    try:
        res = {t["target"]: t for t in json.loads(r.stdout)["targets"]}
    except ValueError as ex:
        res = {}
        T.ok(False, "--json parses", "%s\n%s" % (ex, r.stdout + r.stderr))
    T.eq(res.get("pdu1", {}).get("result"), "ok",
         "pdu1: sent to its upgrade_uri and answered again")
    with open(os.path.join(d, "BPS2500-3.bin"), "rb") as f:
        T.ok(f.read() == data, "pdu1: identical file on the TFTP server")
    t = res.get("pdu2", {})
    T.ok(t.get("result") == "failed" and "management" in t.get("message", "")
         and t.get("bytes") == 0, "pdu2: management check fails first", t)
    r = ohm("upgrade", "--config", cfg, "--file", fw, "--yes", "pdu3")
    T.ok(r.returncode == 2 and "upgrade_uri" in r.stderr,
         "a simulator without upgrade_uri has no host: usage error",
         r.stderr)
    r = ohm("upgrade", "--file", fw, "--yes", "--dry-run", "sim:bps2000v2")
    T.ok(r.returncode == 2 and "upgrade_uri" in r.stderr
         and "no driver" not in r.stderr,
         "a sim: URI names its driver; the error says what is missing",
         r.stderr)
    r = ohm("upgrade", "--config", cfg, "--file", fw, "--yes", "nosuch")
    T.ok(r.returncode == 1 and "nosuch" in r.stderr,
         "unknown name: exit 1 (it does not exist), naming it", r.stderr)
finally:
    kill_peers(tmp)
T.done()
