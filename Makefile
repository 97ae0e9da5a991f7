# ohm: non-recursive Makefile. `make` builds build/ohm; `make check` installs
# what the tests need, builds, and runs every test under ASan and UBSan.
# BUILD=dir puts a variant elsewhere (helpers building in parallel).

PREFIX  ?= /usr/local
BUILD   ?= build
CC      ?= cc
# libcurl and libnetsnmp are not linked: they are loaded on first use
# (transports/lazy.h, scripts/gen-lazy.sh), so that `ohm get` over Modbus
# does not pay their start-up cost. Their headers are still needed.
PKG_CFLAGS := $(shell pkg-config --cflags lua5.4 libmodbus libserialport \
                libcurl libtelnet 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs lua5.4 libmodbus libserialport \
                libtelnet 2>/dev/null) -lreadline -ldl -lpthread -lm
OPT     ?= -O2 -g
CFLAGS  ?= $(OPT)
WARN     = -Wall -Wextra -Wno-unused-parameter -Wshadow -Wstrict-prototypes \
           -Wmissing-prototypes
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE $(WARN) $(CFLAGS) $(PKG_CFLAGS) \
             -I. -I$(BUILD)/gen $(EXTRA_CFLAGS)

LIB_SRC  := $(wildcard transports/*.c devices/*.c devices/*/*.c lua/*.c) \
            $(filter-out shell/main.c,$(wildcard shell/*.c))
MAPS     := $(sort $(wildcard devices/*/map.lua))
LUA_LIB  := $(sort $(wildcard lua/*.lua))
GEN_SRC  := $(BUILD)/gen/embedded.c
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o) $(BUILD)/gen/embedded.o
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)

.PHONY: all deps check test asan demo bench fuzz fuzz-bins install clean format
all: $(BUILD)/ohm $(UNIT_BIN)

# Objects, not an archive: the registries refer to transports and commands
# by weak symbols, which would not pull members out of a static archive.
$(BUILD)/ohm: $(BUILD)/shell/main.o $(LIB_OBJ)
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(PKG_LIBS) $(LDFLAGS)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/gen/embedded.o: $(GEN_SRC)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(GEN_SRC): scripts/embed.sh $(MAPS) $(LUA_LIB)
	@mkdir -p $(dir $@)
	sh scripts/embed.sh $(MAPS) $(LUA_LIB) > $@.tmp && mv $@.tmp $@

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

check: deps
	$(MAKE) EXTRA_CFLAGS=-Werror all
	$(MAKE) asan
	OHM_BUILD=$(ASAN_BUILD) sh tests/run.sh

test: all
	OHM_BUILD=$(BUILD) sh tests/run.sh

demo: deps all
	sh scripts/demo.sh $(BUILD)/ohm

# The man page's variable tables, generated from the driver maps.
.PHONY: man
man: $(BUILD)/ohm
	sh scripts/gen-man-vars.sh $(BUILD)/ohm bps2000v2 --update man/ohm.1
	sh scripts/gen-man-vars.sh $(BUILD)/ohm ups-mib --update man/ohm.1

bench: deps all
	sh bench/run.sh $(BUILD)/ohm

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
	  $(DESTDIR)$(PREFIX)/share/bash-completion/completions \
	  $(DESTDIR)$(PREFIX)/share/ohm/scripts
	install -m 755 $(BUILD)/ohm $(DESTDIR)$(PREFIX)/bin/ohm
	install -m 644 man/ohm.1 $(DESTDIR)$(PREFIX)/share/man/man1/ohm.1
	install -m 644 completions/ohm.bash \
	  $(DESTDIR)$(PREFIX)/share/bash-completion/completions/ohm
	install -m 755 scripts/*.lua $(DESTDIR)$(PREFIX)/share/ohm/scripts/

format:
	clang-format -i $(wildcard */*.c */*.h devices/*/*.c tests/*/*.c)

clean:
	rm -rf build build-asan build-fuzz

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
