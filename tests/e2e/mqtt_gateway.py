"""`ohm serve --mqtt` against Debian's mosquitto broker, read with
mosquitto_sub: retained values, JSON state, availability and the last
will, Home Assistant device discovery checked against Home Assistant's
sensor rules (device_class -> units, state_class), /set validated by the
map, re-announce on homeassistant/status, a broker restart survived; a
3-pack battery bank's pack and cell values and their classes."""
import json, os, shutil, signal, subprocess, sys, tempfile, time
sys.path.insert(0, os.path.join(os.environ["OHM_TOP"], "tests"))
from lib import T, free_port, start, wait_port, run, OHM

# Home Assistant's sensor device classes and the units each accepts
# (developers.home-assistant.io, "Sensor entity"; None = no unit).
HA_UNITS = {
    "voltage": {"V", "mV", "kV"}, "current": {"A", "mA"},
    "power": {"W", "kW"}, "apparent_power": {"VA"},
    "reactive_power": {"var"}, "frequency": {"Hz", "kHz"},
    "energy": {"Wh", "kWh", "MWh"}, "temperature": {"°C", "°F", "K"},
    "battery": {"%"}, "humidity": {"%"}, "duration": {"s", "min", "h", "d"},
    "power_factor": {"%", None}, "enum": {None},
}
MEASURED = {"voltage", "current", "power", "apparent_power", "reactive_power",
            "frequency", "temperature", "battery", "humidity"}
BINARY = {"problem", "smoke", "moisture", "door"}


def retained(port, seconds=1):
    r = subprocess.run(["mosquitto_sub", "-p", str(port), "-t", "#", "-v",
                        "-W", str(seconds)], capture_output=True, text=True,
                       timeout=30)
    out = {}
    for line in r.stdout.splitlines():
        t, _, p = line.partition(" ")
        out[t] = p
    return out


def wait_for(port, topic, want, seconds=10):
    end, got = time.time() + seconds, None
    while time.time() < end:
        got = retained(port).get(topic)
        if got == want:
            return True
        time.sleep(0.2)
    return got


def broker(port):
    return start("mosquitto", "-p", str(port), stdout=subprocess.DEVNULL,
                 stderr=subprocess.DEVNULL)


def check_component(name, c, topics):
    bad = []
    p, cls, unit = c.get("p"), c.get("device_class"), c.get(
        "unit_of_measurement")
    if p != "button" and c.get("state_topic") not in topics:
        bad.append("state_topic not published")
    if p == "binary_sensor":
        if cls not in BINARY:
            bad.append(f"binary class {cls}")
        return bad
    if p == "button":
        return bad
    if cls is not None and cls not in HA_UNITS:
        bad.append(f"unknown class {cls}")
    elif cls is not None and unit not in HA_UNITS[cls]:
        bad.append(f"{cls} with unit {unit}")
    sc = c.get("state_class")
    if cls == "energy" and sc not in ("total", "total_increasing"):
        bad.append(f"energy with state_class {sc}")
    if cls in MEASURED and p == "sensor" and sc != "measurement":
        bad.append(f"{cls} with state_class {sc}")
    if cls == "enum" and (sc or unit or not c.get("options")):
        bad.append("enum with a unit, state_class or no options")
    if p == "number" and not c.get("command_topic", "").endswith("/set"):
        bad.append("number without a /set topic")
    return bad


def discovery(msgs, dev, expect):
    cfg = msgs.get(f"homeassistant/device/ohm_{dev}/config")
    if not T.ok(cfg, f"{dev}: one discovery config for the device"):
        return
    d = json.loads(cfg)
    cmps = d.get("cmps", {})
    bad = {k: v for k, v in ((k, check_component(k, c, msgs))
                             for k, c in cmps.items()) if v}
    T.ok(len(cmps) > 10 and not bad,
         f"{dev}: every component follows Home Assistant's rules", bad)
    for obj, want in expect.items():
        c = cmps.get(obj, {})
        T.eq({k: c.get(k) for k in want}, want, f"{dev}: {obj} announced as"
             f" {want}")


def main():
    if not shutil.which("mosquitto") or not shutil.which("mosquitto_sub"):
        T.skip("mqtt", "mosquitto not installed")
        return
    work = tempfile.mkdtemp()
    inv = os.path.join(work, "inv.lua")
    with open(inv, "w") as f:
        f.write('devices = { ups1 = { uri = "sim:ups-mib" },\n'
                '  pdu1 = { uri = "sim:bps2000v2" } }\n'
                'mqtt = { commands = { pdu1 = { "reset.energy.L1" } } }\n')
    port = free_port()
    mosq = broker(port)
    T.ok(wait_port(port), "mosquitto starts")
    log = open(os.path.join(work, "serve.log"), "w")
    ohm = start(OHM, "--config", inv, "serve", "--mqtt",
                f"mqtt://127.0.0.1:{port}?prefix=ohm", "--interval", "1",
                stderr=log)
    T.ok(wait_for(port, "ohm/pdu1/availability", "online") is True,
         "pdu1 online")
    wait_for(port, "ohm/ups1/availability", "online")
    m = retained(port)
    T.eq((m.get("ohm/status"), m.get("ohm/ups1/availability")),
         ("online", "online"), "status and availability online (retained)")
    T.ok(abs(float(m.get("ohm/pdu1/input.L1-N.voltage", 0)) - 230) < 15,
         "pdu1: a voltage value, retained", m.get("ohm/pdu1/input.L1-N.voltage"))
    T.eq(m.get("ohm/ups1/ups.status"), "OL", "ups1: ups.status value")
    st = json.loads(m.get("ohm/pdu1/state", "{}"))
    T.ok(st.get("device.mfr") == "BKT ELEKTRONIK" and
         isinstance(st.get("input.L1.energy"), float),
         "pdu1: JSON state, numbers as numbers", st)
    discovery(m, "pdu1", {
        "input_L1_energy": {"p": "sensor", "device_class": "energy",
                            "unit_of_measurement": "kWh",
                            "state_class": "total_increasing"},
        "input_L1_N_voltage": {"device_class": "voltage",
                               "state_class": "measurement"},
        "input_L1_current_status": {"p": "sensor", "device_class": "enum"},
        "ambient_smoke": {"p": "binary_sensor", "device_class": "smoke"},
        "input_L1_current_high_critical": {
            "p": "number", "command_topic":
            "ohm/pdu1/input.L1.current.high.critical/set"}})
    discovery(m, "ups1", {
        "battery_charge": {"device_class": "battery",
                           "unit_of_measurement": "%",
                           "state_class": "measurement"},
        "ups_alarms_count": {"p": "binary_sensor",
                             "device_class": "problem"}})
    # writes through the map
    var = "ohm/pdu1/input.L1.current.high.critical"
    subprocess.run(["mosquitto_pub", "-p", str(port), "-t", var + "/set",
                    "-m", "12"], check=True)
    T.ok(wait_for(port, var, "12") is True, "/set 12 changes the threshold")
    subprocess.run(["mosquitto_pub", "-p", str(port), "-t", var + "/set",
                    "-m", "9999"], check=True)
    time.sleep(2.5)
    T.eq(retained(port).get(var), "12", "/set 9999 (out of range) is refused")
    log.flush()
    T.ok("refused" in open(log.name).read(), "the refused value is logged")
    # commands: buttons only where the inventory allows a dangerous one
    cmps = json.loads(m.get("homeassistant/device/ohm_pdu1/config",
                            "{}")).get("cmps", {})
    T.eq(sorted(k for k in cmps if k.startswith("cmd_")),
         ["cmd_reset_energy_L1"], "pdu1: a button only for the allowed command")
    for c in ("reset.energy.L2", "reset.energy.L1"):
        subprocess.run(["mosquitto_pub", "-p", str(port), "-t",
                        "ohm/pdu1/cmd", "-m", c], check=True)
    time.sleep(2.5)
    log.flush()
    text = open(log.name).read()
    T.ok("reset.energy.L2' refused (dangerous)" in text and
         "reset.energy.L1 done" in text,
         "cmd: the allowed command runs, a dangerous one is refused", text)
    T.ok(float(retained(port).get("ohm/pdu1/input.L1.energy", 1e9)) < 100,
         "cmd: reset.energy.L1 cleared the counter")
    T.ok(float(retained(port).get("ohm/pdu1/input.L2.energy", 0)) > 100,
         "cmd: L2 untouched")
    # Home Assistant restarts: its configs are announced again
    subprocess.run(["mosquitto_pub", "-p", str(port), "-r", "-n", "-t",
                    "homeassistant/device/ohm_ups1/config"], check=True)
    subprocess.run(["mosquitto_pub", "-p", str(port), "-t",
                    "homeassistant/status", "-m", "online"], check=True)
    time.sleep(1.5)
    T.ok("homeassistant/device/ohm_ups1/config" in retained(port),
         "discovery re-announced when homeassistant/status says online")
    # SIGHUP: a device gone from the inventory goes offline, its config
    # is removed; a new one is published
    with open(inv, "w") as f:
        f.write('devices = { pdu1 = { uri = "sim:bps2000v2" },\n'
                '  ups2 = { uri = "sim:ups-mib" } }\n')
    ohm.send_signal(signal.SIGHUP)
    T.ok(wait_for(port, "ohm/ups2/availability", "online", 15) is True,
         "SIGHUP: a new device is published")
    m = retained(port)
    T.ok(m.get("ohm/ups1/availability") == "offline" and
         "homeassistant/device/ohm_ups1/config" not in m,
         "SIGHUP: a device gone is offline, its discovery config removed",
         {k: v for k, v in m.items() if "ups1" in k and "/" in k[4:9]})
    # the broker restarts (its retained messages gone): all republished
    mosq.terminate()
    mosq.wait()
    time.sleep(1)
    mosq = broker(port)
    wait_port(port)
    T.ok(wait_for(port, "ohm/pdu1/availability", "online", 40) is True,
         "after a broker restart ohm reconnects and republishes")
    T.ok(wait_for(port, "ohm/status", "online", 5) is True,
         "after a broker restart: status online again")
    # killed: the broker publishes the last will
    ohm.send_signal(signal.SIGKILL)
    ohm.wait()
    T.ok(wait_for(port, "ohm/status", "offline", 10) is True,
         "ohm killed: the last will says offline")
    # stopped cleanly: every device offline
    ohm2 = start(OHM, "--config", inv, "serve", "--mqtt",
                 f"mqtt://127.0.0.1:{port}", "--interval", "1", "-q",
                 stderr=subprocess.DEVNULL)
    wait_for(port, "ohm/status", "online")
    ohm2.terminate()
    T.eq(ohm2.wait(20), 0, "serve stops cleanly on SIGTERM")
    m = retained(port)
    T.eq((m.get("ohm/status"), m.get("ohm/pdu1/availability")),
         ("offline", "offline"), "SIGTERM: status and devices offline")


def auth():
    """A broker that wants a password: ohm takes it from the inventory and
    never logs it."""
    if not shutil.which("mosquitto_passwd"):
        return T.skip("mqtt auth", "mosquitto_passwd not installed")
    work = tempfile.mkdtemp()
    pwf, conf = os.path.join(work, "passwd"), os.path.join(work, "m.conf")
    subprocess.run(["mosquitto_passwd", "-c", "-b", pwf, "ohmuser",
                    "s3cretpw1"], check=True, capture_output=True)
    os.chmod(pwf, 0o644)
    port = free_port()
    with open(conf, "w") as f:
        # root keeps root: the test directory is private
        f.write(f"user root\nlistener {port} 127.0.0.1\n"
                "allow_anonymous false\n"
                f"password_file {pwf}\n")
    start("mosquitto", "-c", conf, stdout=subprocess.DEVNULL,
          stderr=subprocess.DEVNULL)
    T.ok(wait_port(port), "mosquitto with a password file starts")
    inv = os.path.join(work, "inv.lua")
    with open(inv, "w") as f:
        f.write('devices = { ups1 = { uri = "sim:ups-mib" } }\n'
                'mqtt = { password = "s3cretpw1" }\n')
    log = os.path.join(work, "serve.log")
    start(OHM, "--config", inv, "serve", "--mqtt",
          f"mqtt://ohmuser@127.0.0.1:{port}", "--interval", "1",
          stderr=open(log, "w"))
    sub = ["mosquitto_sub", "-p", str(port), "-u", "ohmuser", "-P",
           "s3cretpw1", "-t", "ohm/ups1/ups.status", "-C", "1", "-W", "10"]
    r = subprocess.run(sub, capture_output=True, text=True, timeout=30)
    T.eq(r.stdout.strip(), "OL", "the inventory's MQTT password logs in")
    time.sleep(0.5)
    T.ok("s3cretpw1" not in open(log).read(), "the password is never logged")
    with open(inv, "w") as f:
        f.write('devices = { ups1 = { uri = "sim:ups-mib" } }\n')
    log2 = os.path.join(work, "serve2.log")
    start(OHM, "--config", inv, "serve", "--mqtt",
          f"mqtt://ohmuser@127.0.0.1:{port}", "--interval", "1",
          stderr=open(log2, "w"))
    time.sleep(3)
    T.ok("refused" in open(log2).read(),
         "without the password the broker's refusal is logged",
         open(log2).read())


def bank():
    """A battery bank (sim:pace, 3 packs): every pack's and cell's values
    published, and one discovery config whose pack and cell components
    carry Home Assistant's classes and units."""
    work = tempfile.mkdtemp()
    inv = os.path.join(work, "inv.lua")
    with open(inv, "w") as f:
        f.write('devices = { bank = { uri = "sim:pace?packs=3" } }\n')
    port = free_port()
    broker(port)
    T.ok(wait_port(port), "mosquitto starts (bank)")
    start(OHM, "--config", inv, "serve", "--mqtt",
          f"mqtt://127.0.0.1:{port}?prefix=ohm", "--interval", "1",
          stderr=open(os.path.join(work, "serve.log"), "w"))
    T.ok(wait_for(port, "ohm/bank/availability", "online") is True,
         "bank online")
    m = retained(port)
    cells = [t for t in m if t.startswith("ohm/bank/battery.pack.") and
             t.endswith(".voltage") and ".cell." in t]
    T.eq(len(cells), 48, "bank: 3 packs x 16 cell voltages published")
    T.eq(m.get("ohm/bank/battery.packs"), "3", "bank: battery.packs 3")
    v = [float(m[t]) for t in cells]
    T.ok(all(2.5 < x < 3.65 for x in v), "bank: cell voltages in volts",
         v)
    discovery(m, "bank", {
        "battery_pack_1_cell_5_voltage": {
            "p": "sensor", "device_class": "voltage",
            "unit_of_measurement": "V", "state_class": "measurement"},
        "battery_pack_2_temperature_1": {
            "device_class": "temperature", "unit_of_measurement": "°C"},
        "battery_pack_0_current": {"device_class": "current",
                                   "unit_of_measurement": "A"},
        "battery_pack_0_charge": {"device_class": "battery",
                                  "unit_of_measurement": "%",
                                  "state_class": "measurement"},
        "battery_charge": {"device_class": "battery"},
        "battery_pack_1_cycles": {"state_class": "total_increasing"},
        "battery_pack_2_serial": {"entity_category": "diagnostic"},
        "battery_pack_0_alarms": {"p": "binary_sensor",
                                  "device_class": "problem"}})
    cfg = json.loads(m.get("homeassistant/device/ohm_bank/config", "{}"))
    T.eq(sorted(k for k in cfg.get("cmps", {}) if k.startswith("cmd_")
                and "_off" in k), [],
         "bank: no MOS-off button unless the inventory allows it")


def both():
    main()
    auth()
    bank()


run(both)
