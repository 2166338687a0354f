# cgrouparch — top-level build. `make`, `make test`, `make bench`, `make fuzz`, `make run`,
# `make install` (PREFIX, DESTDIR), `make uninstall`, `make clean`. `make V=1` for verbose.
VERSION    := 0.1.0
PREFIX     ?= /usr/local
BINDIR     ?= $(PREFIX)/bin
SBINDIR    ?= $(PREFIX)/sbin
LIBDIR     ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
DATADIR    ?= $(PREFIX)/share
MANDIR     ?= $(DATADIR)/man
SYSCONFDIR ?= /etc
UNITDIR    ?= $(PREFIX)/lib/systemd/system
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig

CC       ?= cc
O        := build
WARN     := -Wall -Wextra -Wshadow -Wmissing-prototypes -Wstrict-prototypes -Werror
CFLAGS   ?= -O2 -g -D_FORTIFY_SOURCE=2
CFLAGS   += -std=gnu11 $(WARN) -fPIC -D_GNU_SOURCE -DTHREADED -iquote common -Iinclude \
            -DCGARCH_VERSION=\"$(VERSION)\" -DCGARCH_WWW_DIR=\"$(DATADIR)/cgrouparch/www\" \
            $(shell pkg-config --cflags libcjson hiredis libwebsockets libsystemd inih libcrypto 2>/dev/null)
LDLIBS   := -Wl,--as-needed $(shell pkg-config --libs libcjson hiredis libwebsockets libsystemd inih libcrypto 2>/dev/null) \
            -lzookeeper_mt -lev -lpthread -lm

ifeq ($(V),1)
Q :=
else
Q := @
endif

COMMON_SRC := $(wildcard common/*.c)
COMMON_OBJ := $(COMMON_SRC:%.c=$(O)/obj/%.o)
LIB_A      := $(O)/libcgarch.a
DAEMON_INC := -iquote cg-syncd -iquote cg-taskd -iquote cg-accountd -iquote cg-wsd
LIB_SO     := $(O)/libcgarch.so.0
DAEMONS    := cg-syncd cg-taskd cg-accountd cg-wsd
PROGS      := $(DAEMONS) cgarch
BINS       := $(PROGS:%=$(O)/%)
UNIT_SRC   := $(wildcard tests/unit/test-*.c)
UNIT_BINS  := $(UNIT_SRC:tests/unit/%.c=$(O)/tests/%)
TOOL_SRC   := $(wildcard tests/tools/*.c)
TOOL_BINS  := $(TOOL_SRC:tests/tools/%.c=$(O)/tests/tools/%)
BENCH_SRC  := $(wildcard tests/bench/*.c)
BENCH_BINS := $(BENCH_SRC:tests/bench/%.c=$(O)/bench/%)

all: $(BINS) $(LIB_SO) $(O)/cgrouparch.pc

# The install paths compiled in (the page's directory) and written into cgrouparch.pc are recorded
# in $(O)/paths.stamp: a build for another PREFIX/DATADIR/LIBDIR (e.g. `make` then `make install
# PREFIX=/usr`) rewrites the stamp, and everything that depends on it is rebuilt, so the installed
# cg-wsd always looks for its page where `make install` put it.
PATHS := PREFIX=$(PREFIX) DATADIR=$(DATADIR) LIBDIR=$(LIBDIR) INCLUDEDIR=$(INCLUDEDIR)
$(O)/paths.stamp: FORCE
	@mkdir -p $(dir $@)
	@if [ "$$(cat $@ 2>/dev/null)" != "$(PATHS)" ]; then \
	  [ -f $@ ] && echo "  PATHS   $(PATHS) (was: $$(cat $@)): rebuilding"; \
	  echo "$(PATHS)" > $@; fi
FORCE:

$(O)/obj/%.o: %.c $(O)/paths.stamp
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CFLAGS) $(CPPFLAGS) -MMD -MP -c -o $@ $<

$(LIB_A): $(COMMON_OBJ)
	@$(if $(Q),echo "  AR      $@")
	$(Q)rm -f $@ && ar rcs $@ $^

# The shared library exports exactly the public API (include/libcgarch.sym); the daemons and
# tests link the static libcgarch.a, which keeps every symbol.
$(LIB_SO): $(COMMON_OBJ) include/libcgarch.sym
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) -shared -Wl,-soname,libcgarch.so.0 -Wl,--version-script=include/libcgarch.sym \
	  -o $@ $(COMMON_OBJ) $(LDFLAGS) $(LDLIBS)
	$(Q)ln -sf libcgarch.so.0 $(O)/libcgarch.so

$(O)/cgrouparch.pc: cgrouparch.pc.in Makefile $(O)/paths.stamp
	$(Q)sed -e 's|@PREFIX@|$(PREFIX)|; s|@LIBDIR@|$(LIBDIR)|; s|@INCLUDEDIR@|$(INCLUDEDIR)|; s|@VERSION@|$(VERSION)|' $< > $@

# Objects given in LDFLAGS (the sanitizer build's report hook) are linked into every program.
LINK_OBJS := $(filter %.o,$(LDFLAGS))

# Each program: its main.c + a static library of the rest of its directory (build/prog/lib<prog>.a,
# which its unit tests and fuzz targets link too) + libcgarch.a.
define prog_rule
$(O)/prog/lib$(1).a: $$(patsubst %.c,$(O)/obj/%.o,$$(filter-out $(1)/main.c,$$(wildcard $(1)/*.c)))
	@$$(if $$(Q),echo "  AR      $$@")
	@mkdir -p $$(dir $$@)
	$$(Q)rm -f $$@ && ar rcs $$@ $$^
$(O)/$(1): $(O)/obj/$(1)/main.o $(O)/prog/lib$(1).a $(LIB_A) $(LINK_OBJS)
	@$$(if $$(Q),echo "  LD      $$@")
	$$(Q)$$(CC) -o $$@ $(O)/obj/$(1)/main.o $(O)/prog/lib$(1).a $(LIB_A) $$(LDFLAGS) $$(LDLIBS)
endef
$(foreach p,$(PROGS),$(eval $(call prog_rule,$(p))))
DAEMON_LIBS := $(DAEMONS:%=$(O)/prog/lib%.a)
# The CLI's pure modules (why.c, top.c) are unit-tested too: its library (not main.c) is linked
# after the daemons'.
CLI_LIB := $(O)/prog/libcgarch.a

# Unit tests link the daemons' static libraries (each test pulls only the objects it uses).
$(O)/tests/%: tests/unit/%.c tests/unit/tap.h $(DAEMON_LIBS) $(CLI_LIB) $(LIB_A) $(LINK_OBJS) $(wildcard cg-*/*.c cg-*/*.h cgarch/*.h)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $@")
	$(Q)$(CC) $(CFLAGS) $(DAEMON_INC) -iquote cgarch -Itests/unit -o $@ $< $(DAEMON_LIBS) $(CLI_LIB) $(LIB_A) $(LDFLAGS) $(LDLIBS)

$(O)/tests/tools/%: tests/tools/%.c $(DAEMON_LIBS) $(LIB_A) $(LINK_OBJS)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $@")
	$(Q)$(CC) $(CFLAGS) $(DAEMON_INC) -o $@ $< $(DAEMON_LIBS) $(LIB_A) $(LDFLAGS) $(LDLIBS)

# Test helpers that only generate load or play a service, with no project code in them: built
# without sanitizers also in build-asan/, so the sanitizer pass slows the programs under test, not
# the load (an ASan CPU burner's startup and leak check at exit were charged to its cgroup).
LOAD_TOOLS := acctd-burn taskd-flood taskd-tree ws-load ws-bench
NOSAN = $(filter-out -fsanitize% -fno-sanitize% %.o,$(1))
$(LOAD_TOOLS:%=$(O)/tests/tools/%): $(O)/tests/tools/%: tests/tools/%.c $(wildcard tests/tools/*.h)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $@")
	$(Q)$(CC) $(call NOSAN,$(CFLAGS)) -o $@ $< $(call NOSAN,$(LDFLAGS)) $(LDLIBS)

$(O)/bench/%: tests/bench/%.c $(DAEMON_LIBS) $(LIB_A)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $@")
	$(Q)$(CC) $(CFLAGS) $(DAEMON_INC) -o $@ $< $(DAEMON_LIBS) $(LIB_A) $(LDFLAGS) $(LDLIBS)

tests-build: all $(UNIT_BINS) $(TOOL_BINS)

deps:
	$(Q)scripts/deps

# One command for a new user: installs what is missing, builds, runs every test.
# `make test` runs the whole suite, then the unit and integration tests again against a build with
# AddressSanitizer and UndefinedBehaviorSanitizer (build-asan/; the daemons and the CLI run
# sanitized against the real services, any report fails its test); one summary line counts both.
# ASAN=unit keeps that pass to the unit tests, ASAN=0 skips it; `make test-asan` runs the sanitizer
# pass alone (`make test-asan TESTS=substring`).
ASAN ?= 1
test:
	$(Q)scripts/deps --if-missing
	$(Q)$(MAKE) --no-print-directory tests-build
	$(Q)tests/vm/ensure-image.sh --retry >/dev/null || true # the VM tests' guest (once, 10-15 min)
ifneq ($(ASAN),0)
	$(Q)$(MAKE) --no-print-directory asan-build
	$(Q)CGARCH_ASAN_BUILD=$(CURDIR)/build-asan $(if $(filter unit,$(ASAN)),CGARCH_ASAN_UNIT_ONLY=1) tests/run
else
	$(Q)tests/run
endif

# The sanitizer build alone, and the sanitizer pass alone against it (tests/run does the options).
# Every program in it links tests/sanitizer/report-hook.c (not instrumented), which copies what
# the sanitizer runtimes print into a file per process for tests/run.
ASAN_FLAGS := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
SAN_HOOK := build-asan/san-report-hook.o
asan-build:
	@mkdir -p build-asan
	$(Q)$(CC) -O1 -g -fPIC $(WARN) -D_GNU_SOURCE -c -o $(SAN_HOOK).tmp tests/sanitizer/report-hook.c
	$(Q)cmp -s $(SAN_HOOK).tmp $(SAN_HOOK) && rm -f $(SAN_HOOK).tmp || mv -f $(SAN_HOOK).tmp $(SAN_HOOK)
	$(Q)CFLAGS="$(ASAN_FLAGS)" LDFLAGS="-fsanitize=address,undefined $(CURDIR)/$(SAN_HOOK)" \
	  $(MAKE) --no-print-directory O=build-asan tests-build
test-asan: asan-build
	$(Q)CGARCH_ASAN_BUILD=$(CURDIR)/build-asan CGARCH_ASAN_ONLY=1 tests/run $(TESTS)

# Debian packages (debian/): cgrouparch, libcgarch0, libcgarch-dev into build/deb/, lintian-checked.
deb:
	$(Q)scripts/deps --if-missing
	$(Q)scripts/make-deb $(O)/deb

bench:
	$(Q)scripts/deps --if-missing
	$(Q)$(MAKE) --no-print-directory all $(BENCH_BINS) $(TOOL_BINS)
	$(Q)tests/bench/run

# The fleet of issue 17: a 3-server ZooKeeper ensemble and FLEET_N (50) hosts in network
# namespaces; figures into BENCHMARKS.md and docs/fleet.md (tests/fleet/run).
fleet:
	$(Q)scripts/deps --if-missing
	$(Q)$(MAKE) --no-print-directory all
	$(Q)FLEET_N=$(or $(FLEET_N),50) tests/fleet/run

fuzz:
	$(Q)scripts/deps --if-missing
	$(Q)tests/fuzz/run $(FUZZ_SECONDS)

run:
	$(Q)scripts/deps --if-missing
	$(Q)$(MAKE) --no-print-directory all
	$(Q)scripts/run-demo

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(SBINDIR) $(DESTDIR)$(LIBDIR) \
	  $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(PKGCONFIGDIR) $(DESTDIR)$(UNITDIR) \
	  $(DESTDIR)$(DATADIR)/cgrouparch/www $(DESTDIR)$(SYSCONFDIR)/cgrouparch \
	  $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8
	install -m 0755 $(O)/cgarch $(DESTDIR)$(BINDIR)/cgarch
	install -m 0755 $(DAEMONS:%=$(O)/%) $(DESTDIR)$(SBINDIR)/
	install -m 0755 $(LIB_SO) $(DESTDIR)$(LIBDIR)/libcgarch.so.0
	ln -sf libcgarch.so.0 $(DESTDIR)$(LIBDIR)/libcgarch.so
	install -m 0644 $(LIB_A) $(DESTDIR)$(LIBDIR)/libcgarch.a
	install -m 0644 include/cgrouparch.h $(DESTDIR)$(INCLUDEDIR)/cgrouparch.h
	install -m 0644 $(O)/cgrouparch.pc $(DESTDIR)$(PKGCONFIGDIR)/cgrouparch.pc
	$(if $(wildcard units/*.service units/*.target),install -m 0644 $(wildcard units/*.service units/*.target) $(DESTDIR)$(UNITDIR)/)
	$(if $(wildcard units/*.conf),install -d $(DESTDIR)$(DATADIR)/doc/cgrouparch && install -m 0644 $(wildcard units/*.conf) $(DESTDIR)$(DATADIR)/doc/cgrouparch/)
	$(if $(wildcard www/*),install -m 0644 $(wildcard www/*) $(DESTDIR)$(DATADIR)/cgrouparch/www/)
	$(if $(wildcard man/*.1),install -m 0644 $(wildcard man/*.1) $(DESTDIR)$(MANDIR)/man1/)
	$(if $(wildcard man/*.5),install -m 0644 $(wildcard man/*.5) $(DESTDIR)$(MANDIR)/man5/)
	$(if $(wildcard man/*.8),install -m 0644 $(wildcard man/*.8) $(DESTDIR)$(MANDIR)/man8/)
	# The configs hold credentials (ZooKeeper identity, Redis password, token): 0640, never
	# overwritten by a reinstall.
	# Its commented www_dir names the page directory of this PREFIX (the compiled-in default).
	test -e $(DESTDIR)$(SYSCONFDIR)/cgrouparch/cgrouparch.conf || { \
	  sed 's|^#www_dir = .*|#www_dir = $(DATADIR)/cgrouparch/www|' cgrouparch.conf.example \
	    > $(O)/cgrouparch.conf.installed && \
	  install -m 0640 $(O)/cgrouparch.conf.installed $(DESTDIR)$(SYSCONFDIR)/cgrouparch/cgrouparch.conf; }
	test -e $(DESTDIR)$(SYSCONFDIR)/cgrouparch/cg-wsd.conf || \
	  install -m 0640 cg-wsd.conf.example $(DESTDIR)$(SYSCONFDIR)/cgrouparch/cg-wsd.conf

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/cgarch $(DAEMONS:%=$(DESTDIR)$(SBINDIR)/%) \
	  $(DESTDIR)$(LIBDIR)/libcgarch.so.0 $(DESTDIR)$(LIBDIR)/libcgarch.so $(DESTDIR)$(LIBDIR)/libcgarch.a \
	  $(DESTDIR)$(INCLUDEDIR)/cgrouparch.h $(DESTDIR)$(PKGCONFIGDIR)/cgrouparch.pc \
	  $(patsubst units/%,$(DESTDIR)$(UNITDIR)/%,$(wildcard units/*.service units/*.target)) \
	  $(patsubst man/%.1,$(DESTDIR)$(MANDIR)/man1/%.1,$(wildcard man/*.1)) \
	  $(patsubst man/%.5,$(DESTDIR)$(MANDIR)/man5/%.5,$(wildcard man/*.5)) \
	  $(patsubst man/%.8,$(DESTDIR)$(MANDIR)/man8/%.8,$(wildcard man/*.8))
	rm -rf $(DESTDIR)$(DATADIR)/cgrouparch $(DESTDIR)$(DATADIR)/doc/cgrouparch
	@echo "kept $(DESTDIR)$(SYSCONFDIR)/cgrouparch/cgrouparch.conf and cg-wsd.conf (remove them by hand if wanted)"

clean:
	rm -rf $(O)

# Header dependencies of every object, written by the compiler (-MMD -MP).
-include $(shell find $(O)/obj -name '*.d' 2>/dev/null)

.PHONY: FORCE all deps deb test test-asan asan-build tests-build bench fleet fuzz run install uninstall clean
.SUFFIXES:
