#!/usr/bin/env bash
# Runs the core benchmark (cmd/acre-bench) on the embedded stores and on
# PostgreSQL + an S3 server (versitygw by default; ACRE_BENCH_S3=minio uses
# MinIO, which scripts/test-minio.sh builds), in one run, so that the
# server CPU per manifest request on PostgreSQL reads against SQLite's.
# Extra arguments go to acre-bench (e.g. --large-layers 0 for a quick run).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-test-deps.sh >/dev/null
TOOLS="$PWD/.tools/bin"
CGO_ENABLED=0 go build -o "$TOOLS/acre" ./cmd/acre
WORK=$(mktemp -d)
PGBIN=$(dirname "$(ls -d /usr/lib/postgresql/*/bin/initdb | tail -1)")
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
[ "$(id -u)" = 0 ] && chown postgres "$WORK"
PGPORT=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
S3PORT=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
as_pg "$PGBIN/initdb" -D "$WORK/pg" -U acre --auth=trust -E UTF8 >/dev/null
as_pg "$PGBIN/pg_ctl" start -w -D "$WORK/pg" -l "$WORK/pg.log" -o "-p $PGPORT -k $WORK -c listen_addresses=127.0.0.1" >/dev/null
mkdir -p "$WORK/s3/acre"
if [ "${ACRE_BENCH_S3:-}" = minio ]; then
  MINIO_ROOT_USER=acreminio MINIO_ROOT_PASSWORD=acreminio-secret "$TOOLS/minio" server "$WORK/s3" --address "127.0.0.1:$S3PORT" --quiet &
  AK=acreminio SK=acreminio-secret
else
  "$TOOLS/versitygw" --access AK --secret SK --port "127.0.0.1:$S3PORT" --quiet posix "$WORK/s3" &
  AK=AK SK=SK
fi
S3PID=$!
trap 'kill $S3PID 2>/dev/null; as_pg "$PGBIN/pg_ctl" stop -m immediate -D "$WORK/pg" >/dev/null; rm -rf "$WORK"' EXIT
sleep 2
cat > "$WORK/cluster.yaml" <<YAML
storage:
  postgres: {dsn: "postgres://acre@127.0.0.1:$PGPORT/postgres?sslmode=disable"}
  blobs:
    type: s3
    s3: {endpoint: "http://127.0.0.1:$S3PORT", bucket: acre, access_key: $AK, secret_key: $SK, path_style: true}
YAML
echo "== embedded (SQLite + filesystem)"
go run ./cmd/acre-bench --acre "$TOOLS/acre" --json "$WORK/embedded.json" "$@"
echo "== PostgreSQL + S3, one node"
go run ./cmd/acre-bench --acre "$TOOLS/acre" --acre-arg="--config=$WORK/cluster.yaml" --auth-compare=false --json "$WORK/cluster.json" "$@"
echo "== PostgreSQL + S3, two nodes (requests in turn)"
# A database and a prefix of their own, so the nodes bootstrap their own owner.
as_pg "$PGBIN/createdb" -h "$WORK" -p "$PGPORT" -U acre twonodes
sed -e "s|/postgres?|/twonodes?|" -e "s|bucket: acre,|bucket: acre, prefix: two/,|" "$WORK/cluster.yaml" > "$WORK/two.yaml"
PW=$(head -c 18 /dev/urandom | base64)
PORTS=() PIDS=()
for n in 1 2; do
  P=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
  PORTS+=("$P")
  ACRE_BOOTSTRAP_USER=bench ACRE_BOOTSTRAP_PASSWORD="$PW" "$TOOLS/acre" serve --config "$WORK/two.yaml" \
    --addr "127.0.0.1:$P" --data "$WORK/node$n" --log-level warn 2>"$WORK/node$n.log" &
  PIDS+=("$!")
  sleep 2
done
go run ./cmd/acre-bench --url "http://127.0.0.1:${PORTS[0]},http://127.0.0.1:${PORTS[1]}" --user bench --password "$PW" \
  --json "$WORK/two-nodes.json" "$@" || true
kill "${PIDS[@]}" 2>/dev/null || true
