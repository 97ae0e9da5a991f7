#!/bin/sh
# The man page's table of a driver's variables, generated from the driver's
# map through `ohm list --all --json` (the one map everything reads), never
# typed by hand. Filling without adjustment (.na) around each table: the
# description column is narrow at 80 columns and adjusting it would make
# troff warn "cannot adjust line".
#   gen-man-vars.sh OHM DRIVER              print the roff table
#   gen-man-vars.sh OHM DRIVER --update F   replace it in F between
#       `.\" @VARS DRIVER BEGIN@` and `.\" @VARS DRIVER END@`
#   gen-man-vars.sh OHM DRIVER --check F    exit 1 if F is out of date
set -eu
ohm=$1 drv=$2 mode=${3:-} file=${4:-}
py=/usr/bin/python3
[ -x "$py" ] || py=python3

table() {
	OHM_CONFIG=/nonexistent "$ohm" list --all --json -d "$drv" "sim:$drv" |
		"$py" -c '
import json, re, sys
rows = json.load(sys.stdin)
# repeated groups (`each`, ohm-maps(5)) once, with their letters: pack P,
# cell C; the instances differ only in those numbers
seen, once = set(), []
for r in rows:
    n = re.sub(r"\.pack\.\d+\.", ".pack.P.", r["name"])
    n = re.sub(r"\.cell\.\d+\.", ".cell.C.", n)
    n = re.sub(r"\.string\.\d+\.block\.\d+\.", ".string.S.block.B.", n)
    if n != r["name"]:
        d = re.sub(r"\bcell \d+\b", "cell C", r["desc"])
        d = re.sub(r"\bstring \d+ block \d+\b", "string S block B", d)
        r = dict(r, name=n, desc=d)
    if n not in seen:
        seen.add(n)
        once.append(r)
rows = once
def esc(s):
    s = str(s).replace("\\", "\\e")
    return "\\&" + s if s[:1] in ".\x27" else s
# names over 40 characters and no registers (the cps-bm100 blocks): no
# Register column and narrow gaps, so the table fits 80 columns
compact = all(r["reg"] == "" for r in rows) and \
    any(len(r["name"]) > 40 for r in rows)
print(".na")
print(".TS")
print("tab(@);")
print("lb1 lb1 lb1 lb" if compact else "lb lb lb lb lb")
print("l1 l1 l1 lx." if compact else "l l l l lx.")
print("Variable@Unit@Access@Description" if compact else
      "Variable@Unit@Access@Register@Description")
for r in rows:
    if r["access"] == "cmd":
        continue
    reg = r["reg"] if r["reg"] != "" else "\\(em"
    over = r["over"]
    desc = r["desc"] + ("" if "modbus" in over or over in ("all", "stream")
                        else " (" + over.replace(",", ", ") + " only)")
    print("@".join([esc(r["name"]), esc(r["unit"]) if r["unit"] else "\\(em", r["access"]] +
                   ([] if compact else [str(reg)]) + ["T{\n" + esc(desc) + "\nT}"]))
print(".TE")
print(".ad")
cmds = [r for r in rows if r["access"] == "cmd"]
if not cmds:
    sys.exit(0)
print(".PP")
print("Commands:")
print(".na")
print(".TS")
print("tab(@);")
print("lb lb")
print("l lx.")
print("Command@Description")
for r in cmds:
    print("@".join([esc(r["name"]), "T{\n" + esc(r["desc"]) +
                    " (" + r["over"].replace(",", ", ") + ")\nT}"]))
print(".TE")
print(".ad")
'
}

case "$mode" in
"") table ;;
--update | --check)
	begin=".\\\" @VARS $drv BEGIN@" end=".\\\" @VARS $drv END@"
	grep -qF "$begin" "$file" || { echo "$file: no '$begin' line" >&2; exit 1; }
	tmp=$(mktemp)
	table > "$tmp.t"
	# ENVIRON, not -v: awk -v would eat the backslash of .\"
	B=$begin E=$end TF=$tmp.t awk '
		BEGIN { b = ENVIRON["B"]; e = ENVIRON["E"]; t = ENVIRON["TF"] }
		$0 == b { print; while ((getline l < t) > 0) print l; skip = 1; next }
		$0 == e { skip = 0 }
		!skip { print }' "$file" > "$tmp"
	if [ "$mode" = --check ]; then
		cmp -s "$tmp" "$file" && rc=0 || rc=1
		[ $rc = 0 ] || echo "$file: the $drv table is out of date" \
			"(run make man)" >&2
		rm -f "$tmp" "$tmp.t"
		exit $rc
	fi
	cmp -s "$tmp" "$file" || cat "$tmp" > "$file"
	rm -f "$tmp" "$tmp.t" ;;
*) echo "usage: gen-man-vars.sh OHM DRIVER [--update|--check FILE]" >&2
	exit 2 ;;
esac
