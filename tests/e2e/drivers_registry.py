"""Drivers as registered objects: no engine holds a driver's knowledge. A
Telnet-menu map of another name gets no BPS2000v2 console dialect (that
engine belongs to the bps2000v2 folder's hooks), and says where one goes;
the generated registries list every transport of the build; no file
outside a driver folder includes the folder's headers; and a new folder
(map.lua + hooks.c) added to a copy of the tree builds, is listed and its
hook runs, with no edit anywhere else."""
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.environ["OHM_TOP"], "tests"))
from lib import OHM, T, TOP, ohm, run  # noqa: E402

TMP = os.environ.get("TMPDIR", "/tmp")


def driver_includes():
    """No engine, shell or transport file includes a driver folder's
    header: they meet the drivers through the generated registries."""
    bad = []
    for top in ("shell", "transports", "devices", "lua", "util"):
        for root, _, files in os.walk(os.path.join(TOP, top)):
            rel = os.path.relpath(root, TOP)
            if rel.startswith("devices" + os.sep):  # a driver's own folder
                continue
            for f in files:
                if not f.endswith((".c", ".h")):
                    continue
                with open(os.path.join(root, f), errors="replace") as fh:
                    for line in fh:
                        m = re.match(r'\s*#\s*include\s+"([^"]+)"', line)
                        if m and re.search(r"devices/[^/]+/", m.group(1)):
                            bad.append("%s/%s: %s" % (rel, f, m.group(1)))
    T.ok(not bad, "no file outside a driver folder includes its headers",
         "\n".join(bad))


# The flags the build was made with, as the Makefile's asan target gives
# them (the copy must not rebuild everything).
SAN = ("-fsanitize=address,undefined -fno-omit-frame-pointer "
       "-fno-sanitize-recover=undefined")


def copy_tree(dst, build):
    os.makedirs(dst, exist_ok=True)
    for d in ("Makefile", "scripts", "devices", "shell", "transports",
              "util", "lua", build):
        src = os.path.join(TOP, d)
        if os.path.isdir(src):
            shutil.copytree(src, os.path.join(dst, d), symlinks=True,
                            ignore=shutil.ignore_patterns("test-logs"))
        else:
            shutil.copy2(src, os.path.join(dst, d))


HOOKS = r'''/* zz-test: a throwaway driver's hooks (tests/e2e/drivers_registry.py) */
#include <stdio.h>

#include "../engine.h"

static int zz_post_read(struct dev *d, struct dev_value *vals,
                        struct ohm_error *e) {
  const struct dev_var *v = dev_map_var(d->map, "device.model");
  (void)e;
  if (v && vals[v - d->map->vars].kind == DV_STR)
    snprintf(vals[v - d->map->vars].str, sizeof vals[0].str, "zz hooked");
  return 0;
}

const struct dev_hooks dev_hooks_zz_test = {
    .driver = "zz-test",
    .post_read = zz_post_read,
};
'''


def new_folder():
    """A driver folder added to a copy of the tree (a map and a hooks.c)
    builds with no edit elsewhere: the registries are generated, so the
    copy's ohm lists the driver and runs its hook."""
    build = os.path.basename(os.path.dirname(os.path.abspath(OHM)))
    dst = os.path.join(TMP, "ohm-tree-%d" % os.getpid())
    copy_tree(dst, build)
    zz = os.path.join(dst, "devices", "zz-test")
    os.makedirs(zz)
    with open(os.path.join(TOP, "devices", "bps2000v2", "map.lua")) as f:
        m = f.read().replace('name = "bps2000v2"', 'name = "zz-test"')
    with open(os.path.join(zz, "map.lua"), "w") as f:
        f.write(m)
    with open(os.path.join(zz, "hooks.c"), "w") as f:
        f.write(HOOKS)
    args = ["make", "-s", "BUILD=" + build, build + "/ohm"]
    if "asan" in build:
        args += ["OPT=-O1 -g", "EXTRA_CFLAGS=" + SAN, "LDFLAGS=" + SAN]
    # the flags make would build with must be the build's own (else the
    # copy rebuilds everything: not cheap, skipped)
    dry = subprocess.run(args[:1] + ["-n"] + args[2:], cwd=dst,
                         capture_output=True, text=True, timeout=120)
    want = [ln.split("'")[1] for ln in dry.stdout.splitlines()
            if ln.startswith("echo '") and "flags.tmp" in ln]
    with open(os.path.join(dst, build, "flags")) as f:
        have = f.read().strip()
    if not want or want[0].strip() != have:
        shutil.rmtree(dst, ignore_errors=True)
        return T.skip("new driver folder", "built with other flags")
    t0 = time.time()
    time.sleep(1.1)  # mtimes of one second's resolution
    r = subprocess.run(args, cwd=dst, capture_output=True, text=True,
                       timeout=600)
    built = sorted(os.path.relpath(os.path.join(root, f), dst)
                   for root, _, files in os.walk(os.path.join(dst, build))
                   for f in files if f.endswith(".o") and
                   os.path.getmtime(os.path.join(root, f)) > t0)
    T.ok(r.returncode == 0, "a copy of the tree with devices/zz-test/ "
         "builds", r.stdout + r.stderr)
    T.eq(built, [build + "/devices/zz-test/hooks.o",
                 build + "/gen/embedded.o", build + "/gen/maps.o",
                 build + "/gen/registry.o"],
         "only the folder's hooks.c and the generated registries compile")
    exe = os.path.join(dst, build, "ohm")
    r = subprocess.run([exe, "drivers"], capture_output=True, text=True)
    T.ok(r.returncode == 0 and re.search(r"^zz-test\s+driver", r.stdout,
                                         re.M) is not None,
         "ohm drivers lists the new folder's driver", r.stdout + r.stderr)
    r = subprocess.run([exe, "get", "sim:zz-test", "device.model"],
                       capture_output=True, text=True, timeout=60)
    T.eq(r.stdout.strip(), "device.model: zz hooked",
         "the folder's hooks.c is registered (its post_read runs)")
    shutil.rmtree(dst, ignore_errors=True)


def main():
    d = os.path.join(TMP, "ohm-reg-%d" % os.getpid())
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "menu-test.lua"), "w") as f:
        f.write('return { name = "menu-test", vars = { { name = '
                '"input.L1.current", menu = "1:load.1" } } }')
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen()
    port = srv.getsockname()[1]
    conns = []
    threading.Thread(target=lambda: conns.append(srv.accept()),
                     daemon=True).start()
    r = ohm("get", "-d", "menu-test", "--timeout", "1",
            "telnet://127.0.0.1:%d" % port, env={"OHM_DRIVERS": d})
    T.ok(r.returncode == 1 and r.stdout == "" and
         "no telnet engine for driver menu-test" in r.stderr and
         "devices/menu-test/hooks.c" in r.stderr and
         r.stderr.count("\n") == 1,
         "a menu map without its own console engine: one line, no BPS "
         "dialect guessed", r.stderr)
    r = ohm("drivers", "--json")
    T.ok(r.returncode == 0 and all(s in r.stdout for s in (
        '"modbus-tcp"', '"modbus-rtu"', '"snmp"', '"telnet"', '"serial"')),
        "the generated transport registry lists every transport", r.stdout)
    srv.close()
    driver_includes()
    new_folder()


run(main)
