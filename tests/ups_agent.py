"""A UPS simulated by net-snmp's snmpd for end-to-end tests: snmpd on a
loopback UDP port with a pass_persist program (tests/ups_pass.py) serving
RFC 1628 objects from a JSON state file the test rewrites (ups())."""
import json
import os
import subprocess

from lib import PY, TOP, start
import snmplib as S


def ups(state, **kw):
    """Change the simulated UPS: source 3 OL / 5 OB, battery 2 normal /
    3 low, charge %, flap (alternate OL/OB on every read)."""
    st = {"source": 3, "battery": 2, "charge": 100, "flap": False}
    if os.path.exists(state):
        st.update(json.load(open(state)))
    st.update(kw)
    with open(state + ".tmp", "w") as f:
        json.dump(st, f)
    os.rename(state + ".tmp", state)


def start_agent(tmp, port, state):
    """snmpd on 127.0.0.1:port (community public) serving the UPS."""
    ups(state)
    wrapper = os.path.join(tmp, f"pass-{port}.sh")
    with open(wrapper, "w") as f:
        f.write(f"#!/bin/sh\nexec {PY} {TOP}/tests/ups_pass.py {state} "
                '"$@"\n')
    os.chmod(wrapper, 0o755)
    conf = os.path.join(tmp, f"snmpd-{port}.conf")
    with open(conf, "w") as f:
        f.write(f"agentAddress udp:127.0.0.1:{port}\n"
                "rocommunity public 127.0.0.1\n"
                f"pass_persist .1.3.6.1.2.1.33 {wrapper}\n")
    p = start("snmpd", "-f", "-Lf", os.path.join(tmp, f"snmpd-{port}.log"),
              "-C", "-c", conf, "-M", "/nonexistent", "-m", "",
              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
              env=dict(os.environ, SNMP_PERSISTENT_DIR=tmp, MIBS=""))
    S.wait_answer(port, "public", p)
    return p
