#!/usr/bin/python3
"""An snmpd `pass_persist` program serving a UPS's RFC 1628 objects from a JSON
state file (argv[1]): {"source": 3|5, "battery": 2|3, "charge": N,
"flap": false}, through snmpd's pass_persist protocol; a test changes
the UPS by rewriting the file; with flap set, upsOutputSource
alternates between 3 (OL) and 5 (OB) on every read."""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import snmplib as S  # noqa: E402

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
    return {BASE + "2.1.0": ("integer", st["battery"]),
            BASE + "2.4.0": ("integer", st["charge"]),
            BASE + "4.1.0": ("integer", src)}


def main():
    S.pass_persist(lambda mode, oid: S.pass_lookup(
        objects(sys.argv[1], oid), mode, oid))


if __name__ == "__main__":
    main()
