"""Side-by-side measurement for bench/ (issue 17's rules):
- the commands of one comparison run interleaved (A B C A B C ...), after a
  warm-up, RUNS times each, and the median counts;
- CPU time (user + sys) comes from the kernel's accounting of the measured
  process itself (wait4's rusage: the process and the children it waited
  for); peak RSS from one more run under /usr/bin/time (%M): wait4's
  ru_maxrss of a child Python forked starts at Python's own RSS (/bin/true
  measured 10.8 MB that way, 61 MB under a Python holding 50 MB), while
  time's child is forked from the small time process;
- a row that needs a ratio names both sides and the target.
Used by bench/fair.py; runnable alone for a quick comparison:
  python3 bench/harness.py RUNS 'CMD A' 'CMD B' ..."""
import random, os, shlex, statistics, subprocess, sys, tempfile, time


class Result:
    def __init__(self, name):
        self.name, self.wall, self.cpu, self.rss = name, [], [], []

    @property
    def med_wall(self):
        return statistics.median(self.wall)

    @property
    def med_cpu(self):
        return statistics.median(self.cpu)

    @property
    def max_rss(self):
        return max(self.rss)


def run_once(argv, stdin=None, stdout=subprocess.DEVNULL, env=None):
    """Run argv (a list, or a string for sh -c); returns (wall s, cpu s,
    peak RSS MB, exit status). Fails loudly on a non-zero exit."""
    if isinstance(argv, str):
        argv = ["sh", "-c", argv]
    t0 = time.perf_counter()
    p = subprocess.Popen(argv, stdin=stdin or subprocess.DEVNULL,
                         stdout=stdout, stderr=subprocess.PIPE, env=env)
    err = p.stderr.read()
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    p.returncode = os.waitstatus_to_exitcode(status)
    p.stderr.close()
    if p.returncode != 0:
        raise RuntimeError("bench: %s exited %d: %s" % (
            shlex.join(argv), p.returncode, err.decode(errors="replace")[-500:]))
    return wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss / 1024.0, p.returncode


def peak_rss(argv, env=None):
    """Peak RSS (MB) of argv as /usr/bin/time reports it; None without
    /usr/bin/time."""
    if not os.path.exists("/usr/bin/time"):
        return None
    if isinstance(argv, str):
        argv = ["sh", "-c", argv]
    fd, path = tempfile.mkstemp()
    os.close(fd)
    try:
        run_once(["/usr/bin/time", "-f", "%M", "-o", path] + list(argv),
                 env=env)
        with open(path) as f:
            return int(f.read().split()[-1]) / 1024.0
    finally:
        os.unlink(path)


def compare(cmds, runs=20, warmup=2, env=None):
    """cmds: list of (name, argv). Interleaved; returns {name: Result}.
    Each round runs them in a new (seeded) random order: a command that
    runs right after one that sleeps (mbpoll's 20 ms after connect) starts
    on an idle, cooled-down CPU and measured ~30 % more CPU time than the
    same command run after a busy one, so a fixed order (or one that only
    turns) would bias the ratio."""
    res = {name: Result(name) for name, _ in cmds}
    for _ in range(warmup):
        for _, argv in cmds:
            run_once(argv, env=env)
    rng = random.Random(17)
    order = list(cmds)
    for _ in range(runs):
        rng.shuffle(order)
        for name, argv in order:
            w, c, r, _ = run_once(argv, env=env)
            res[name].wall.append(w)
            res[name].cpu.append(c)
            res[name].rss.append(r)
    for name, argv in cmds:
        r = peak_rss(argv, env=env)
        if r is not None:
            res[name].rss = [r]
    return res


def per_op(cmd_for_k, k1, k2, runs=9, env=None):
    """Time of one operation inside a loop, without start-up: the median of
    (t(k2) - t(k1)) / (k2 - k1), the two sizes interleaved. cmd_for_k(k)
    gives the argv doing k operations. Returns (wall s, cpu s) per op."""
    walls, cpus = [], []
    run_once(cmd_for_k(k1), env=env)
    for _ in range(runs):
        w1, c1, _, _ = run_once(cmd_for_k(k1), env=env)
        w2, c2, _, _ = run_once(cmd_for_k(k2), env=env)
        walls.append((w2 - w1) / (k2 - k1))
        cpus.append((c2 - c1) / (k2 - k1))
    return statistics.median(walls), statistics.median(cpus)


def per_op_many(cmds_for_k, k1, k2, runs=9, env=None):
    """per_op for several commands, interleaved: each round runs every
    command's pair (k1 then k2) in a new seeded random order, so a slow
    patch of the machine falls on all of them alike. cmds_for_k: {name:
    cmd_for_k}. Returns {name: (wall s, cpu s) per op}."""
    rng = random.Random(23)
    names = list(cmds_for_k)
    walls = {n: [] for n in names}
    cpus = {n: [] for n in names}
    for n in names:
        run_once(cmds_for_k[n](k1), env=env)
    for _ in range(runs):
        rng.shuffle(names)
        for n in names:
            w1, c1, _, _ = run_once(cmds_for_k[n](k1), env=env)
            w2, c2, _, _ = run_once(cmds_for_k[n](k2), env=env)
            walls[n].append((w2 - w1) / (k2 - k1))
            cpus[n].append((c2 - c1) / (k2 - k1))
    return {n: (statistics.median(walls[n]), statistics.median(cpus[n]))
            for n in names}


class Table:
    """The one table printed at the end: measure, ohm, peer, ratio, target."""

    def __init__(self):
        self.rows = []

    def ratio(self, what, ohm, peer, peer_name, target, higher_better=False,
              unit="ms", scale=1000.0):
        r = ohm / peer if not higher_better else peer / ohm
        met = r <= target if not higher_better else r >= target
        self.rows.append((what, "%.3f %s" % (ohm * scale, unit),
                          "%s %.3f %s" % (peer_name, peer * scale, unit),
                          "%.2fx" % r,
                          ("<= " if not higher_better else ">= ") +
                          "%gx" % target, "yes" if met else "NO"))
        return met

    def value(self, what, ohm, unit, target, met):
        self.rows.append((what, "%.1f %s" % (ohm, unit), "", "", target,
                          "yes" if met else "NO"))
        return met

    def show(self):
        head = ("measure", "ohm", "peer", "ratio", "target", "met")
        w = [max(len(str(r[i])) for r in self.rows + [head])
             for i in range(6)]
        for r in [head] + self.rows:
            print("  ".join(str(c).ljust(w[i]) for i, c in enumerate(r)))
        return all(r[5] == "yes" for r in self.rows)


if __name__ == "__main__":
    n = int(sys.argv[1])
    out = compare([(c, c) for c in sys.argv[2:]], runs=n)
    for name, r in out.items():
        print("%-50s wall %8.3f ms  cpu %8.3f ms  rss %6.1f MB" % (
            name, r.med_wall * 1e3, r.med_cpu * 1e3, r.max_rss))
