# ohm: non-recursive Makefile. `make` builds build/ohm; `make check` installs
# what the tests need, builds, and runs every test under ASan and UBSan.
# BUILD=dir puts a variant elsewhere (helpers building in parallel).

PREFIX  ?= /usr/local
BUILD   ?= build
CC      ?= cc
# libcurl, net-snmp, libmosquitto, readline, libserialport, libtelnet and
# libmodbus (for RTU and the simulator; Modbus TCP needs none of it) are
# not linked: they are loaded on first use (util/lazy.h,
# scripts/gen-lazy.sh), so that `ohm get` over Modbus TCP does not pay their
# start-up cost. Their headers are still needed. libm neither: Lua's VM and
# the simulators reach it through util/lazy_libm.c. A one-shot `ohm get`
# maps libc alone.
# Evaluated when a make that builds is parsed: the top-level targets that
# install packages first (check, demo, bench, fuzz) recurse after `deps`, so
# a fresh machine never builds with empty flags; a package still missing
# then fails loudly (pkg-config's own message) in $(BUILD)/flags.
PKGS       := lua5.4 libmodbus libserialport libcurl libtelnet
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
# Lua linked in from Debian's liblua5.4.a where there is one: no shared
# library to map and relocate at start-up (~40K instructions of a one-shot
# `ohm get`, 7%). Its API stays exported, so a C module
# (`require "cjson"`) still finds lua_* in ohm.
LUA_A      := $(wildcard $(shell pkg-config --variable=libdir lua5.4 \
                2>/dev/null)/liblua5.4.a)
LUA_EXPORT := -Wl,--export-dynamic-symbol='lua*'
LUA_LIBS   := $(if $(LUA_A),$(LUA_A) $(LUA_EXPORT), \
                $(shell pkg-config --libs lua5.4 2>/dev/null))
# Relative relocations packed (DT_RELR, glibc >= 2.36): the compiled maps'
# ~2,000 pointers are relocated from a 400-byte bitmap at start-up.
PKG_LIBS   := $(LUA_LIBS) -ldl -lpthread -Wl,-z,pack-relative-relocs
OPT     ?= -O2 -g
CFLAGS  ?= $(OPT)
WARN     = -Wall -Wextra -Wno-unused-parameter -Wshadow -Wstrict-prototypes \
           -Wmissing-prototypes
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE $(WARN) $(CFLAGS) $(PKG_CFLAGS) \
             -I. -I$(BUILD)/gen $(EXTRA_CFLAGS)

LIB_SRC  := $(wildcard util/*.c transports/*.c devices/*.c devices/*/*.c \
              lua/*.c) \
            $(filter-out shell/main.c,$(wildcard shell/*.c)) \
            $(wildcard shell/serve/*.c)
MAPS     := $(sort $(wildcard devices/*/map.lua))
LUA_LIB  := $(sort $(wildcard lua/*.lua))
GEN_SRC  := $(BUILD)/gen/embedded.c
GEN_REG  := $(BUILD)/gen/registry.c
GEN_MAPS := $(BUILD)/gen/maps.c
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o) $(BUILD)/gen/embedded.o \
            $(BUILD)/gen/registry.o $(BUILD)/gen/maps.o
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)

.PHONY: all deps check test asan demo bench fuzz fuzz-bins install clean format \
        format-check werror FORCE
all: $(BUILD)/ohm $(UNIT_BIN)

# Every object depends on the flags it was built with: a build whose flags
# differ (-Werror, sanitizers, CFLAGS=...) rebuilds instead of saying
# "Nothing to be done". Also the place a missing package fails loudly.
$(BUILD)/flags: FORCE
	@mkdir -p $(BUILD)
	@pkg-config --print-errors --exists $(PKGS) || \
	  { echo "ohm: missing build packages: run 'make deps'" >&2; exit 1; }
	@echo '$(CC) $(ALL_CFLAGS) $(LDFLAGS)' > $@.tmp
	@cmp -s $@.tmp $@ && rm -f $@.tmp || mv $@.tmp $@

# Objects, not an archive: the registries refer to transports and commands
# by weak symbols, which would not pull members out of a static archive.
$(BUILD)/ohm: $(BUILD)/shell/main.o $(LIB_OBJ)
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(PKG_LIBS) $(LDFLAGS)

$(BUILD)/%.o: %.c $(BUILD)/flags
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/gen/embedded.o: $(GEN_SRC) $(BUILD)/flags
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

# Transports, engines and driver hooks: whatever the sources define.
$(BUILD)/gen/registry.o: $(GEN_REG) $(BUILD)/flags
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

# The list of sources and maps: a file added or removed regenerates the
# registry and the embedded maps (their prerequisites alone miss a removal).
$(BUILD)/srclist: FORCE
	@mkdir -p $(BUILD)
	@echo '$(LIB_SRC) $(MAPS) $(LUA_LIB)' > $@.tmp
	@cmp -s $@.tmp $@ && rm -f $@.tmp || mv $@.tmp $@

$(GEN_REG): scripts/gen-registry.sh $(LIB_SRC) $(BUILD)/srclist
	@mkdir -p $(dir $@)
	sh scripts/gen-registry.sh $(LIB_SRC) > $@.tmp && mv $@.tmp $@

$(GEN_SRC): scripts/embed.sh $(LUA_LIB) $(BUILD)/srclist
	@mkdir -p $(dir $@)
	sh scripts/embed.sh $(LUA_LIB) > $@.tmp && mv $@.tmp $@

# The built-in maps as C tables (scripts/map2c.c): loaded at build time by
# the run-time map loader, so start-up parses no Lua.
# (every devices/map*.c: the loader's parts)
MAP2C_OBJ := $(patsubst %.c,$(BUILD)/%.o,$(wildcard devices/map*.c)) \
             $(addprefix $(BUILD)/,devices/frame_map.o devices/decode.o util/err.o \
               util/lazy_libm.o)
$(BUILD)/map2c: scripts/map2c.c $(MAP2C_OBJ) $(BUILD)/flags
	$(CC) $(ALL_CFLAGS) -o $@ $< $(MAP2C_OBJ) $(PKG_LIBS) $(LDFLAGS)
$(GEN_MAPS): $(BUILD)/map2c $(MAPS) $(BUILD)/srclist
	@mkdir -p $(dir $@)
	$(BUILD)/map2c $(MAPS) > $@.tmp && mv $@.tmp $@
# -O0: its fill functions are long straight lines of stores, which gcc's
# optimizers take minutes over, for nothing (run once, a few microseconds).
$(BUILD)/gen/maps.o: $(GEN_MAPS) $(BUILD)/flags
	$(CC) $(ALL_CFLAGS) -O0 -c -o $@ $<

$(BUILD)/tests/%: tests/unit/%.c $(LIB_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(LIB_OBJ) $(PKG_LIBS) $(LDFLAGS)

deps:
	sh scripts/install-deps.sh

# Every test runs against the sanitized build; the plain build must also
# compile without warnings.
SAN = -fsanitize=address,undefined -fno-omit-frame-pointer \
      -fno-sanitize-recover=undefined
ASAN_BUILD ?= build-asan
asan:
	$(MAKE) BUILD=$(ASAN_BUILD) OPT="-O1 -g" EXTRA_CFLAGS="$(SAN)" \
	  LDFLAGS="$(SAN)" all

# The warnings-as-errors build has its own directory, so it really compiles
# every file however warm build/ is.
werror:
	$(MAKE) BUILD=build-werror EXTRA_CFLAGS=-Werror all

# The one style of .clang-format, checked (make format applies it).
C_FILES = $(sort $(wildcard */*.c */*.h devices/*/*.c devices/*/*.h \
                  shell/*/*.c shell/*/*.h tests/*/*.c tests/*/*.h bench/c/*.c))
format-check:
	@clang-format --dry-run --Werror $(C_FILES) || \
	  { echo "format-check: run 'make format'" >&2; exit 1; }

# Recursive after deps (here and in demo, bench, fuzz): the sub-make
# evaluates pkg-config after the packages are installed, and -j cannot run
# the build before them. tests/run.sh also runs every fuzz target for a
# fixed number of runs (tests/e2e/fuzz_runs.sh, FUZZ_RUNS); `make fuzz`
# runs them for FUZZ_SECONDS each.
check: deps
	$(MAKE) format-check
	$(MAKE) werror
	$(MAKE) asan
	OHM_BUILD=$(ASAN_BUILD) sh tests/run.sh

test: all
	OHM_BUILD=$(BUILD) sh tests/run.sh

demo: deps
	$(MAKE) all
	sh scripts/demo.sh $(BUILD)/ohm

# The man page's variable tables, generated from the driver maps: every
# driver folder whose section in man/ohm.1 has the @VARS markers.
.PHONY: man
man: $(BUILD)/ohm
	@for d in $(patsubst devices/%/map.lua,%,$(MAPS)); do \
	  grep -q "@VARS $$d BEGIN@" man/ohm.1 || continue; \
	  echo "gen-man-vars.sh $$d"; \
	  sh scripts/gen-man-vars.sh $(BUILD)/ohm $$d --update man/ohm.1 || exit 1; \
	done

bench: deps
	$(MAKE) all bench-bins
	sh bench/run.sh $(BUILD)/ohm

# The physical limits the benchmarks compare with: minimal C clients (and
# a one-process device farm) in bench/c/, built beside ohm.
BENCH_BIN := $(patsubst bench/c/%.c,$(BUILD)/bench/%,$(wildcard bench/c/*.c))
.PHONY: bench-bins
bench-bins: $(BENCH_BIN)
$(BUILD)/bench/%: bench/c/%.c $(BUILD)/flags
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -D_GNU_SOURCE $(WARN) -O2 $(PKG_CFLAGS) $(EXTRA_CFLAGS) \
	  -o $@ $< $(PKG_LIBS) $(shell pkg-config --libs libmodbus) -lm

fuzz: deps
	sh tests/fuzz/run.sh

# libFuzzer targets: tests/fuzz/run.sh builds these with clang and the
# sanitizers into build-fuzz/ (each fuzz_*.c defines LLVMFuzzerTestOneInput).
FUZZ_BIN := $(FUZZ_SRC:tests/fuzz/%.c=$(BUILD)/fuzz/%)
fuzz-bins: $(FUZZ_BIN)
$(BUILD)/fuzz/%: tests/fuzz/%.c $(LIB_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(FUZZ_LDFLAGS) -o $@ $< $(LIB_OBJ) $(PKG_LIBS) \
	  $(LDFLAGS)

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1 \
	  $(DESTDIR)$(PREFIX)/share/man/man5 \
	  $(DESTDIR)$(PREFIX)/share/bash-completion/completions \
	  $(DESTDIR)$(PREFIX)/share/ohm/scripts
	install -m 755 $(BUILD)/ohm $(DESTDIR)$(PREFIX)/bin/ohm
	install -m 644 man/ohm.1 $(DESTDIR)$(PREFIX)/share/man/man1/ohm.1
	install -m 644 man/ohm-maps.5 $(DESTDIR)$(PREFIX)/share/man/man5/ohm-maps.5
	install -m 644 completions/ohm.bash \
	  $(DESTDIR)$(PREFIX)/share/bash-completion/completions/ohm
	install -m 755 scripts/*.lua $(DESTDIR)$(PREFIX)/share/ohm/scripts/

format:
	clang-format -i $(C_FILES)

clean:
	rm -rf build build-asan build-fuzz build-werror

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
