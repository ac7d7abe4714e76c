# open-mx-go: build, install and test. Run "make help" for the targets.

PREFIX     ?= /usr/local
DESTDIR    ?=
LIBDIR     ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
BINDIR     ?= $(PREFIX)/bin
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
VERSION    ?= 1.5.4-go
# The .pc files say ${prefix}/lib rather than the expanded path when they can.
PC_LIBDIR     = $(patsubst $(PREFIX)/%,$${prefix}/%,$(LIBDIR))
PC_INCLUDEDIR = $(patsubst $(PREFIX)/%,$${prefix}/%,$(INCLUDEDIR))

GO       ?= go
CC       ?= cc
CFLAGS   ?= -O2 -g -Wall -Wextra
CAPI_PKG ?= ./capi
MAP      := capi/myriexpress.map
BENCHTIME ?= 1s
FUZZTIME  ?= 60s
# The raw AF_PACKET ping-pong "make bench" compares omx_perf with (not part
# of the tree: without it the network benchmark has no ceiling column).
RAWPP_SRC ?= ../shared/bench/rawpp/rawpp.c

SONAME := libopen-mx.so.0
LIB    := build/lib/$(SONAME)
# Names linked to $(SONAME): the development names, and the SONAME of
# Myricom's MX, which binaries linked against MX record as DT_NEEDED.
LINKS  := libopen-mx.so libmyriexpress.so libmyriexpress.so.0
LIB_LINKS := $(addprefix build/lib/,$(LINKS))

HEADERS  := $(wildcard include/*.h)
LIB_SRCS := $(shell find $(CAPI_PKG) capi compat engine include internal \
		-type f \( -name '*.go' -o -name '*.c' -o -name '*.h' -o -name '*.s' \) \
		-not -name '*_test.go' 2>/dev/null) go.mod go.sum $(MAP)
GO_SRCS  := $(shell find . \( -path ./.git -o -path ./build -o -path ./tests \) -prune -o \
		-type f -name '*.go' -not -name '*_test.go' -print) go.mod go.sum
# A tool is a directory tools/<name>/ holding a main package.
TOOLS    := $(patsubst tools/%/,%,$(sort $(dir $(shell grep -l '^package main$$' \
		$(filter-out %_test.go,$(wildcard tools/*/*.go)) /dev/null))))
EXAMPLES := $(basename $(notdir $(wildcard examples/*.c)))
BINS     := $(addprefix build/bin/,$(TOOLS) $(EXAMPLES))
SELFBENCH := $(wildcard tests/bench/selfbench.c)

export CGO_ENABLED := 1

.PHONY: all lib tools examples demo install uninstall test check generate bench fuzz clean help
.DELETE_ON_ERROR:

all: lib tools examples

lib: $(LIB) $(LIB_LINKS)

# The library is linked under a private name and moved into place, so a
# concurrent reader (parallel test binaries run "make -s lib") never sees a
# half-written file; Go's generated header is removed.
$(LIB): $(LIB_SRCS)
	@mkdir -p build/lib
	$(GO) build -buildmode=c-shared -o $@.$$$$ \
		-ldflags '-extldflags "-Wl,--version-script=$(CURDIR)/$(MAP) -Wl,-soname,$(SONAME)"' \
		$(CAPI_PKG) && mv -f $@.$$$$ $@; s=$$?; rm -f $@.$$$$ build/lib/*.h; exit $$s

$(LIB_LINKS): $(LIB)
	ln -sfn $(SONAME) $@

tools: $(addprefix build/bin/,$(TOOLS))

$(addprefix build/bin/,$(TOOLS)): build/bin/%: $(GO_SRCS)
	@mkdir -p build/bin
	$(GO) build -o $@ ./tools/$*

examples: $(addprefix build/bin/,$(EXAMPLES))

# $ORIGIN/../lib finds the library both in build/ and after "make install".
$(addprefix build/bin/,$(EXAMPLES)): build/bin/%: examples/%.c $(HEADERS) $(LIB) $(LIB_LINKS)
	@mkdir -p build/bin
	$(CC) -std=gnu99 $(CFLAGS) -I include -o $@ $< \
		-L build/lib -Wl,-rpath,'$$ORIGIN/../lib' -lmyriexpress -lpthread

# The quick-start demo: the MX API walkthrough, run from build/.
demo: lib build/bin/mx_walkthrough
	build/bin/mx_walkthrough

install: all
	install -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(PKGCONFIGDIR) $(DESTDIR)$(BINDIR)
	install -m 755 $(LIB) $(DESTDIR)$(LIBDIR)/$(SONAME)
	for l in $(LINKS); do ln -sfn $(SONAME) $(DESTDIR)$(LIBDIR)/$$l; done
	$(if $(HEADERS),install -m 644 $(HEADERS) $(DESTDIR)$(INCLUDEDIR)/)
	for pc in myriexpress open-mx; do \
		sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@LIBDIR@|$(PC_LIBDIR)|g' \
		    -e 's|@INCLUDEDIR@|$(PC_INCLUDEDIR)|g' -e 's|@VERSION@|$(VERSION)|g' \
		    $$pc.pc.in >$(DESTDIR)$(PKGCONFIGDIR)/$$pc.pc || exit 1; \
	done
	$(if $(BINS),install -m 755 $(BINS) $(DESTDIR)$(BINDIR)/)

# Removes exactly what "install" put there; directories stay.
uninstall:
	rm -f $(addprefix $(DESTDIR)$(LIBDIR)/,$(SONAME) $(LINKS)) \
		$(addprefix $(DESTDIR)$(INCLUDEDIR)/,$(notdir $(HEADERS))) \
		$(addprefix $(DESTDIR)$(PKGCONFIGDIR)/,myriexpress.pc open-mx.pc) \
		$(addprefix $(DESTDIR)$(BINDIR)/,$(TOOLS) $(EXAMPLES))

# Every test, then the pure packages again under the race detector (it
# cannot run inside the c-shared library).
test:
	$(GO) test -count=1 -timeout 9m ./...
	$(GO) test -count=1 -race ./engine/... ./compat/...

check:
	@bad=$$(gofmt -l $$(find . \( -path ./.git -o -path ./build -o -name testdata \) -prune \
		-o -name '*.go' -print)); \
	if [ -n "$$bad" ]; then echo "gofmt needed:"; echo "$$bad"; exit 1; fi
	$(GO) vet ./...
	$(GO) run ./tests/abigen -check
	$(GO) run capi/mkmap.go -check

generate:
	$(GO) run ./tests/abigen
	$(GO) run capi/mkmap.go

# The network part (tests/bench/netbench.sh) needs root; without it, it
# says so and succeeds.
bench: lib build/bin/omx_perf
	$(GO) test -run '^$$' -bench . -benchtime $(BENCHTIME) ./...
ifneq ($(SELFBENCH),)
	@mkdir -p build/bin
	$(CC) -std=gnu99 $(CFLAGS) -I include -o build/bin/omx_selfbench $(SELFBENCH) \
		-L build/lib -Wl,-rpath,'$$ORIGIN/../lib' -lmyriexpress -lpthread
	build/bin/omx_selfbench $(BENCH_ARGS)
endif
	OMX_PERF=build/bin/omx_perf RAWPP_SRC='$(RAWPP_SRC)' CC='$(CC)' bash tests/bench/netbench.sh

# Fuzzes each Fuzz* target for FUZZTIME, one at a time (go test -fuzz takes
# one target of one package).
fuzz:
	@grep -r -o --include='*_test.go' --exclude-dir=build --exclude-dir=.git \
		'^func Fuzz[A-Za-z0-9_]*' . | sort -u | while IFS=: read -r file fn; do \
		name=$${fn#func }; dir=$$(dirname "$$file"); \
		echo "fuzz $$name in $$dir for $(FUZZTIME)"; \
		$(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 2s "$$dir" || exit 1; \
	done

clean:
	rm -rf build

help:
	@echo 'Targets:'
	@echo '  all (default)  lib, tools and examples'
	@echo '  lib            build/lib/$(SONAME) and the links $(LINKS)'
	@echo '  tools          build/bin/<name> for each tools/<name>/'
	@echo '  examples       build/bin/<name> for each examples/<name>.c'
	@echo '  demo           build and run the MX API walkthrough (examples/mx_walkthrough.c)'
	@echo '  install        lib, headers, pkg-config files, tools and examples under $$(DESTDIR)$$(PREFIX)'
	@echo '  uninstall      remove what install put there (directories stay)'
	@echo '  test           go test -count=1 -timeout 9m ./..., then -race on engine and compat (the test command)'
	@echo '  check          gofmt, go vet, generated files up to date'
	@echo '  generate       regenerate the generated files (tests/abigen, $(MAP))'
	@echo '  bench          Go benchmarks, build/bin/omx_selfbench if tests/bench/selfbench.c exists, then (as root)'
	@echo '                 omx_perf vs raw AF_PACKET (rawpp.c from RAWPP_SRC=$(RAWPP_SRC)) over veth'
	@echo '  fuzz           run each Fuzz* test for FUZZTIME'
	@echo '  clean          remove build/'
	@echo 'Variables (current value):'
	@echo '  PREFIX=$(PREFIX) DESTDIR=$(DESTDIR) LIBDIR=$(LIBDIR) INCLUDEDIR=$(INCLUDEDIR)'
	@echo '  BINDIR=$(BINDIR) PKGCONFIGDIR=$(PKGCONFIGDIR) VERSION=$(VERSION)'
	@echo '  GO=$(GO) CC=$(CC) CFLAGS=$(CFLAGS) CAPI_PKG=$(CAPI_PKG)'
	@echo '  BENCHTIME=$(BENCHTIME) BENCH_ARGS=$(BENCH_ARGS) FUZZTIME=$(FUZZTIME)'
