#!/usr/bin/env bash
# Optional: runs the several-node suites (conformance and real clients
# through a round-robin balancer, a killed node, acre migrate) against
# MinIO instead of versitygw. Building MinIO takes about 20 minutes here,
# so the main test command does not do it.
set -euo pipefail
cd "$(dirname "$0")/.."

MINIO_VERSION=v0.0.0-20260212201848-7aac2a2c5b7c  # github.com/minio/minio
TOOLS="$PWD/.tools/bin"

./scripts/install-test-deps.sh
if [ "$(cat "$TOOLS/.minio.version" 2>/dev/null)" != "$MINIO_VERSION" ]; then
  echo "building minio $MINIO_VERSION (about 20 minutes)"
  GOBIN="$TOOLS" GOFLAGS=-buildvcs=false go install "github.com/minio/minio@$MINIO_VERSION"
  echo "$MINIO_VERSION" > "$TOOLS/.minio.version"
fi
CGO_ENABLED=0 go build -o "$TOOLS/acre" ./cmd/acre
ACRE_E2E_S3=minio ACRE_BIN="$TOOLS/acre" ACRE_TOOLS="$TOOLS" \
  go test -tags e2e -count=1 -v -run 'TwoNodes|Migrate' ./test/e2e/
