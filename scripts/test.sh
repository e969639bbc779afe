#!/usr/bin/env bash
# The one command that runs every test: installs the test dependencies,
# then runs vet, the unit tests, the fuzz seed corpora, and the end-to-end
# suites (conformance, real clients, Docker, crash recovery) against the
# built binary.
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/install-test-deps.sh

echo "== go vet"
go vet ./...
go vet -tags e2e ./test/...

echo "== unit tests"
# No per-package time limit that a busy machine could hit: a package fails
# on what it checks, not on how long the machine took.
go test -count=1 -race -timeout 60m ./...

echo "== end-to-end tests"
mkdir -p .tools/bin
CGO_ENABLED=0 go build -o .tools/bin/acre ./cmd/acre
rc=0
ACRE_BIN="$PWD/.tools/bin/acre" ACRE_TOOLS="$PWD/.tools/bin" \
  go test -tags e2e -count=1 -timeout 40m -v ./test/e2e/ > .tools/e2e.log 2>&1 || rc=$?
grep -E '^(--- |PASS|FAIL|ok )|^\s+\S+_test\.go:[0-9]+: ' .tools/e2e.log || true
if [ "$rc" != 0 ]; then
  echo "end-to-end tests failed (exit $rc); the last lines of .tools/e2e.log:"
  tail -80 .tools/e2e.log
  exit "$rc"
fi
echo "all tests passed"
