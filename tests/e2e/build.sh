#!/bin/sh
# The build as a newcomer meets it (issue 9, "Setup and build"): a copy of
# the source tree (no build directories) in a temp directory, driven by make.
# - a missing package fails loudly, never a compile with empty flags;
# - demo, bench and check recurse after deps (pkg-config is read by a make
#   started after the packages are installed, and -j cannot overtake deps);
# - objects depend on their flags: -Werror on a warm tree recompiles;
# - make check fails on code that .clang-format would change.
. "$OHM_TOP/tests/lib.sh"
cd "$OHM_TOP"
src="$T/src"
mkdir -p "$src"
git ls-files -z 2>/dev/null | xargs -0 cp --parents -t "$src" 2> /dev/null ||
	tar --exclude='./build*' --exclude=./.git -cf - . | (cd "$src" && tar xf -)
[ -f "$src/Makefile" ] || { nok "source copied"; exit 1; }

# --- a missing package: pkg-config that knows nothing -----------------------
mkdir -p "$T/fakebin"
printf '#!/bin/sh\necho "Package lua5.4 was not found" >&2\nexit 1\n' \
	> "$T/fakebin/pkg-config"
chmod +x "$T/fakebin/pkg-config"
PATH="$T/fakebin:$PATH" make -C "$src" BUILD=b-missing all > "$T/miss.out" 2>&1
rc=$?
[ "$rc" -ne 0 ] && ok "missing packages: make all fails" ||
	nok "missing packages: make all fails (exit $rc)"
if grep -q "missing build packages" "$T/miss.out" &&
	grep -q "lua5.4 was not found" "$T/miss.out"; then
	ok "missing packages: says which, and to run make deps"
else
	nok "missing packages: says which"; sed 's/^/    | /' "$T/miss.out" | head
fi
if grep -q "\.c" "$T/miss.out" && grep -qE "No such file|\.h:" "$T/miss.out"
then
	nok "missing packages: nothing compiled with empty flags"
else
	ok "missing packages: nothing compiled with empty flags"
fi

# --- demo/bench/check recurse after deps -------------------------------------
for t in demo bench check; do
	make -C "$src" -n "$t" > "$T/$t.n" 2>&1
	d=$(grep -n "install-deps.sh" "$T/$t.n" | head -n 1 | cut -d: -f1)
	m=$(grep -nE "make.*(all|asan|werror)" "$T/$t.n" | head -n 1 | cut -d: -f1)
	c=$(grep -nE -- " -c -o " "$T/$t.n" | head -n 1 | cut -d: -f1)
	if [ -n "$d" ] && [ -n "$m" ] && [ "$d" -lt "$m" ] &&
		{ [ -z "$c" ] || [ "$m" -lt "$c" ]; }; then
		ok "make $t: deps first, then a recursive make builds"
	else
		nok "make $t: deps first, then a recursive make builds"
		head -n 5 "$T/$t.n" | sed 's/^/    | /'
	fi
done

# --- flags stamp: -Werror on a warm tree recompiles ---------------------------
o=b-flags/util/clock.o
[ -f "$src/util/clock.c" ] || o=$(cd "$src" && ls transports/*.c |
	head -n 1 | sed 's|^|b-flags/|; s|\.c$|.o|')
make -C "$src" BUILD=b-flags "$o" > "$T/f1.out" 2>&1 ||
	{ nok "flags: first build of $o"; cat "$T/f1.out"; }
# (make -q and -n cannot tell: the stamp is always checked and rewritten
# only when the flags differ; so build and look at what make ran)
make -C "$src" BUILD=b-flags "$o" 2>&1 | grep -q -- "-c -o $o" &&
	nok "flags: same flags, $o up to date" ||
	ok "flags: same flags, $o up to date"
make -C "$src" BUILD=b-flags EXTRA_CFLAGS=-Werror "$o" 2>&1 |
	grep -q -- "-Werror.*-c -o $o" &&
	ok "flags: -Werror recompiles $o" ||
	nok "flags: -Werror recompiles $o"
# the check target's -Werror build has a directory of its own
grep -q "BUILD=build-werror" "$T/check.n" &&
	ok "make check: -Werror build in build-werror/" ||
	nok "make check: -Werror build in build-werror/"

# --- format-check --------------------------------------------------------------
if make -C "$src" -s format-check > "$T/fmt.out" 2>&1; then
	ok "format-check: the tree is formatted"
else
	nok "format-check: the tree is formatted"; head "$T/fmt.out"
fi
f=$(cd "$src" && ls shell/*.c | head -n 1)
printf 'int  badly_formatted_fn( void ){return 1 ;}\n' >> "$src/$f"
if make -C "$src" -s format-check > "$T/fmt.out" 2>&1; then
	nok "format-check: fails on unformatted code ($f)"
else
	grep -q "make format" "$T/fmt.out" &&
		ok "format-check: fails on unformatted code, says make format" ||
		nok "format-check: says make format"
fi
