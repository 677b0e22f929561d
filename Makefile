# Makefile - build, check and test printgate.
#
#   make build            compile everything
#   make vet              gofmt check and go vet
#   make test             provision tools and servers (scripts/provision.sh),
#                         run all tests strictly, then every fuzz target briefly
#   make fuzz FUZZTIME=10m  every fuzz target for FUZZTIME each
#   make bench            printgate side by side with CUPS (scripts/bench.sh);
#                         writes its table into docs/BENCHMARKS.md

GO ?= go
TAGS := -tags nomsgpack
FUZZTIME ?= 10s
# How long `make test` fuzzes each target.
TEST_FUZZTIME ?= 10s

.PHONY: all build vet test test-go fuzz bench

all: vet build

build:
	$(GO) build $(TAGS) ./...

vet:
	@unformatted="$$(gofmt -l .)"; \
	if [ -n "$$unformatted" ]; then echo "gofmt -l lists:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet $(TAGS) ./...

test:
	bash scripts/provision.sh $(MAKE) --no-print-directory vet test-go fuzz FUZZTIME=$(TEST_FUZZTIME)

# test-go runs the tests with outside tools required: a missing one fails.
test-go:
	PRINTGATE_TEST_STRICT=1 $(GO) test $(TAGS) -count=1 -timeout 40m ./...

fuzz:
	bash scripts/fuzz.sh $(FUZZTIME)

bench:
	bash scripts/bench.sh
