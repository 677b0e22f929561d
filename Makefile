# Makefile - build, check and test printgate.
#
#   make build            compile everything
#   make vet              gofmt check and go vet
#   make check            vet and the tests that need no outside server (-short)
#   make test             provision tools and servers (scripts/provision.sh),
#                         run all tests strictly, then every fuzz target briefly
#   make fuzz FUZZTIME=10m  every fuzz target for FUZZTIME each
#   make package          the .deb (packaging/nfpm.yaml) into dist/, with nfpm
#   make bench            printgate (SQLite, PostgreSQL) side by side with CUPS,
#                         the machine's ceiling and dd (scripts/bench.sh);
#                         writes its report into docs/BENCHMARKS.md

GO ?= go
TAGS := -tags nomsgpack
FUZZTIME ?= 10s
# How long `make test` fuzzes each target.
TEST_FUZZTIME ?= 10s

.PHONY: all build vet check test test-go fuzz bench package

all: vet build

build:
	$(GO) build $(TAGS) ./...

vet:
	@unformatted="$$(gofmt -l .)"; \
	if [ -n "$$unformatted" ]; then echo "gofmt -l lists:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet $(TAGS) ./...

# check is the fast loop: internal/testenv skips every real server and tool
# under -short.
check: vet
	$(GO) test $(TAGS) -short -count=1 ./...

test:
	bash scripts/provision.sh $(MAKE) --no-print-directory vet test-go fuzz FUZZTIME=$(TEST_FUZZTIME)

# test-go runs the tests with outside tools required: a missing one fails.
test-go:
	PRINTGATE_TEST_STRICT=1 $(GO) test $(TAGS) -count=1 -timeout 40m ./...

fuzz:
	bash scripts/fuzz.sh $(FUZZTIME)

bench:
	bash scripts/bench.sh

# The .deb: a static binary, the systemd unit, the configuration and the
# maintainer scripts under packaging/, built by nfpm at a pinned version
# (run with go run, so it is no dependency of printgate's own module).
NFPM ?= github.com/goreleaser/nfpm/v2/cmd/nfpm@v2.48.0
VERSION ?= 0.0.0+git$(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
ARCH ?= $(shell $(GO) env GOARCH)

package:
	mkdir -p dist
	CGO_ENABLED=0 $(GO) build $(TAGS) -trimpath -ldflags "-s -w -X main.version=$(VERSION)" -o dist/printgate ./cmd/printgate
	VERSION=$(VERSION) ARCH=$(ARCH) $(GO) run $(NFPM) package --packager deb \
		--config packaging/nfpm.yaml --target dist/
