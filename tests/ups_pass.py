#!/usr/bin/python3
"""An snmpd `pass_persist` program serving a UPS's RFC 1628 objects from a JSON
state file (argv[1]): {"source": 3|5, "battery": 2|3, "charge": N,
"flap": false}, through snmpd's pass_persist protocol; a test changes
the UPS by rewriting the file; with flap set, upsOutputSource
alternates between 3 (OL) and 5 (OB) on every read."""
import json
import os
import sys

BASE = ".1.3.6.1.2.1.33.1."


def objects(state_path, asked):
    with open(state_path) as f:
        st = json.load(f)
    src = st["source"]
    if st.get("flap") and asked.endswith("33.1.4.1.0"):
        n_path = state_path + ".n"
        n = int(open(n_path).read()) if os.path.exists(n_path) else 0
        with open(n_path, "w") as f:
            f.write(str(n + 1))
        src = 5 if n % 2 else 3
    return {BASE + "2.1.0": st["battery"], BASE + "2.4.0": st["charge"],
            BASE + "4.1.0": src}


def key(oid):
    return [int(x) for x in oid.strip(".").split(".")]


def answer(state_path, mode, oid):
    objs = objects(state_path, oid)
    if mode == "get":
        hit = oid if oid in objs else None
    else:
        later = sorted((o for o in objs if key(o) > key(oid)), key=key)
        hit = later[0] if later else None
    return f"{hit}\ninteger\n{objs[hit]}\n" if hit else "NONE\n"


def main():
    """snmpd's pass_persist protocol on stdin/stdout."""
    for line in sys.stdin:
        cmd = line.strip()
        if cmd == "PING":
            out = "PONG\n"
        elif cmd in ("get", "getnext"):
            out = answer(sys.argv[1], cmd, sys.stdin.readline().strip())
        elif cmd == "set":
            sys.stdin.readline()
            sys.stdin.readline()
            out = "not-writable\n"
        else:
            return
        sys.stdout.write(out)
        sys.stdout.flush()


if __name__ == "__main__":
    main()
