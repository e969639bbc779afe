#!/usr/bin/env bash
# Runs the core benchmark (cmd/acre-bench) against acre (embedded stores,
# authentication on, bearer tokens) and, with the same client and settings,
# against two peer registries without authentication: olareg and CNCF
# Distribution at pinned versions, installed into .tools/bin. Prints one
# table with a column per registry and acre's ratio to each peer; every
# run also measures sha256 and this disk's durable write rate (1 GiB
# written with one fdatasync), so the ratios hold on a busy machine.
# Blobs are uploaded as Docker and containerd do (POST, then PUT with the
# bytes; Distribution ignores a monolithic POST ?digest=). Extra arguments
# go to every acre-bench run (e.g. --small-images 50).
# ACRE_BENCH_OUT=DIR keeps the JSON results there.
set -euo pipefail
cd "$(dirname "$0")/.."

OLAREG_VERSION=v0.1.2        # github.com/olareg/olareg
DISTRIBUTION_VERSION=v3.1.2  # github.com/distribution/distribution/v3

TOOLS="$PWD/.tools/bin"
mkdir -p "$TOOLS"

# olareg's module cannot be `go install`ed at a version from the proxy, so
# it is built from a throw-away module that requires it.
if [ "$(cat "$TOOLS/.olareg.version" 2>/dev/null)" != "$OLAREG_VERSION" ] || [ ! -x "$TOOLS/olareg" ]; then
  echo "installing olareg $OLAREG_VERSION"
  MOD=$(mktemp -d)
  (cd "$MOD" && go mod init acre.local/olareg-build >/dev/null 2>&1 &&
    go get "github.com/olareg/olareg/cmd/olareg@$OLAREG_VERSION" >/dev/null 2>&1 &&
    GOBIN="$TOOLS" GOFLAGS=-buildvcs=false go install github.com/olareg/olareg/cmd/olareg)
  rm -rf "$MOD"
  echo "$OLAREG_VERSION" > "$TOOLS/.olareg.version"
fi
if [ "$(cat "$TOOLS/.registry.version" 2>/dev/null)" != "$DISTRIBUTION_VERSION" ] || [ ! -x "$TOOLS/registry" ]; then
  echo "installing distribution $DISTRIBUTION_VERSION"
  GOBIN="$TOOLS" GOFLAGS=-buildvcs=false go install "github.com/distribution/distribution/v3/cmd/registry@$DISTRIBUTION_VERSION"
  echo "$DISTRIBUTION_VERSION" > "$TOOLS/.registry.version"
fi

CGO_ENABLED=0 go build -o "$TOOLS/acre" ./cmd/acre
go build -o "$TOOLS/acre-bench" ./cmd/acre-bench
WORK=$(mktemp -d)
OUT=${ACRE_BENCH_OUT:-$WORK}
mkdir -p "$OUT"
PEER=""
cleanup() {
  if [ -n "$PEER" ]; then kill "$PEER" 2>/dev/null || true; wait "$PEER" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

freeport() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
wait_v2() { # wait until GET /v2/ answers 200, up to 60 s
  for _ in $(seq 600); do
    curl -fsS -o /dev/null "http://127.0.0.1:$1/v2/" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "registry on port $1 did not start" >&2; return 1
}
# peer NAME: benchmark the peer already started as $PEER on $PORT with data in $DATA.
peer() {
  wait_v2 "$PORT"
  echo "== $1 (no authentication)"
  "$TOOLS/acre-bench" --url "http://127.0.0.1:$PORT" --auth none --pid "$PEER" --data "$DATA" --tmpdir "$WORK" \
    --json "$OUT/$1.json" "${ARGS[@]}" || echo "$1: benchmark reported errors (see above)"
  kill "$PEER"; wait "$PEER" 2>/dev/null || true; PEER=""
}

ARGS=(--clients 16 --upload-mode post-put "$@")
echo "== acre (embedded stores, authentication on, bearer tokens)"
"$TOOLS/acre-bench" --acre "$TOOLS/acre" --tmpdir "$WORK" --auth-compare=false --json "$OUT/acre.json" "${ARGS[@]}" ||
  echo "acre: benchmark reported errors or missed targets (see above)"

PORT=$(freeport) DATA="$WORK/olareg"
mkdir -p "$DATA"
"$TOOLS/olareg" serve --addr 127.0.0.1 --port "$PORT" --dir "$DATA" >"$WORK/olareg.log" 2>&1 &
PEER=$!
peer olareg

PORT=$(freeport) DATA="$WORK/distribution"
mkdir -p "$DATA"
cat > "$WORK/distribution.yaml" <<YAML
version: 0.1
log: {level: error, accesslog: {disabled: true}}
storage:
  filesystem: {rootdirectory: $DATA}
  cache: {blobdescriptor: inmemory}
http: {addr: "127.0.0.1:$PORT"}
YAML
"$TOOLS/registry" serve "$WORK/distribution.yaml" >"$WORK/distribution.log" 2>&1 &
PEER=$!
peer distribution

echo
echo "== side by side (olareg $OLAREG_VERSION, Distribution $DISTRIBUTION_VERSION, no auth; acre bearer tokens)"
"$TOOLS/acre-bench" --table "acre=$OUT/acre.json,olareg=$OUT/olareg.json,distribution=$OUT/distribution.json"
