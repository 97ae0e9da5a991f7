#!/usr/bin/python3
"""An snmpd `pass_persist` program serving a BM100's battmgr subtree (the
2 x 4 data of snmplib.bm_records) through snmpd's pass_persist protocol,
with the writes a BM100 takes: bmConfig thresholds (.3.4 to .3.17, an
INTEGER; resistance-health thresholds below 110 % answered wrong-value,
as a unit whose own limit is stricter than the map's), the name and
location texts (.1.8, .1.9); everything else not-writable (.3.1 the
capacity among them). Values written live in this process only."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import snmplib as S  # noqa: E402

TYPES = {"2": "integer", "4": "string", "6": "objectid", "67": "timeticks"}


def load():
    objs = {}
    for rec in S.bm_records():
        oid, tag, val = rec.split("|", 2)
        if oid.startswith(S.BMG):
            objs["." + oid] = [TYPES[tag], val]
    return objs


def write(objs, oid, typed):
    kind, _, val = typed.partition(" ")
    conf = "." + S.BMG + ".3."
    texts = ("." + S.BMG + ".1.8.0", "." + S.BMG + ".1.9.0")
    if oid in texts:
        if kind != "string":
            return "wrong-type\n"
        objs[oid][1] = val.strip('"')
        return "DONE\n"
    if not oid.startswith(conf) or oid == conf + "1.0" or oid not in objs:
        return "not-writable\n"
    if kind != "integer":
        return "wrong-type\n"
    if oid in (conf + "13.0", conf + "14.0") and int(val) < 110:
        return "wrong-value\n"
    objs[oid][1] = val
    return "DONE\n"


def main():
    objs = load()
    S.pass_persist(lambda mode, oid: S.pass_lookup(objs, mode, oid),
                   lambda oid, typed: write(objs, oid, typed))


if __name__ == "__main__":
    main()
