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
		-path '*capi/libfabric' -prune -o \
		-type f \( -name '*.go' -o -name '*.c' -o -name '*.h' -o -name '*.s' \) \
		-not -name '*_test.go' -print 2>/dev/null) go.mod go.sum $(MAP)
GO_SRCS  := $(shell find . \( -path ./.git -o -path ./build -o -path ./tests \) -prune -o \
		-type f -name '*.go' -not -name '*_test.go' -print) go.mod go.sum
# A tool is a directory tools/<name>/ holding a main package.
TOOLS    := $(patsubst tools/%/,%,$(sort $(dir $(shell grep -l '^package main$$' \
		$(filter-out %_test.go,$(wildcard tools/*/*.go)) /dev/null))))
EXAMPLES := $(basename $(notdir $(wildcard examples/*.c)))
BINS     := $(addprefix build/bin/,$(TOOLS) $(EXAMPLES))
SELFBENCH := $(wildcard tests/bench/selfbench.c)

export CGO_ENABLED := 1

.PHONY: all lib fabric tools examples demo walkthrough install uninstall test check generate bench fuzz clean help
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

# The libfabric provider "omx" (capi/libfabric/): libfabric loads it from
# FI_PROVIDER_PATH=build/lib/libfabric. Not part of "all": it needs the
# libfabric headers (Debian libfabric-dev), which plain builds may lack.
FABRIC_PROV := build/lib/libfabric/libomx-fi.so
FABRIC_SRCS := $(wildcard capi/libfabric/*.c)
fabric: $(FABRIC_PROV)

$(FABRIC_PROV): $(FABRIC_SRCS) $(HEADERS) $(LIB) $(LIB_LINKS)
	@mkdir -p build/lib/libfabric
	$(CC) -std=gnu99 $(CFLAGS) -fPIC -shared -fvisibility=hidden -I include -o $@.$$$$ \
		$(FABRIC_SRCS) -L build/lib -Wl,-rpath,'$$ORIGIN/..' -lopen-mx -lfabric \
		&& mv -f $@.$$$$ $@; s=$$?; rm -f $@.$$$$; exit $$s

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

# The quick-start demo: omx_perf (0 B to DEMO_MAX bytes, data verified)
# between two network namespaces joined by a veth pair when run as root
# (DEMO=veth), else between two processes of this host over shared memory
# (DEMO=shared: the loopback board, a private OMX_RUNDIR); DEMO=auto picks,
# and falls back to shared when namespaces cannot be made. Every name made
# carries the shell's PID (namespaces omxdemo<pid>A/B, veth omxdemo<pid>a/b,
# temp dir /tmp/omxdemo.*); all are deleted on exit, even after an error or
# ^C, and only the server started here is stopped.
DEMO     ?= auto
DEMO_MAX ?= 4194304
demo: lib build/bin/omx_perf
	@tag=omxdemo$$$$; made=; srv=; perf=$(CURDIR)/build/bin/omx_perf; \
	tmp=$$(mktemp -d /tmp/omxdemo.XXXXXX) || exit 1; \
	cleanup() { \
		[ -n "$$srv" ] && kill "$$srv" 2>/dev/null && wait "$$srv" 2>/dev/null; \
		for n in $$made; do ip netns del "$$n"; done; rm -rf "$$tmp"; }; \
	trap cleanup EXIT; trap 'exit 1' INT TERM HUP; \
	mode='$(DEMO)'; \
	if [ "$$mode" = auto ]; then \
		mode=shared; [ "$$(id -u)" = 0 ] && command -v ip >/dev/null && mode=veth; \
	fi; \
	if [ "$$mode" = veth ]; then \
		if ip netns add $${tag}A 2>"$$tmp/err" && made=$${tag}A && \
		   ip netns add $${tag}B 2>"$$tmp/err" && made="$$made $${tag}B"; then \
			ip -n $${tag}A link add $${tag}a type veth peer name $${tag}b netns $${tag}B && \
			ip -n $${tag}A link set $${tag}a mtu 9000 up && ip -n $${tag}B link set $${tag}b mtu 9000 up && \
			ip -n $${tag}A link set lo up && ip -n $${tag}B link set lo up || exit 1; \
			printf '%s %s:0\n%s %s:0\n' \
				"$$(ip netns exec $${tag}A cat /sys/class/net/$${tag}a/address)" $${tag}-a \
				"$$(ip netns exec $${tag}B cat /sys/class/net/$${tag}b/address)" $${tag}-b >"$$tmp/peers"; \
			mkdir -p "$$tmp/runA" "$$tmp/runB"; \
			echo "demo: omx_perf between network namespaces $${tag}A and $${tag}B over veth (MTU 9000)"; \
			srvcmd="ip netns exec $${tag}B env OMX_IFNAMES=$${tag}b OMX_HOSTNAME=$${tag}-b OMX_RUNDIR=$$tmp/runB OMX_PEERS_FILE=$$tmp/peers"; \
			clicmd="ip netns exec $${tag}A env OMX_IFNAMES=$${tag}a OMX_HOSTNAME=$${tag}-a OMX_RUNDIR=$$tmp/runA OMX_PEERS_FILE=$$tmp/peers"; \
			dest=$${tag}-b:0; \
		else \
			echo "demo: cannot create network namespaces ($$(head -1 "$$tmp/err")): using two processes of this host"; \
			mode=shared; \
		fi; \
	fi; \
	if [ "$$mode" = shared ]; then \
		echo "demo: omx_perf between two processes of this host (shared memory, loopback board)"; \
		srvcmd="env OMX_IFNAMES=lo OMX_RUNDIR=$$tmp/run"; clicmd=$$srvcmd; dest=localhost; \
	elif [ "$$mode" != veth ]; then echo "demo: DEMO=$$mode: want auto, veth or shared" >&2; exit 2; fi; \
	$$srvcmd timeout 300 "$$perf" -V >"$$tmp/server" 2>&1 & srv=$$!; \
	i=0; until grep -q '^Starting receiver' "$$tmp/server"; do \
		i=$$((i + 1)); if [ $$i -gt 1000 ] || ! kill -0 $$srv 2>/dev/null; then \
			echo "demo: the omx_perf server did not start:" >&2; cat "$$tmp/server" >&2; exit 1; fi; \
		sleep 0.01; done; \
	echo "demo: $$perf -d $$dest -V -P 0 -N 20 -W 2 -E $$(($(DEMO_MAX) + 1))"; \
	$$clicmd timeout 300 "$$perf" -d $$dest -V -P 0 -N 20 -W 2 -E $$(($(DEMO_MAX) + 1)) || { \
		echo "demo: omx_perf failed; server output:" >&2; cat "$$tmp/server" >&2; exit 1; }; \
	wait $$srv; rc=$$?; srv=; [ $$rc = 0 ] || { echo "demo: server exit $$rc" >&2; cat "$$tmp/server" >&2; exit 1; }

# The MX API walkthrough (examples/mx_walkthrough.c), the previous demo.
walkthrough: lib build/bin/mx_walkthrough
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

# The same-host part (tests/bench/shmbench.sh: omx_perf between two
# processes, beside Open MPI vader and libfabric shm) needs no privilege; the
# network part (tests/bench/netbench.sh) needs root; without it, it says so
# and succeeds.
bench: lib build/bin/omx_perf
	$(GO) test -run '^$$' -bench . -benchtime $(BENCHTIME) ./...
ifneq ($(SELFBENCH),)
	@mkdir -p build/bin
	$(CC) -std=gnu99 $(CFLAGS) -I include -o build/bin/omx_selfbench $(SELFBENCH) \
		-L build/lib -Wl,-rpath,'$$ORIGIN/../lib' -lmyriexpress -lpthread
	build/bin/omx_selfbench $(BENCH_ARGS)
endif
	OMX_PERF=build/bin/omx_perf bash tests/bench/shmbench.sh
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
	@echo '  fabric         the libfabric provider omx: $(FABRIC_PROV) (needs libfabric-dev)'
	@echo '  tools          build/bin/<name> for each tools/<name>/'
	@echo '  examples       build/bin/<name> for each examples/<name>.c'
	@echo '  demo           omx_perf -V, 0 B to DEMO_MAX: between two namespaces over veth as root,'
	@echo '                 else between two processes of this host (DEMO=auto|veth|shared)'
	@echo '  walkthrough    build and run the MX API walkthrough (examples/mx_walkthrough.c)'
	@echo '  install        lib, headers, pkg-config files, tools and examples under $$(DESTDIR)$$(PREFIX)'
	@echo '  uninstall      remove what install put there (directories stay)'
	@echo '  test           go test -count=1 -timeout 9m ./..., then -race on engine and compat (the test command)'
	@echo '  check          gofmt, go vet, generated files up to date'
	@echo '  generate       regenerate the generated files (tests/abigen, $(MAP))'
	@echo '  bench          Go benchmarks, build/bin/omx_selfbench if tests/bench/selfbench.c exists, the same-host'
	@echo '                 table (omx_perf between two processes, CPU 0/1, vs MPI vader and libfabric shm), then (as root)'
	@echo '                 omx_perf vs raw AF_PACKET (rawpp.c from RAWPP_SRC=$(RAWPP_SRC)) over veth'
	@echo '  fuzz           run each Fuzz* test for FUZZTIME'
	@echo '  clean          remove build/'
	@echo 'Variables (current value):'
	@echo '  PREFIX=$(PREFIX) DESTDIR=$(DESTDIR) LIBDIR=$(LIBDIR) INCLUDEDIR=$(INCLUDEDIR)'
	@echo '  BINDIR=$(BINDIR) PKGCONFIGDIR=$(PKGCONFIGDIR) VERSION=$(VERSION)'
	@echo '  GO=$(GO) CC=$(CC) CFLAGS=$(CFLAGS) CAPI_PKG=$(CAPI_PKG)'
	@echo '  BENCHTIME=$(BENCHTIME) BENCH_ARGS=$(BENCH_ARGS) FUZZTIME=$(FUZZTIME) DEMO=$(DEMO) DEMO_MAX=$(DEMO_MAX)'
