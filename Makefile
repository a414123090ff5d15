# minirun — build, install, test.
#   sudo make install busybox-image && sudo minirun run busybox sh
#   sudo make test
# sudo resets PATH, so Go is looked for where the official tarball puts it too.
GO ?= $(shell command -v go 2>/dev/null || echo /usr/local/go/bin/go)
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
MINIRUN_DATA_ROOT ?= /var/lib/minirun
export MINIRUN_DATA_ROOT

# cgo is on: `exec` needs namespaces/nsenter, C that runs before the Go
# runtime starts. The binary must stay static all the same, because
# `run --init` bind-mounts it into containers that have no C library:
# -extldflags -static, and the netgo/osusergo tags so that nothing asks
# glibc's NSS for names at run time. MINIRUN_BUILD is the one definition:
# vmtest-build, the integration tests and bench/*.sh go through it
# (`make build MINIRUN_OUT=path`).
#
# The C is compiled and linked with musl (musl-gcc, Debian's musl-tools) when
# it is there, else with gcc and glibc. glibc's static start-up asks the CPU
# for its cache sizes with dozens of CPUID instructions, and in a virtual
# machine each one traps to the hypervisor: ~0.4-0.8 ms of CPU measured here
# for every minirun process, the runtime's and each container init's alike.
# musl's start-up asks nothing (see docs/PERFORMANCE.md).
MINIRUN_CC ?= $(shell command -v musl-gcc 2>/dev/null || echo gcc)
GOFLAGS_BUILD = CGO_ENABLED=1 CC=$(MINIRUN_CC) CGO_CFLAGS='-O2 -g -DMINIRUN_STAMP="$(MINIRUN_STAMP)"' 
MINIRUN_OUT ?= bin/minirun
MINIRUN_BUILD = $(GOFLAGS_BUILD) $(GO) build -trimpath -tags netgo,osusergo -ldflags "-s -w -extldflags -static -X main.version=$(VERSION) -X main.commit=$(COMMIT) -X github.com/minirun/minirun/container.BuildStamp=$(MINIRUN_STAMP)"
# `build` makes two programs: minirun, and beside it minirun-init, what runs
# inside a container before its own program (init, exec's helper, the
# `run --init` reaper), the container package linked without the rest: it
# starts faster. Both are stamped with a hash of the sources they were built
# from, and minirun runs the minirun-init beside it only when the stamps
# agree (container/initbin.go); without one it runs its own init.
MINIRUN_STAMP := $(shell find . \( -path ./bin -o -path ./.git \) -prune -o -type f \( -name '*.go' -o -name '*.c' -o -name '*.h' -o -name go.mod -o -name go.sum \) -print 2>/dev/null | LC_ALL=C sort | xargs cat 2>/dev/null | sha256sum | cut -c1-16)
MINIRUN_INIT_OUT = $(dir $(MINIRUN_OUT))minirun-init
# encoding/json on its v2 implementation (GOEXPERIMENT=jsonv2, Go 1.25+): the
# same v1 API and behaviour, but a first decode of config.json no longer
# builds an encoder for every type the runtime-spec has (v1's typeFields
# does): ~1 ms less CPU per container start, paid in the runtime (LoadSpec)
# and in init (its configuration). Exported, so the tests build and run what
# ships; a plain `go build ./cmd/minirun` works too, a little slower.
GOEXPERIMENT ?= jsonv2
export GOEXPERIMENT
VERSION := $(shell git describe --always --dirty 2>/dev/null || echo dev)
COMMIT := $(shell git rev-parse HEAD 2>/dev/null)

.PHONY: all build build-deps test-deps install uninstall busybox-image deps test unit vet bench bench-pull bench-network bench-lifecycle bench-cgroups vmtest vmtest-build conformance clean

all: build

build:
	$(MINIRUN_BUILD) -o $(MINIRUN_OUT) ./cmd/minirun
	$(MINIRUN_BUILD) -o $(MINIRUN_INIT_OUT) ./cmd/minirun-init

# The binary, its bash/zsh/fish completions and its man pages, all made by
# the binary from its command definitions, and a manifest of them in
# $(PREFIX)/share/minirun: uninstall removes exactly those (and the
# directories install created). scripts/install.sh; make test-install.
install: build-deps build
	BIN=$(MINIRUN_OUT) DESTDIR="$(DESTDIR)" PREFIX="$(PREFIX)" BINDIR="$(BINDIR)" scripts/install.sh install

uninstall:
	DESTDIR="$(DESTDIR)" PREFIX="$(PREFIX)" BINDIR="$(BINDIR)" scripts/install.sh uninstall

# Debian's packages the project needs: busybox-static for the offline
# busybox image (and the tests). Nothing is installed if it is already there.
deps:
	@if [ ! -x /bin/busybox ]; then \
		echo "installing busybox-static (Debian) for the offline busybox image"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq busybox-static; \
	fi

# The build needs a C compiler (namespaces/nsenter is C, linked statically),
# and prefers musl (see MINIRUN_CC): without musl-tools it builds with glibc.
build-deps:
	@if ! command -v gcc >/dev/null || [ ! -e /usr/include/stdio.h ]; then \
		echo "installing gcc and libc6-dev (Debian) for the static cgo build"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gcc libc6-dev; \
	fi
	@if ! command -v musl-gcc >/dev/null; then \
		echo "installing musl-tools (Debian) for a faster-starting static build"; \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq musl-tools; } || \
			echo "musl-tools not installed: building with glibc (starts slower)"; \
	fi

# What the tests drive besides minirun: jq, strace (threads_test.go), and the engines of tests/engines
# (podman, dockerd, containerd). Nothing is installed if it is there.
test-deps: deps build-deps
	@missing=""; for p in jq:jq strace:strace podman:podman dockerd:docker.io containerd:containerd; do \
		command -v $${p%%:*} >/dev/null || missing="$$missing $${p#*:}"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing$$missing (Debian) for the tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

# The offline busybox image, built from Debian's busybox-static: no registry
# needed. Skipped when the store already has busybox:latest.
busybox-image: deps build-deps build
	@if bin/minirun images | grep -q '^busybox  *latest '; then \
		echo "busybox:latest is already in $(MINIRUN_DATA_ROOT)"; \
	else \
		scripts/busybox-rootfs.sh | bin/minirun import -c 'CMD ["sh"]' - busybox:latest; \
	fi

vet:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed: $$out"; exit 1; fi
	$(GO) vet ./...

# Unit tests run anywhere; the integration tests in tests/integration run
# real containers and need root (as another user they skip, saying so).
unit:
	$(GO) test -count=1 $$($(GO) list ./... | grep -v /tests/)

# The unit packages first, then the integration tests on their own: the
# network package's tests and the integration tests both change the host's
# ip_forward and restore it, so they must not overlap.
test: test-deps vet
	$(GO) test -count=1 -timeout 10m $$($(GO) list ./... | grep -v /tests/)
	$(GO) test -count=1 -timeout 20m ./tests/...
	$(MAKE) test-install
	$(MAKE) fuzz FUZZTIME=5s
	@if [ "$$(id -u)" -eq 0 ]; then $(MAKE) labs; else echo "labs: skipped, the workshop labs need root"; fi
	@if [ "$$(id -u)" -eq 0 ]; then $(MAKE) vmtest; else echo "vmtest: skipped, the cgroup-v2 VM needs root"; fi

# The root tests again, on a pure cgroup-v2 kernel: Debian's kernel under
# qemu (vmtest/), with static test binaries, minirun and the busybox rootfs.
VMTEST_DIR ?= $(CURDIR)/bin/vmtest
VMTEST_BUILD = CGO_ENABLED=0 GOAMD64=v1
vmtest-build:
	rm -rf $(VMTEST_DIR) && mkdir -p $(VMTEST_DIR)
	GOAMD64=v1 $(MINIRUN_BUILD) -o $(VMTEST_DIR)/minirun ./cmd/minirun
	GOAMD64=v1 $(MINIRUN_BUILD) -o $(VMTEST_DIR)/minirun-init ./cmd/minirun-init
	$(VMTEST_BUILD) $(GO) test -c -o $(VMTEST_DIR)/cgroups.test ./cgroups/
	$(VMTEST_BUILD) $(GO) test -c -o $(VMTEST_DIR)/integration.test ./tests/integration/
	$(VMTEST_BUILD) $(GO) build -o $(VMTEST_DIR)/udpecho ./tests/integration/testdata/udpecho
	scripts/busybox-rootfs.sh > $(VMTEST_DIR)/busybox.tar
	vmtest/deps.sh

vmtest: vmtest-build
	vmtest/run.sh --mem 2G --timeout 1200 --files $(VMTEST_DIR) -- sh -c '\
		echo "== cgroups package on $$(uname -r), cgroup v2" && ./cgroups.test -test.count=1 && \
		echo "== integration tests on cgroup v2" && \
		MINIRUN_TEST_BINARY=/work/minirun MINIRUN_TEST_BUSYBOX_TAR=/work/busybox.tar MINIRUN_TEST_UDPECHO=/work/udpecho ./integration.test -test.v'

# Cost of a container's cgroup on this host, and on cgroup v2 in the VM:
# setup+teardown alone, and `run --rm busybox true` with and without limits.
bench-cgroups: vmtest-build
	$(GO) test -run '^$$' -bench SetupTeardown -benchtime 200x ./cgroups/
	$(GO) test -run '^$$' -bench Run -benchtime 30x ./tests/integration/
	vmtest/run.sh --mem 2G --timeout 1200 --files $(VMTEST_DIR) -- sh -c '\
		./cgroups.test -test.run "^$$" -test.bench SetupTeardown -test.benchtime 100x && \
		MINIRUN_TEST_BINARY=/work/minirun MINIRUN_TEST_BUSYBOX_TAR=/work/busybox.tar \
		./integration.test -test.run "^$$" -test.bench Run -test.benchtime 20x'

bench: build
	MINIRUN=$(CURDIR)/bin/minirun bench/startup.sh

# Pull + unpack of a 5-layer image from a loopback registry, against
# skopeo copy + umoci unpack and podman pull (Debian packages).
bench-pull:
	bench/pull.sh

# Bridge networking: setup+teardown per container (bridge vs --network none)
# and TCP throughput container -> host over the veth vs loopback (iperf3).
bench-network: build
	MINIRUN=$(CURDIR)/bin/minirun bench/network.sh

# 100 detached containers on one bridge network: start, ps, the monitors'
# memory, exec against runc exec, rm -f (bench/README.md).
bench-lifecycle: build
	MINIRUN=$(CURDIR)/bin/minirun bench/lifecycle.sh

# The OCI runtime-spec's conformance suite (runtime-tools validation) against
# minirun, runc and crun: tests/conformance/README.md. Needs root.
conformance: build
	MINIRUN=$(CURDIR)/bin/minirun tests/conformance/run.sh

clean:
	rm -rf bin

# The whole benchmark suite, one script after another; writes the tables,
# the machine and the method to docs/PERFORMANCE.md (bench/all.sh).
.PHONY: bench-all bench-engines
bench-all: build
	MINIRUN=$(CURDIR)/bin/minirun bench/all.sh

# minirun run against docker run, podman run and ctr run (bench/engines.sh).
bench-engines:
	bench/engines.sh

# The CLI's generated files. golden: rewrite cmd/minirun/testdata (the help
# of every command, every man page) after changing a command or a flag;
# `go test ./cmd/minirun` fails while they are stale. man: the man pages
# into bin/man (man -l bin/man/minirun-run.1). test-install: make install
# DESTDIR=... then make uninstall leaves DESTDIR as it was (no root needed).
.PHONY: golden man test-install
golden:
	$(GO) test -count=1 ./cmd/minirun -run Golden -update
	$(GO) test -count=1 ./cmd/minirun -run Golden

man: build
	rm -rf bin/man
	env -i MINIRUN_CONFIG=/dev/null $(MINIRUN_OUT) __man bin/man

test-install:
	scripts/test-install.sh

# The workshop labs (examples/): each lab's run.sh, then its check.sh ("check
# your work"), with the binary just built and private state and data roots
# (busybox imported there), default bridge, nftables table and subnet, all
# removed at the end. Needs root; a lab that cannot run here says why and
# is skipped (containerd or Go missing).
.PHONY: labs
labs: build
	MINIRUN=$(CURDIR)/bin/minirun examples/check-all.sh --private

# Fuzzing (go test -fuzz): every fuzz target, one after another, for
# FUZZTIME each (CI: `make fuzz FUZZTIME=10s`). The seed corpora live in
# the packages' testdata/fuzz/FuzzXxx/ and also run in plain `go test`.
# As root, the layer fuzzers unpack inside a chroot sandbox (image/fuzz_test.go).
.PHONY: fuzz
FUZZTIME ?= 10s
FUZZ_TARGETS = \
	engine:FuzzParsePublish engine:FuzzParseExposed engine:FuzzParseVolumeFlag \
	engine:FuzzParseMountFlag engine:FuzzParseTmpfsFlag \
	image:FuzzNormalizeRef image:FuzzUnpackEntries image:FuzzUnpackTar \
	container:FuzzLoadSpec security/seccomp:FuzzCompile
fuzz:
	@scripts/fuzz.sh "$(GO)" "$(FUZZTIME)" $(FUZZ_TARGETS)

# Start-up cost of Docker's seccomp profile and of the CVE-2019-5736 exe seal,
# minirun against runc and crun (bench/security.sh, bench/README.md).
.PHONY: bench-security
bench-security: build
	MINIRUN=$(CURDIR)/bin/minirun bench/security.sh
