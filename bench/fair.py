"""Fair benchmarks (issue 17): ohm against each peer in its best mode and
against the physical limit (minimal C clients in bench/c/), interleaved,
medians, CPU beside wall, peak RSS from the kernel's accounting of the
measured process. One table at the end.

Usage: python3 bench/fair.py OHM BENCH_BIN_DIR [SECTION...]
  SECTION: core loop fleet nut snmp upgrade prom (default: all)
  env: FAIR_RUNS (default 20), FAIR_FLEET (devices, default 5000),
       FAIR_AGENTS (SNMP agents, default 1000), FAIR_PROM (devices, 1000)

The devices: `ohm sim bps2000v2` gives one register image (read once with
mb_oneshot); bench/c/mb_fleet_server serves that image on as many loopback
ports as a section needs, from one epoll process, so every client (ohm, the
C limits, mbpoll, pymodbus) reads the same cheap server."""
import os, resource, shutil, socket, subprocess, sys, tempfile, time
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as H

PY = "/usr/bin/python3"
RUNS = int(os.environ.get("FAIR_RUNS", "20"))
procs = []


def free_ports(n):
    socks = []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def wait_port(port, seconds=30):
    end = time.time() + seconds
    while time.time() < end:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit("bench: nothing listens on port %d" % port)


def start(argv, **kw):
    p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, **kw)
    procs.append(p)
    return p


class Bench:
    def __init__(self, ohm, bins, tmp):
        self.ohm, self.bins, self.tmp = ohm, bins, tmp
        self.table = H.Table()
        self.image = os.path.join(tmp, "image.txt")
        (port,) = free_ports(1)
        sim = start([ohm, "sim", "bps2000v2", "--modbus-tcp",
                     "127.0.0.1:%d" % port, "-q"])
        wait_port(port)
        with open(self.image, "w") as f:
            subprocess.run([self.bin("mb_oneshot"), "127.0.0.1", str(port)],
                           stdout=f, check=True)
        sim.terminate()

    def bin(self, name):
        return os.path.join(self.bins, name)

    def farm(self, n):
        """n Modbus devices on loopback; returns their ports."""
        ports = free_ports(n)
        pf = os.path.join(self.tmp, "ports-%d.txt" % n)
        with open(pf, "w") as f:
            f.write("\n".join(map(str, ports)) + "\n")
        start([self.bin("mb_fleet_server"), pf, self.image])
        for p in (ports[0], ports[-1]):
            wait_port(p)
        return ports, pf

    def inventory(self, ports, name):
        path = os.path.join(self.tmp, name)
        with open(path, "w") as f:
            f.write("devices = {\n")
            for i, p in enumerate(ports):
                f.write('  ["pdu%05d"] = { uri = "modbus-tcp://127.0.0.1:%d",'
                        ' driver = "bps2000v2" },\n' % (i + 1, p))
            f.write("}\n")
        return path

    # --- start-up and one-shot read ---------------------------------------
    def core(self):
        t = self.table
        r = H.compare([("ohm", [self.ohm, "-e", ""]),
                       ("lua", ["lua5.4", "-e", ""])], runs=RUNS * 5)
        t.ratio("start-up CPU: ohm -e '' / lua5.4", r["ohm"].med_cpu,
                r["lua"].med_cpu, "lua5.4", 1.3)
        t.ratio("start-up wall: ohm -e '' / lua5.4", r["ohm"].med_wall,
                r["lua"].med_wall, "lua5.4", 1.3)
        (port,), _ = self.farm(1)
        uri = "modbus-tcp://127.0.0.1:%d" % port
        # mbpoll (asleep 20 ms of its run) in a comparison of its own: the
        # process after it starts on a cooled-down CPU (bench/harness.py).
        ohm_get = ("ohm", [self.ohm, "get", "-d", "bps2000v2", uri])
        r = H.compare([
            ohm_get, ("c", [self.bin("mb_oneshot"), "127.0.0.1", str(port)]),
        ], runs=RUNS * 5)
        r2 = H.compare([
            ohm_get,
            ("mbpoll", ["mbpoll", "-m", "tcp", "-p", str(port), "-a", "1",
                        "-0", "-r", "0", "-c", "99", "-1", "127.0.0.1"]),
        ], runs=RUNS)
        t.ratio("full read wall: ohm get / C one-shot", r["ohm"].med_wall,
                r["c"].med_wall, "C libmodbus", 1.2)
        t.ratio("full read CPU: ohm get / C one-shot", r["ohm"].med_cpu,
                r["c"].med_cpu, "C libmodbus", 1.2)
        t.ratio("full read wall: mbpoll as shipped / ohm get",
                r2["ohm"].med_wall, r2["mbpoll"].med_wall, "mbpoll", 1.0,
                higher_better=True)

    # --- reads on one connection -------------------------------------------
    def loop(self):
        (port,), _ = self.farm(1)
        uri = "modbus-tcp://127.0.0.1:%d" % port
        lua = ("local m = assert(ohm.connect('%s')) for i = 1, %%d do "
               "assert(m:read(0, 99)) end" % uri)
        pym = os.path.join(self.tmp, "pym_loop.py")
        with open(pym, "w") as f:
            f.write("""import sys
from pymodbus.client import ModbusTcpClient
c = ModbusTcpClient("127.0.0.1", port=%d)
c.connect()
for i in range(int(sys.argv[1])):
    r = c.read_holding_registers(0, 99, slave=1)
    assert not r.isError() and len(r.registers) == 99
""" % port)
        k1, k2 = 200, 4200
        r = H.per_op_many({
            "ohm": lambda k: [self.ohm, "-e", lua % k],
            "c": lambda k: [self.bin("mb_rtt"), "127.0.0.1", str(port),
                            str(k)],
        }, k1, k2, runs=max(9, RUNS // 2))
        o, c = r["ohm"], r["c"]
        p = H.per_op(lambda k: [PY, pym, str(k)], k1, k2, runs=5)
        t = self.table
        t.ratio("Lua loop m:read(0,99) / raw socket, per read", o[0], c[0],
                "C raw socket", 1.3, unit="us", scale=1e6)
        t.ratio("Lua loop / pymodbus one connection, per read", o[0], p[0],
                "pymodbus", 1.0, unit="us", scale=1e6)

    # --- a fleet of devices ---------------------------------------------------
    def fleet(self):
        n = int(os.environ.get("FAIR_FLEET", "5000"))
        ports, pf = self.farm(n)
        inv = self.inventory(ports, "fleet.lua")
        mb = ("xargs -P32 -I{} mbpoll -m tcp -p {} -a 1 -0 -r 0 -c 99 -1 "
              "127.0.0.1 < %s" % pf)
        runs = max(3, RUNS // 4)
        r = H.compare([
            ("csv", [self.ohm, "poll", "--config", inv, "--csv"]),
            ("table", [self.ohm, "poll", "--config", inv]),
            ("c", [self.bin("mb_fleet_poll"), pf]),
        ], runs=runs)
        x = H.compare([("xargs", mb)], runs=1, warmup=0)["xargs"]
        t = self.table
        t.ratio("%d devices wall: ohm poll --csv / C epoll" % n,
                r["csv"].med_wall, r["c"].med_wall, "C epoll", 1.3)
        t.ratio("%d devices wall: ohm poll (table) / C epoll" % n,
                r["table"].med_wall, r["c"].med_wall, "C epoll", 1.3)
        t.ratio("%d devices: xargs -P32 mbpoll / ohm poll --csv" % n,
                r["csv"].med_wall, x.med_wall, "xargs -P32 mbpoll", 8,
                higher_better=True, unit="s", scale=1)
        for k in ("csv", "table"):
            t.value("%d devices: peak RSS of ohm poll (%s)" % (n, k),
                    r[k].max_rss, "MB", "<= 12 MB", r[k].max_rss <= 12)

    # --- NUT: upsc of a full device --------------------------------------------
    def nut(self):
        (port,), _ = self.farm(1)
        nport, uport = free_ports(2)
        uri = "modbus-tcp://127.0.0.1:%d" % port
        inv = os.path.join(self.tmp, "nut.lua")
        with open(inv, "w") as f:
            f.write('devices = { pdu1 = { uri = "%s", driver = "bps2000v2" } }'
                    % uri)
        start([self.ohm, "serve", "--config", inv, "--nut",
               "127.0.0.1:%d" % nport, "-q"])
        wait_port(nport)
        self.upsd(uri, uport)
        r = H.compare([
            ("ohm", ["upsc", "pdu1@127.0.0.1:%d" % nport]),
            ("upsd", ["upsc", "pdu1@127.0.0.1:%d" % uport]),
        ], runs=RUNS)
        self.table.ratio("upsc of a full device: ohm serve --nut / upsd",
                         r["ohm"].med_wall, r["upsd"].med_wall,
                         "upsd+dummy-ups", 1.2)

    # --- SNMP: many agents at once --------------------------------------------
    def snmp(self):
        n = int(os.environ.get("FAIR_AGENTS", "1000"))
        ports, oids = snmp_agents(self.tmp, n)
        pf = os.path.join(self.tmp, "agents.txt")
        with open(pf, "w") as f:
            f.write("".join("127.0.0.1:%d\n" % p for p in ports))
        uris = ["snmp://public@127.0.0.1:%d" % p for p in ports]
        sg = ("xargs -P32 -I{} snmpget -v2c -c public -On {} %s < %s"
              % (" ".join(oids), pf))
        r = H.compare([("ohm", [self.ohm, "poll", "-d", "bps2000v2", "--csv"]
                        + uris), ("snmpget", sg)], runs=max(3, RUNS // 4))
        t = self.table
        t.ratio("%d SNMP agents: xargs -P32 snmpget / ohm poll" % n,
                r["ohm"].med_wall, r["snmpget"].med_wall,
                "xargs -P32 snmpget", 15, higher_better=True, unit="s",
                scale=1)
        t.value("%d SNMP agents: peak RSS of ohm poll" % n, r["ohm"].max_rss,
                "MB", "<= 25 MB", r["ohm"].max_rss <= 25)

    # --- upgrades: 16 TFTP targets ---------------------------------------------
    def upgrade(self):
        n, fw = 16, os.path.join(self.tmp, "fw.bin")
        with open(fw, "wb") as f:
            f.write(os.urandom(4 << 20))
        ports = free_udp_ports(n)
        for p in ports:
            d = os.path.join(self.tmp, "tftp%d" % p)
            os.makedirs(d)
            start(["in.tftpd", "-L", "-c", "-u", "root", "-s", d, "-a",
                   "127.0.0.1:%d" % p])
        time.sleep(0.5)
        tg = ["tftp://127.0.0.1:%d" % p for p in ports]
        curl = ("printf '%%s\\n' %s | xargs -P%d -I{} curl -sS "
                "--tftp-blksize 8192 -T %s tftp://127.0.0.1:{}/curl.bin"
                % (" ".join(map(str, ports)), n, fw))
        r = H.compare([
            ("ohm", [self.ohm, "upgrade", "--file", fw, "--remote-name",
                     "ohm.bin", "--yes", "-q", "--jobs", str(n)] + tg),
            ("curl", curl)], runs=max(3, RUNS // 4))
        for p in ports:
            for name in ("ohm.bin", "curl.bin"):
                got = os.path.join(self.tmp, "tftp%d" % p, name)
                if open(got, "rb").read() != open(fw, "rb").read():
                    raise SystemExit("bench: %s differs on %d" % (name, p))
        self.table.ratio("4 MiB to 16 TFTP targets: ohm upgrade / curl -P16",
                         r["ohm"].med_wall, r["curl"].med_wall,
                         "parallel curl", 1.1, unit="s", scale=1)

    # --- Prometheus: concurrent scrapes of many devices ------------------------
    def prom(self):
        import urllib.request
        n = int(os.environ.get("FAIR_PROM", "1000"))
        ports, _ = self.farm(n)
        inv = self.inventory(ports, "prom.lua")
        (hp,) = free_ports(1)
        srv = start([self.ohm, "serve", "--config", inv, "--prometheus",
                     "127.0.0.1:%d" % hp, "--interval", "2", "-q"])
        wait_port(hp)
        url = "http://127.0.0.1:%d/metrics" % hp
        end = time.time() + 60
        last = b'ohm_device_info{device="pdu%05d"' % n  # every device read
        while last not in urllib.request.urlopen(url).read():
            if time.time() > end:
                raise SystemExit("bench: no metrics after 60 s")
            time.sleep(0.5)
        for gz in (True, False):
            self.prom_scrapes(n, hp, gz)
        self.prom_scrapes(n, hp, False, "/")
        with open("/proc/%d/status" % srv.pid) as f:
            hwm = [int(l.split()[1]) for l in f if l.startswith("VmHWM")][0]
        self.table.value("Prometheus, %d devices: peak RSS of ohm serve" % n,
                         hwm / 1024, "MB", "<= 40 MB", hwm / 1024 <= 40)

    def prom_scrapes(self, n, hp, gz, path="/metrics"):
        """16 scrapers at once (bench/c/http_scrape.c: C threads, as
        Prometheus' Go client would be; Python threads measured their own
        GIL), each from its own loopback address (as 16 Prometheus
        servers would be; ohm caps connections per address), asking gzip
        as Prometheus does (gz) or plain text; connect to last byte."""
        r = subprocess.run([self.bin("http_scrape"), str(hp), path, "16",
                            str(max(5, RUNS)), "1" if gz else "0"],
                           capture_output=True, text=True, check=True)
        p50, failed, size = r.stdout.split()
        p50, failed = float(p50), int(failed)
        t, how = self.table, "gzip" if gz else "plain"
        if path != "/metrics":
            how = "GET %s, the floor" % path
        else:
            how += ", %d KB" % (int(size) // 1024)
        t.value("Prometheus, %d devices, 16 scrapers (%s): failed scrapes"
                % (n, how), failed, "", "0", not failed)
        t.value("Prometheus, %d devices, 16 scrapers (%s): p50 scrape"
                % (n, how), p50, "ms",
                "<= 5 ms" if gz and path == "/metrics" else "-",
                p50 <= 5 if gz and path == "/metrics" else True)

    def upsd(self, uri, port):
        """Real upsd + dummy-ups serving what `ohm get` reads (same vars)."""
        conf = os.path.join(self.tmp, "nut")
        state = os.path.join(conf, "state")
        os.makedirs(state)
        os.chmod(state, 0o777)
        get = subprocess.run([self.ohm, "get", "-d", "bps2000v2", uri],
                             capture_output=True, text=True, check=True)
        with open(os.path.join(conf, "pdu1.dev"), "w") as f:
            f.write(get.stdout)
        files = {
            "ups.conf": "[pdu1]\n driver = dummy-ups\n port = %s/pdu1.dev\n"
                        " desc = \"bench\"\n" % conf,
            "upsd.conf": "LISTEN 127.0.0.1 %d\n" % port,
            "upsd.users": "",
            "nut.conf": "MODE=standalone\n",
        }
        for name, text in files.items():
            with open(os.path.join(conf, name), "w") as f:
                f.write(text)
        env = dict(os.environ, NUT_CONFPATH=conf, NUT_STATEPATH=state)
        start(["/lib/nut/dummy-ups", "-a", "pdu1", "-u", "root", "-D"],
              env=env, stderr=subprocess.DEVNULL)
        time.sleep(1)
        start(["/lib/nut/upsd", "-u", "root", "-D"], env=env,
              stderr=subprocess.DEVNULL)
        wait_port(port)
        end = time.time() + 20
        while time.time() < end:
            r = subprocess.run(["upsc", "pdu1@127.0.0.1:%d" % port],
                               capture_output=True, text=True)
            if r.returncode == 0 and "input.L1.current" in r.stdout:
                return
            time.sleep(0.2)
        raise SystemExit("bench: upsd + dummy-ups never served pdu1")


def snmp_agents(tmp, n, per=50):
    """n SNMP agents: snmpd processes with `per` loopback endpoints each,
    serving a BPS2000v2 master subtree as decimal text (tests/snmplib.py).
    Returns (ports, OIDs)."""
    top = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    sys.path.insert(0, os.path.join(top, "tests"))
    import snmplib as S
    objs = [l.split("|", 2) for l in S.bps_records("text", units=[0])]
    objs = [(o, v) for o, _, v in objs if o.startswith(S.BKT + ".2.")]
    ports = free_udp_ports(n)
    for k in range(0, n, per):
        d = os.path.join(tmp, "snmpd%d" % k)
        os.makedirs(d)
        with open(os.path.join(d, "snmpd.conf"), "w") as f:
            f.write("agentAddress " + ",".join(
                "udp:127.0.0.1:%d" % p for p in ports[k:k + per]) + "\n")
            f.write("rocommunity public 127.0.0.1\n")
            for o, v in objs:
                f.write('override .%s octet_str "%s"\n' % (o, v))
        start(["snmpd", "-f", "-Lf", os.path.join(d, "log"), "-C", "-c",
               os.path.join(d, "snmpd.conf"), "-M", "/nonexistent", "-m", ""],
              env=dict(os.environ, SNMP_PERSISTENT_DIR=d, MIBS=""))
    for p in ports:
        end = time.time() + 30
        while subprocess.run(["snmpget", "-v2c", "-c", "public", "-t", "0.2",
                              "-r", "0", "127.0.0.1:%d" % p,
                              ".1.3.6.1.2.1.1.5.0"],
                             capture_output=True).returncode:
            if time.time() > end:
                raise SystemExit("bench: agent %d did not start" % p)
    return ports, ["." + o for o, _ in objs]


def free_udp_ports(n):
    socks = []
    for _ in range(n):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", 0))
        socks.append(s)
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def main():
    ohm, bins = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    sections = sys.argv[3:] or ["core", "loop", "fleet", "nut", "snmp",
                                "upgrade", "prom"]
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    tmp = tempfile.mkdtemp()
    try:
        b = Bench(ohm, bins, tmp)
        for s in sections:
            print("== %s" % s, flush=True)
            getattr(b, s)()
        print()
        met = b.table.show()
    finally:
        for p in procs:
            p.kill()
            p.wait()
        shutil.rmtree(tmp, ignore_errors=True)
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
