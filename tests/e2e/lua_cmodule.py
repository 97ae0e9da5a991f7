"""Lua is linked into ohm (liblua5.4.a, issue 17: no shared library to
load at start-up) with its API exported: a Lua C module from Debian that
takes lua_* from its host (lua-cjson's cjson.so links no liblua) still
loads with require, in ohm -e and in a script. Fails if the link drops
--export-dynamic-symbol (cjson.so: undefined symbol lua_checkstack)."""
import os, sys, tempfile
sys.path.insert(0, os.path.join(os.environ["OHM_TOP"], "tests"))
from lib import T, ohm, run

CJSON = "/usr/lib/x86_64-linux-gnu/lua/5.4/cjson.so"


def main():
    T.ok(os.path.exists(CJSON), "lua-cjson is installed", CJSON)
    r = ohm("-e", 'local c = require "cjson" '
            'print(c.encode({a = 1}), #c.decode("[1,2,3]"))')
    T.eq(r.stdout, '{"a":1}\t3\n', "ohm -e: require of a C module")
    T.eq(r.returncode, 0, "ohm -e: exit 0 (%s)" % r.stderr.strip())
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write('local cjson = require "cjson"\n'
                'print(cjson.encode({"ohm", true}))\n')
    try:
        r = ohm(f.name)
    finally:
        os.unlink(f.name)
    T.eq(r.stdout, '["ohm",true]\n', "a script: require of a C module")


run(main)
