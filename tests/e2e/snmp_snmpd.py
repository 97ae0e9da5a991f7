"""ohm over SNMP against net-snmp's snmpd: v3 noAuthNoPriv refused,
authNoPriv and authPriv with MD5/SHA/SHA-256 and DES/AES, passphrases from
the URI, its query, the environment and the inventory (never printed),
v3 authentication failures, and SET (Lua s:set) with its refusals."""
import os, shutil, subprocess, sys, tempfile, time
sys.path.insert(0, os.path.join(os.environ["OHM_TOP"], "tests"))
from lib import T, ohm, free_port
import snmplib as S

if not shutil.which("snmpd") or not shutil.which("snmpwalk"):
    T.skip("snmp_snmpd", "snmpd or snmpwalk not installed")
    T.done()

work = tempfile.mkdtemp()
port = free_port("udp")
try:
    agent = S.start_snmpd(work, port)
except Exception as ex:
    T.ok(False, "snmpd starts", str(ex))
    T.done()

H = f"127.0.0.1:{port}"
SYS = "1.3.6.1.2.1.1"
SECRETS = [u[2] for u in S.SNMPD_USERS] + [u[4] for u in S.SNMPD_USERS
                                           if u[4]]


def snmpwalk(*args):
    r = subprocess.run(["snmpwalk", "-On", *args, H, SYS],
                       capture_output=True, text=True)
    return stable(r.stdout)


def stable(out):
    """Drop sysUpTime (it changes between two walks)."""
    return "".join(l + "\n" for l in out.splitlines()
                   if not l.startswith(f".{SYS}.3.0 ")
                   and "No more variables" not in l)


def no_secret(r, name):
    text = r.stdout + r.stderr
    leaked = [s for s in SECRETS + ["wrongpass-1", "wrongpriv-1"]
              if s in text]
    T.ok(not leaked, f"{name}: no passphrase in the output", leaked)


try:
    ref = snmpwalk("-v2c", "-c", "public")
    r = ohm("walk", f"snmp://public@{H}", SYS)
    T.eq((r.returncode, stable(r.stdout)), (0, ref),
         "v2c walk = snmpwalk -On")
    T.ok(ref.count("\n") >= 5, "the reference walk is not empty", ref)

    cases = [
        ("authPriv SHA/AES, pass in URI and priv_pass=",
         f"snmp://shaaes:authpass-sha@{H}?version=3&level=authPriv&auth=SHA"
         "&priv=AES&priv_pass=privpass-aes", {}),
        ("authPriv MD5/DES, auth_pass= and priv_pass=",
         f"snmp://md5des@{H}?version=3&auth=MD5&priv=DES"
         "&auth_pass=authpass-md5&priv_pass=privpass-des", {}),
        ("authPriv SHA-256/AES, passphrases from the environment",
         f"snmp://sha256u@{H}?version=3&level=authPriv&auth=SHA-256&priv=AES",
         {"OHM_SNMP_AUTHPASS": "authpass-256",
          "OHM_SNMP_PRIVPASS": "privpass-256"}),
        ("authNoPriv SHA",
         f"snmp://authonly:authpass-only@{H}?version=3&auth=SHA", {}),
    ]
    for name, uri, env in cases:
        r = ohm("walk", uri, SYS, env=env)
        T.eq((r.returncode, stable(r.stdout)), (0, ref), f"v3 {name}")
        no_secret(r, f"v3 {name}")

    # inventory: secrets as fields, the name in messages
    cfg = os.path.join(work, "config.lua")
    with open(cfg, "w") as f:
        f.write(f"""devices = {{
  ups9 = {{ uri = "snmp://shaaes@{H}?version=3&auth=SHA&priv=AES",
           auth_pass = "authpass-sha", priv_pass = "privpass-aes" }},
  bad9 = {{ uri = "snmp://shaaes@{H}?version=3&auth=SHA&priv=AES",
           auth_pass = "wrongpass-1", priv_pass = "privpass-aes" }},
}}
""")
    r = ohm("walk", "--config", cfg, "ups9", SYS)
    T.eq((r.returncode, stable(r.stdout)), (0, ref),
         "v3 from the inventory (auth_pass/priv_pass fields)")
    r = ohm("walk", "--config", cfg, "--timeout", "0.5", "bad9", SYS)
    T.ok(r.returncode == 1 and r.stderr.startswith("ohm: bad9: ") and
         "authentication failed" in r.stderr,
         "inventory device, wrong passphrase: named, clear error", r.stderr)
    no_secret(r, "inventory wrong passphrase")

    # v3 failures: each one line, exit 1, secrets never shown
    fails = [
        ("wrong auth passphrase", "authentication failed",
         f"snmp://authonly:wrongpass-1@{H}?version=3&auth=SHA"),
        ("wrong auth protocol", "authentication failed",
         f"snmp://authonly:authpass-only@{H}?version=3&auth=MD5"),
        ("unknown user", "user unknown",
         f"snmp://nobody9:authpass-only@{H}?version=3&auth=SHA"),
        ("level the user lacks", "security level",
         f"snmp://authonly:authpass-only@{H}?version=3&auth=SHA"
         "&level=authPriv&priv_pass=privpass-xx"),
        ("wrong privacy passphrase", "privacy passphrase",
         f"snmp://shaaes:authpass-sha@{H}?version=3&auth=SHA&priv=AES"
         "&priv_pass=wrongpriv-1"),
    ]
    for name, want, uri in fails:
        t0 = time.time()
        r = ohm("walk", "--timeout", "0.5", "--retries", "1", uri, SYS)
        T.ok(r.returncode == 1 and want in r.stderr and r.stdout == "" and
             len(r.stderr.strip().splitlines()) == 1 and
             time.time() - t0 < 5, f"v3 {name}: one-line error", r.stderr)
        no_secret(r, f"v3 {name}")
    r = ohm("walk", f"snmp://authonly:short@{H}?version=3&auth=SHA", SYS)
    T.ok(r.returncode == 2 and "too short" in r.stderr,
         "v3 passphrase under 8 characters: usage error", r.stderr)
    r = ohm("walk", f"snmp://authonly@{H}?version=3&auth=SHA&priv=RC4", SYS)
    T.ok(r.returncode == 2 and "bad SNMPv3 priv" in r.stderr,
         "v3 unknown privacy protocol: usage error", r.stderr)

    # tooBig: a v3 request that allows the agent only 600 bytes per answer
    # is split until each part fits; counted by the agent's
    # snmpInGetRequests (each count reads it once, so 1 more per count)
    def gets():
        r = subprocess.run(["snmpget", "-v2c", "-c", "public", "-Oqv", H,
                            "1.3.6.1.2.1.11.15.0"], capture_output=True,
                           text=True)
        return int(r.stdout.strip() or -1)
    script = os.path.join(work, "big.lua")
    oids = ", ".join(f'"{SYS}.{i % 6 + 1}.0"' for i in range(30))
    with open(script, "w") as f:
        f.write(f"""
local s = assert(ohm.connect(arg[1]))
local r = table.pack(assert(s:get({oids})))
print(r.n, r[1], r[6], r[30])
""")
    v3 = f"snmp://authonly:authpass-only@{H}?version=3&auth=SHA"
    c0 = gets()
    whole = ohm(script, v3)
    c1 = gets()
    split = ohm(script, v3 + "&msg_max=600")
    c2 = gets()
    T.ok(whole.returncode == 0 and whole.stdout.startswith("30\t") and
         c1 - c0 == 2, "30 objects in one GET PDU",
         f"{whole.stdout}{whole.stderr} PDUs {c1 - c0 - 1}")
    T.ok(split.returncode == 0 and split.stdout == whole.stdout and
         c2 - c1 > 2, "tooBig: split and answered in full",
         f"{split.stdout}{split.stderr} PDUs {c2 - c1 - 1}")

    # SET through Lua, checked with snmpget
    script = os.path.join(work, "set.lua")
    with open(script, "w") as f:
        f.write(f"""
local c = "{SYS}.4.0"
local w = assert(ohm.connect("snmp://private@{H}"))
print(w:set(c, "s", "ohm-test-1"))
print(w:get(c))
local v3 = assert(ohm.connect("snmp://shaaes:authpass-sha@{H}?version=3"
  .. "&auth=SHA&priv=AES&priv_pass=privpass-aes"))
print(v3:set(c, "string", "ohm-test-2"))
local ro = assert(ohm.connect("snmp://public@{H}", {{timeout = 1}}))
print(ro:set(c, "s", "nope"))
print(w:set("{SYS}.1.0", "s", "nope"))
print(w:set(c, "i", 5))
print(pcall(w.set, w, c, "float", 1))
""")
    r = ohm(script)
    lines = r.stdout.splitlines()
    got = subprocess.run(["snmpget", "-v2c", "-c", "public", "-Oqv", H,
                          f"{SYS}.4.0"], capture_output=True,
                         text=True).stdout.strip().strip('"')
    T.eq(lines[:3], ["true", "ohm-test-1", "true"],
         "Lua s:set over v2c (rwcommunity) and v3 (rwuser)", )
    T.eq(got, "ohm-test-2", "snmpget sees the value set over v3")
    T.ok(len(lines) >= 6 and lines[3].startswith("nil\t") and
         lines[4].startswith("nil\t") and "notWritable" in lines[4] and
         lines[5].startswith("nil\t") and "wrongType" in lines[5],
         "refused SETs are nil, message (read-only community, "
         "notWritable, wrongType)", r.stdout + r.stderr)
    T.ok(len(lines) >= 7 and lines[6].startswith("false"),
         "a bad type letter raises", r.stdout + r.stderr)
finally:
    S.stop(agent)
    shutil.rmtree(work, ignore_errors=True)
T.done()
