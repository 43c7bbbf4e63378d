# encapsulate - build, test and install.
#
#   make               bin/encapsulate and lib/libencapsulate.so
#   make check         the test suite (pytest), as README.markdown says
#   make demo          run encapsulate on examples/make-project
#   make bench         the benchmark (bench/run.py; BENCH_QUICK=1, BENCH_KERNEL=1);
#                      never part of make check
#   make install PREFIX=/usr/local DESTDIR=
#                      bin, lib/encapsulate and share/man/man1/encapsulate.1
#   make SANITIZE=1    build with AddressSanitizer/UBSan (launcher only:
#                      the shim is preloaded into every program, where ASan
#                      cannot be)

CC      ?= cc
CFLAGS  ?= -O2 -g
WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes
STD     := -std=gnu11
PREFIX  ?= /usr/local
BINDIR  ?= $(PREFIX)/bin
LIBDIR  ?= $(PREFIX)/lib/encapsulate
MANDIR  ?= $(PREFIX)/share/man

LAUNCHER_SOURCES := $(wildcard launcher/*.c)
LAUNCHER_HEADERS := $(wildcard launcher/*.h) shim/event.h
SHIM_SOURCES     := $(wildcard shim/*.c)
SHIM_HEADERS     := $(wildcard shim/*.h) shim/interpose.def

ifeq ($(SANITIZE),1)
LAUNCHER_SANITIZE := -fsanitize=address,undefined -fno-omit-frame-pointer
endif

all: bin/encapsulate lib/libencapsulate.so

bin/encapsulate: $(LAUNCHER_SOURCES) $(LAUNCHER_HEADERS) | bin
	$(CC) $(STD) $(WARN) $(CFLAGS) $(LAUNCHER_SANITIZE) -o $@ $(LAUNCHER_SOURCES) $(LDFLAGS)

# The export list comes from the same table as the wrappers.
shim/libencapsulate.map: shim/interpose.def
	{ echo '{ global:'; \
	  sed -n 's/^SHIM([A-Z0-9_]*, *\([A-Za-z0-9_]*\),.*/  \1;/p' $<; \
	  echo 'local: *; };'; } > $@

lib/libencapsulate.so: $(SHIM_SOURCES) $(SHIM_HEADERS) shim/libencapsulate.map | lib
	$(CC) $(STD) $(WARN) $(CFLAGS) -U_FORTIFY_SOURCE -fPIC -shared -fvisibility=hidden \
	  -Wl,--version-script=shim/libencapsulate.map -Wl,-z,now -o $@ $(SHIM_SOURCES) -ldl

bin lib:
	mkdir -p $@

check: all
	tests/run

demo: all
	examples/demo

bench: all
	python3 bench/run.py

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR) $(DESTDIR)$(MANDIR)/man1
	install -m755 bin/encapsulate $(DESTDIR)$(BINDIR)/encapsulate
	install -m644 lib/libencapsulate.so $(DESTDIR)$(LIBDIR)/libencapsulate.so
	install -m644 encapsulate.1 $(DESTDIR)$(MANDIR)/man1/encapsulate.1

clean:
	rm -rf bin lib shim/libencapsulate.map

.PHONY: all check demo bench install clean
