"""`ohm serve --nut` primary/secondary as upsd does it (RFC 9271): PRIMARY
(and MASTER) granted only to users with upsmon = "primary", FSD only from
such a client, latched (ups.status gains "FSD" in GET VAR and LIST VAR),
NUMLOGINS and LIST CLIENT true to who is logged in; a rule's shutdown{}
sets FSD too. The UPS is simulated by snmpd (tests/ups_agent.py)."""
import os
import socket
import sys
import time

sys.path.insert(0, os.path.join(os.environ["OHM_TOP"], "tests"))
from lib import T, OHM, ohm, free_port, start, run, wait_port  # noqa: E402
from ups_agent import start_agent  # noqa: E402

TMP = os.environ.get("TMPDIR", "/tmp")


class Nut:
    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), 5)
        self.f = self.s.makefile("r")

    def ask(self, line, until=None):
        self.s.sendall((line + "\n").encode())
        out = [self.f.readline().rstrip("\n")]
        while until and not out[-1].startswith(until):
            out.append(self.f.readline().rstrip("\n"))
        return out if until else out[0]

    def login(self, user, pw, ups="ups1"):
        return [self.ask(f"USERNAME {user}"), self.ask(f"PASSWORD {pw}"),
                self.ask(f"LOGIN {ups}")]

    def close(self):
        self.f.close()
        self.s.close()


def wait_for(cond, seconds=5):
    end = time.time() + seconds
    while time.time() < end and not cond():
        time.sleep(0.05)
    return cond()


def main():
    aport, nport = free_port("udp"), free_port()
    start_agent(TMP, aport, os.path.join(TMP, "ups.json"))
    cfg = os.path.join(TMP, "inv.lua")
    open(cfg, "w").write(
        f'devices = {{ ups1 = {{ uri = "snmp://public@127.0.0.1:{aport}", '
        'driver = "ups-mib" },\n'
        f'  ups2 = {{ uri = "snmp://public@127.0.0.1:{aport}", '
        'driver = "ups-mib" } }\n'
        'nut = { users = {\n'
        '  mon = { password = "pw1", upsmon = "primary" },\n'
        '  sec = { password = "pw2", upsmon = "secondary" } } }\n'
        'shutdown = { command = { "/bin/sh", "-c", '
        f'"echo $NOTIFYTYPE $UPSNAME > {TMP}/down" }} }}\n')
    rules = os.path.join(TMP, "rules.lua")
    open(rules, "w").write('on("ups2", "ONBATT", shutdown{hostsync = 1})\n')
    srv = start(OHM, "serve", "--config", cfg, "--nut", f"127.0.0.1:{nport}",
                "--interval", "0.3", "--rules", rules, "--events-log",
                os.path.join(TMP, "ev.jsonl"), "-q")
    wait_port(nport)
    anon = Nut(nport)
    T.ok(wait_for(lambda: anon.ask("GET VAR ups1 ups.status")
                  == 'VAR ups1 ups.status "OL"'), "on line at first")
    T.eq(anon.ask("GET NUMLOGINS ups1"), "NUMLOGINS ups1 0", "nobody logged in")

    prim, sec = Nut(nport), Nut(nport)
    T.eq(prim.login("mon", "pw1"), ["OK", "OK", "OK"], "primary logs in")
    T.eq(sec.login("sec", "pw2"), ["OK", "OK", "OK"], "secondary logs in")
    T.eq(anon.ask("GET NUMLOGINS ups1"), "NUMLOGINS ups1 2",
         "NUMLOGINS counts the two logins")
    T.eq(anon.ask("LIST CLIENT ups1", "END"),
         ["BEGIN LIST CLIENT ups1", "CLIENT ups1 127.0.0.1",
          "CLIENT ups1 127.0.0.1", "END LIST CLIENT ups1"],
         "LIST CLIENT lists them")
    T.eq(sec.ask("PRIMARY ups1"), "ERR ACCESS-DENIED",
         "a secondary user is not granted PRIMARY")
    T.eq(sec.ask("MASTER ups1"), "ERR ACCESS-DENIED", "nor MASTER")
    T.eq(sec.ask("FSD ups1"), "ERR ACCESS-DENIED", "nor FSD")
    T.eq(anon.ask("FSD ups1"), "ERR ACCESS-DENIED", "nor anyone else")
    T.eq(prim.ask("PRIMARY ups1"), "OK PRIMARY-GRANTED", "the primary is")
    T.eq(prim.ask("FSD ups1"), "OK FSD-SET", "and may set FSD")
    T.eq(anon.ask("GET VAR ups1 ups.status"), 'VAR ups1 ups.status "FSD OL"',
         "ups.status gains FSD (GET VAR)")
    T.ok('VAR ups1 ups.status "FSD OL"' in anon.ask("LIST VAR ups1", "END"),
         "and in LIST VAR")
    # (a 0.3 s interval can go stale for a moment on a loaded machine)
    wait_for(lambda: anon.ask("GET VAR ups2 ups.status") != "ERR DATA-STALE")
    T.eq(anon.ask("GET VAR ups2 ups.status"), 'VAR ups2 ups.status "OL"',
         "only on that UPS")
    sec.close()
    T.ok(wait_for(lambda: anon.ask("GET NUMLOGINS ups1") ==
                  "NUMLOGINS ups1 1"), "a secondary gone: NUMLOGINS 1")
    prim.close()
    time.sleep(1)
    T.eq(anon.ask("GET VAR ups1 ups.status"), 'VAR ups1 ups.status "FSD OL"',
         "FSD stays latched after the primary leaves")

    from ups_agent import ups
    ups(os.path.join(TMP, "ups.json"), source=5)
    T.ok(wait_for(lambda: anon.ask("GET VAR ups2 ups.status") ==
                  'VAR ups2 ups.status "FSD OB"', 8),
         "a rule's shutdown{} sets FSD on ups2 when it goes on battery")
    down = os.path.join(TMP, "down")
    T.ok(wait_for(lambda: os.path.exists(down) and
                  open(down).read() == "ONBATT ups2\n", 5),
         "then runs the inventory's shutdown command")
    anon.close()


run(main)
