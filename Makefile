# gcemount — see README.md. Out-of-tree objects under build/.
PREFIX  ?= /usr/local
DESTDIR ?=
BUILD   ?= build
CC      ?= cc
CFLAGS  ?= -O2 -g

PKGS := ext2fs com_err fdisk blkid libarchive fuse3 zlib
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CMOCKA_LIBS := $(shell pkg-config --libs cmocka 2>/dev/null)

WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
        -Wwrite-strings -Wformat=2 -Wformat -Werror=format-security \
        -Wimplicit-fallthrough -Wno-unused-parameter
HARDEN := -D_FORTIFY_SOURCE=2 -fstack-protector-strong -fstack-clash-protection -fPIE
HARDEN_LD := -pie -Wl,-z,relro,-z,now
# Project flags are kept apart from the user's CFLAGS so `make CFLAGS='-O0 -g'` keeps them.
GM_CFLAGS := -std=gnu11 -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 -I. $(WARN) $(HARDEN) $(PKG_CFLAGS) -MMD -MP
GM_LDFLAGS := $(HARDEN_LD)

EDITOR_SRC   := $(sort $(wildcard editor/*.c))
POLICIES_SRC := $(sort $(wildcard policies/*.c))
FUSE_SRC     := $(sort $(wildcard fuse/*.c))
CLI_SRC      := $(sort $(wildcard cli/*.c))
UNIT_SRC     := $(sort $(wildcard tests/test_*.c))
FUZZ_SRC     := $(sort $(wildcard tests/fuzz/fuzz_*.c))

obj = $(patsubst %.c,$(BUILD)/%.o,$(1))
EDITOR_LIB   := $(BUILD)/libgm_editor.a
POLICIES_LIB := $(BUILD)/libgm_policies.a
FUSE_LIB     := $(BUILD)/libgm_fuse.a
LIBS_ALL     := $(POLICIES_LIB) $(FUSE_LIB) $(EDITOR_LIB)
UNIT_BINS    := $(patsubst tests/%.c,$(BUILD)/tests/%,$(UNIT_SRC))

.PHONY: all check check-unit check-integration demo bench asan check-asan fuzz check-fuzz install clean deps

all: $(BUILD)/gcemount

deps:
	@scripts/deps.sh

Q := $(if $(V),,@)
$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(V),,echo "  CC      $<")
	$(Q)$(CC) $(GM_CFLAGS) $(CFLAGS) $(EXTRA_CFLAGS) -c -o $@ $<

$(EDITOR_LIB): $(call obj,$(EDITOR_SRC))
	@mkdir -p $(dir $@); rm -f $@; ar rcs $@ $^
$(POLICIES_LIB): $(call obj,$(POLICIES_SRC))
	@mkdir -p $(dir $@); rm -f $@; ar rcs $@ $^
$(FUSE_LIB): $(call obj,$(FUSE_SRC))
	@mkdir -p $(dir $@); rm -f $@; ar rcs $@ $^

$(BUILD)/gcemount: $(call obj,$(CLI_SRC)) $(LIBS_ALL)
	@$(if $(V),,echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) $(EXTRA_CFLAGS) $(GM_LDFLAGS) $(LDFLAGS) -o $@ $(call obj,$(CLI_SRC)) $(LIBS_ALL) $(PKG_LIBS)

$(BUILD)/tests/%: $(BUILD)/tests/%.o $(LIBS_ALL)
	@$(if $(V),,echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) $(EXTRA_CFLAGS) $(GM_LDFLAGS) $(LDFLAGS) -o $@ $< $(LIBS_ALL) $(PKG_LIBS) $(CMOCKA_LIBS)

# Unit tests (cmocka), then integration scripts that build their fixtures at run time.
check: deps
	@$(MAKE) --no-print-directory all $(UNIT_BINS)
	@BUILD=$(BUILD) tests/run.sh $(UNIT_BINS)

check-unit: all $(UNIT_BINS)
	@BUILD=$(BUILD) tests/run.sh --unit-only $(UNIT_BINS)

check-integration: all
	@BUILD=$(BUILD) tests/run.sh --integration-only

# Same tests under AddressSanitizer + UndefinedBehaviorSanitizer, in build-asan/.
asan check-asan: deps
	@$(MAKE) --no-print-directory BUILD=build-asan \
	  CFLAGS='-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all -U_FORTIFY_SOURCE' check

demo: deps all
	@scripts/demo.sh $(BUILD)/gcemount

bench: deps all
	@scripts/bench.sh $(BUILD)/gcemount

# libFuzzer targets (clang). check-fuzz runs each for a bounded time.
FUZZ_BINS := $(patsubst tests/fuzz/%.c,build-fuzz/%,$(FUZZ_SRC))
fuzz: deps
	@$(MAKE) --no-print-directory BUILD=build-fuzz CC=clang \
	  CFLAGS='-O1 -g -fsanitize=fuzzer-no-link,address,undefined -U_FORTIFY_SOURCE' fuzz-bins
fuzz-bins: $(FUZZ_BINS)
build-fuzz/fuzz_%: $(BUILD)/tests/fuzz/fuzz_%.o $(LIBS_ALL)
	$(CC) $(CFLAGS) -fsanitize=fuzzer $(GM_LDFLAGS) -o $@ $< $(LIBS_ALL) $(PKG_LIBS)
check-fuzz: fuzz
	@tests/fuzz/run.sh $(FUZZ_BINS)

install: all
	install -D -m 0755 $(BUILD)/gcemount $(DESTDIR)$(PREFIX)/bin/gcemount
	install -D -m 0644 docs/gcemount.1 $(DESTDIR)$(PREFIX)/share/man/man1/gcemount.1
	install -d $(DESTDIR)$(PREFIX)/share/gcemount/policies
	install -m 0644 policies/*.policy $(DESTDIR)$(PREFIX)/share/gcemount/policies/

clean:
	rm -rf build build-asan build-fuzz

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
