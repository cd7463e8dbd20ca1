# agentperf — build, test, demo, bench. Every install step lives here or in
# scripts/; a fresh machine needs only Go, Node.js/npm and apt (see README).

GO        ?= go
BIN       := bin/agentperf
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -s -w -X main.version=$(VERSION)
FUZZTIME  ?= 4s
DEMO_DIR  ?= out/demo

.PHONY: all build test test-setup test-go fuzz lint cross demo bench calibrate clean

all: build

## build: the static binary at bin/agentperf
build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/agentperf

## test: everything CI runs — setup, lint, race tests, a short run of every fuzz target
test: test-setup lint test-go fuzz

## test-setup: install the real npm clients and Chromium the end-to-end tests use
test-setup:
	./scripts/test-setup.sh

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

## cross: vet the packages with platform-specific files for windows and
## linux/386 too (minutes on a cold build cache, so not part of test)
cross:
	GOOS=linux GOARCH=386 $(GO) vet ./internal/rxstamp ./replay ./proxy ./power
	GOOS=windows GOARCH=amd64 $(GO) vet ./internal/rxstamp ./replay ./proxy ./power

test-go:
	$(GO) test -race -timeout 20m ./...
	cd deploy && $(GO) test ./...  # the manifest check, its own module (k8s.io stays out of agentperf's)

## fuzz: run each go test -fuzz target for FUZZTIME
fuzz:
	FUZZTIME=$(FUZZTIME) ./scripts/fuzz.sh

## demo: the main job on the embedded default, ending in the capacity table
demo: build
	./scripts/demo.sh $(BIN) $(DEMO_DIR)

## calibrate: replay the public InferenceMAX runs on the simulator; per row
## and per hardware sim ÷ public (docs/sim.md, Calibration); fails when the
## vLLM goals are missed
CALIBRATION := sim/testdata/calibration
calibrate: build
	$(BIN) calibrate --check $(CALIBRATION)/inferencemax-gpt-oss-120b-vllm.csv
	$(BIN) calibrate $(CALIBRATION)/inferencemax-gpt-oss-120b-trt.csv

## bench: hot-path benchmarks (figures go to BENCHMARKS.md)
bench:
	$(GO) test -run '^$$' -bench . -benchmem -timeout 60m ./...

clean:
	rm -rf bin out
