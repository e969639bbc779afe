# Convenience targets; the README's commands are the contract.
.PHONY: run build test unit e2e bench bench-peers fuzz

build:
	CGO_ENABLED=0 go build -o bin/acre ./cmd/acre

run:
	CGO_ENABLED=0 go run ./cmd/acre serve

test:
	./scripts/test.sh

unit:
	go test ./...

e2e: build
	./scripts/install-test-deps.sh
	ACRE_BIN=$(CURDIR)/bin/acre ACRE_TOOLS=$(CURDIR)/.tools/bin go test -tags e2e -count=1 -v ./test/e2e/

# BASELINE=path/to/an/earlier/acre also runs the manifest load phases on it,
# back to back on the same data, for a before/after ratio of server CPU.
bench: build
	go run ./cmd/acre-bench --acre $(CURDIR)/bin/acre $(if $(BASELINE),--baseline $(BASELINE))

# The same benchmark against acre, olareg and CNCF Distribution (pinned,
# installed into .tools/bin), one table with the ratios.
bench-peers:
	./scripts/bench-peers.sh

# Runs each fuzz target for FUZZTIME (default 30s); the seed corpora under
# testdata/fuzz also run as part of every `go test`.
FUZZTIME ?= 30s
fuzz:
	go test ./internal/reference -run '^$$' -fuzz FuzzReference -fuzztime $(FUZZTIME)
	go test ./internal/oci -run '^$$' -fuzz FuzzParseRange -fuzztime $(FUZZTIME)
	go test ./internal/registry -run '^$$' -fuzz FuzzParseManifest -fuzztime $(FUZZTIME)
	go test ./internal/oci -run '^$$' -fuzz FuzzParsePath -fuzztime $(FUZZTIME)
	go test ./internal/oci -run '^$$' -fuzz FuzzHandler -fuzztime $(FUZZTIME)
