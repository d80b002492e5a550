# dm-cbt / cbtship top-level build.
#
#   make              kernel module kmod/dm-cbt.ko + userspace in build/
#   make module       only the kernel module
#   make userspace    only build/bin/cbtship and build/lib/libcbt.a (and the
#                     test helpers, build/test-bin/cbtship among them)
#   make check        unit tests (ASan+UBSan) then guest tests; see tests/run
#   make format       clang-format the userspace sources
#   make lint         checkpatch on kmod/, clang-format --dry-run on userspace
#   make man          man pages build/man/cbtship.8 and dm-cbt.4 (scdoc)
#   make deb          build/deb/dm-cbt-dkms_VERSION_all.deb and
#                     cbtship_VERSION_ARCH.deb (scripts/build-deb)
#   make fuzz-build   libFuzzer targets build/fuzz/bin/fuzz-* (clang, ASan+UBSan)
#   make fuzz         run each for FUZZ_SECONDS (default 60) from its seed
#                     corpus (scripts/fuzz; tests/fuzz/README.md)
#   make clean        remove every build output
#
# The module is built for the newest Debian kernel in /lib/modules/*-amd64
# (the one the QEMU guest boots), never for `uname -r`. Override with
# KVER=... or KDIR=....

KVER ?= $(shell bash -c '. scripts/lib/kernel.sh && guest_kernel_version')
KDIR ?= /lib/modules/$(KVER)/build

BUILD := build
CC ?= cc
PKG_CONFIG ?= pkg-config

WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	-Wformat=2 -Wvla
CPPFLAGS_COMMON := -D_GNU_SOURCE -Iinclude/uapi -Iuserspace/include -Iuserspace
CFLAGS_COMMON := -std=c11 $(WARN) -g -pipe -MMD -MP
OPT_CFLAGS ?= -O2
SAN_CFLAGS := -O1 -fsanitize=address,undefined -fno-omit-frame-pointer \
	-fno-sanitize-recover=all

# Userspace libraries (Debian -dev packages; scripts/setup installs them).
LIBS_PC := devmapper libnl-genl-3.0 blkid libcrypto sqlite3 jansson inih libzstd zlib libcurl \
	libsystemd
PC_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(LIBS_PC) 2>/dev/null)
PC_LIBS := $(shell $(PKG_CONFIG) --libs $(LIBS_PC) 2>/dev/null)
LDLIBS := $(PC_LIBS) -lrbd -lrados -lpthread
TEST_LDLIBS := $(shell $(PKG_CONFIG) --libs cmocka 2>/dev/null) $(LDLIBS)

# Sources: libcbt (target control) and the cbtship program.
LIBCBT_SRC := $(sort $(wildcard userspace/libcbt/*.c))
CBTSHIP_SRC := $(sort $(shell find userspace/cbtship -name "*.c"))
CBTSHIP_MAIN := userspace/cbtship/main.c
CBTSHIP_LIB_SRC := $(filter-out $(CBTSHIP_MAIN),$(CBTSHIP_SRC))
UNIT_SRC := $(sort $(wildcard tests/unit/test-*.c))
TEST_HELPERS_SRC := $(sort $(wildcard tests/helpers/*.c))

obj = $(patsubst %.c,$(BUILD)/$(1)/%.o,$(2))

REL_LIBCBT_OBJ := $(call obj,obj,$(LIBCBT_SRC))
REL_SHIP_OBJ := $(call obj,obj,$(CBTSHIP_LIB_SRC))
SAN_LIBCBT_OBJ := $(call obj,san,$(LIBCBT_SRC))
SAN_SHIP_OBJ := $(call obj,san,$(CBTSHIP_LIB_SRC))
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))
HELPER_BINS := $(patsubst tests/helpers/%.c,$(BUILD)/bin/%,$(TEST_HELPERS_SRC))
# Sources with test-only code under #ifdef CBTSHIP_TEST_HOOKS (the view hook
# of backup-create): compiled again with it for build/test-bin/cbtship.
TEST_HOOK_SRC := $(shell grep -l CBTSHIP_TEST_HOOKS $(CBTSHIP_LIB_SRC) 2>/dev/null)
TEST_HOOK_OBJ := $(call obj,test-obj,$(TEST_HOOK_SRC))

MODULE := kmod/dm-cbt.ko
MODULE_DEPS := Kbuild kmod/Kbuild $(wildcard kmod/*.c kmod/*.h kmod/probes/*.c include/uapi/*.h)

.PHONY: all module userspace man deb check unit-tests format lint clean fuzz fuzz-build
# The man pages are part of `all` only where scdoc is installed.
SCDOC ?= scdoc
HAVE_SCDOC := $(shell command -v $(SCDOC) >/dev/null 2>&1 && echo y)
all: module userspace $(if $(HAVE_SCDOC),man)

# ---------------------------------------------------------------- kernel
module: $(MODULE)
$(MODULE): $(MODULE_DEPS)
	@test -d "$(KDIR)" || { echo "no kernel build tree at $(KDIR): run scripts/setup" >&2; exit 1; }
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules

# ---------------------------------------------------------------- userspace
userspace: $(BUILD)/bin/cbtship $(BUILD)/lib/libcbt.a $(HELPER_BINS) $(BUILD)/test-bin/cbtship

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS_COMMON) $(PC_CFLAGS) $(CFLAGS_COMMON) $(OPT_CFLAGS) $(CFLAGS) -c -o $@ $<

$(BUILD)/san/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS_COMMON) $(PC_CFLAGS) $(CFLAGS_COMMON) $(SAN_CFLAGS) -c -o $@ $<

$(BUILD)/lib/libcbt.a: $(REL_LIBCBT_OBJ)
	@mkdir -p $(@D)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/lib/libcbtship.a: $(REL_SHIP_OBJ)
	@mkdir -p $(@D)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/san/libcbt.a: $(SAN_LIBCBT_OBJ)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/san/libcbtship.a: $(SAN_SHIP_OBJ)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/bin/cbtship: $(call obj,obj,$(CBTSHIP_MAIN)) $(BUILD)/lib/libcbtship.a $(BUILD)/lib/libcbt.a
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# The test build of cbtship: the same program with its test hooks. Never
# installed (make deb packages build/bin/cbtship); the guest tests run it
# (scripts/vm-run puts build/test-bin first on PATH). Its hook objects come
# first, so the archive's copies of them are not linked.
$(BUILD)/test-obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS_COMMON) -DCBTSHIP_TEST_HOOKS $(PC_CFLAGS) $(CFLAGS_COMMON) $(OPT_CFLAGS) $(CFLAGS) -c -o $@ $<

$(BUILD)/test-bin/cbtship: $(call obj,obj,$(CBTSHIP_MAIN)) $(TEST_HOOK_OBJ) $(BUILD)/lib/libcbtship.a $(BUILD)/lib/libcbt.a
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# Small programs the tests run (in the guest too): plain builds.
$(BUILD)/bin/%: $(BUILD)/obj/tests/helpers/%.o $(BUILD)/lib/libcbtship.a $(BUILD)/lib/libcbt.a
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# ---------------------------------------------------------------- man pages
# Sources are scdoc (man/*.scd). cbtship(8)'s COMMANDS section is made from
# the built program's own help (man/gen-commands), so it cannot drift.
MAN_PAGES := $(BUILD)/man/cbtship.8 $(BUILD)/man/dm-cbt.4
man: $(MAN_PAGES)

$(BUILD)/man/cbtship.8: man/cbtship.8.scd man/gen-commands $(BUILD)/bin/cbtship
	@mkdir -p $(@D)
	@command -v $(SCDOC) >/dev/null || { echo "make man: scdoc is not installed (scripts/setup)" >&2; exit 1; }
	man/gen-commands $(BUILD)/bin/cbtship >$@.commands
	awk -v f=$@.commands '/^@COMMANDS@$$/ { while ((getline l < f) > 0) print l; next } { print }' \
		man/cbtship.8.scd | $(SCDOC) >$@.tmp
	rm -f $@.commands && mv $@.tmp $@

$(BUILD)/man/%.4: man/%.4.scd
	@mkdir -p $(@D)
	@command -v $(SCDOC) >/dev/null || { echo "make man: scdoc is not installed (scripts/setup)" >&2; exit 1; }
	$(SCDOC) <$< >$@.tmp && mv $@.tmp $@

# ---------------------------------------------------------------- packages
deb: $(BUILD)/bin/cbtship man
	scripts/build-deb $(BUILD)/deb

# ---------------------------------------------------------------- tests
# Unit tests link the sanitizer build of the libraries.
$(BUILD)/tests/%: $(BUILD)/san/tests/unit/%.o $(BUILD)/san/libcbtship.a $(BUILD)/san/libcbt.a
	@mkdir -p $(@D)
	$(CC) -fsanitize=address,undefined -o $@ $^ $(TEST_LDLIBS)

unit-tests: $(UNIT_BINS)

check: all unit-tests
	tests/run

# ---------------------------------------------------------------- fuzzing
# libFuzzer targets (tests/fuzz/fuzz-NAME.c), one per parser of outside
# input. The libraries are built again with clang and coverage
# instrumentation (-fsanitize=fuzzer-no-link) under ASan and UBSan.
FUZZ_CC ?= clang
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_CFLAGS := -Wno-format-nonliteral -O1 -fno-omit-frame-pointer -fsanitize=fuzzer-no-link $(FUZZ_SAN)
FUZZ_SRC := $(sort $(wildcard tests/fuzz/fuzz-*.c))
FUZZ_BINS := $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/bin/%,$(FUZZ_SRC))
FUZZ_LIBCBT_OBJ := $(call obj,fuzz,$(LIBCBT_SRC))
FUZZ_SHIP_OBJ := $(call obj,fuzz,$(CBTSHIP_LIB_SRC))

$(BUILD)/fuzz/%.o: %.c
	@mkdir -p $(@D)
	$(FUZZ_CC) $(CPPFLAGS_COMMON) $(PC_CFLAGS) $(CFLAGS_COMMON) $(FUZZ_CFLAGS) -c -o $@ $<

$(BUILD)/fuzz/libcbtship.a: $(FUZZ_SHIP_OBJ)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/fuzz/libcbt.a: $(FUZZ_LIBCBT_OBJ)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/fuzz/bin/%: $(BUILD)/fuzz/tests/fuzz/%.o $(BUILD)/fuzz/libcbtship.a $(BUILD)/fuzz/libcbt.a
	@mkdir -p $(@D)
	$(FUZZ_CC) -fsanitize=fuzzer $(FUZZ_SAN) -o $@ $^ $(LDLIBS)

fuzz-build: $(FUZZ_BINS)

FUZZ_SECONDS ?= 60
fuzz: fuzz-build
	scripts/fuzz --no-build --seconds $(FUZZ_SECONDS)

# ---------------------------------------------------------------- style
USER_C := $(shell find userspace tests -name '*.[ch]' 2>/dev/null)
format:
	clang-format -i $(USER_C)

lint:
	scripts/lint

clean:
	@if [ -d "$(KDIR)" ]; then $(MAKE) -C $(KDIR) M=$(CURDIR) clean >/dev/null; fi
	rm -rf $(BUILD)
	rm -f kmod/*.o kmod/*.ko kmod/*.mod kmod/*.mod.c kmod/.*.cmd kmod/modules.order \
		Module.symvers modules.order .*.cmd kmod/*.dwo kmod/.*.d

.SECONDARY:

-include $(shell find $(BUILD) -name '*.d' -type f 2>/dev/null)
