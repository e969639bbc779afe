#!/usr/bin/env bash
# Installs what the test suites need, pinned: Debian packages (the Docker
# engine, busybox-static for test images, runc for web apps) and the OCI clients and the
# distribution-spec conformance suite from the Go module proxy, into
# .tools/bin. Safe to run again: it installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

CRANE_VERSION=v0.22.1        # github.com/google/go-containerregistry/cmd/crane
ORAS_VERSION=v1.3.6          # oras.land/oras/cmd/oras
REGCTL_VERSION=v0.11.7       # github.com/regclient/regclient/cmd/regctl
CONFORMANCE_VERSION=v0.0.0-20260831232431-97274622c111  # github.com/opencontainers/distribution-spec/conformance
VERSITYGW_VERSION=v1.8.0     # github.com/versity/versitygw/cmd/versitygw (S3 server for the s3 blob store tests)

TOOLS="$PWD/.tools/bin"
mkdir -p "$TOOLS"

sudo_() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

pkgs=()
command -v dockerd >/dev/null 2>&1 || pkgs+=(docker.io)
[ -x /bin/busybox ] || pkgs+=(busybox-static)
command -v runc >/dev/null 2>&1 || pkgs+=(runc)  # web apps and BuildKit: the OCI runtime (internal/webapps, test/e2e/webapps_test.go; internal/tasks)
command -v git >/dev/null 2>&1 || pkgs+=(git)    # the test git server (git http-backend)
command -v curl >/dev/null 2>&1 || pkgs+=(curl)
command -v skopeo >/dev/null 2>&1 || pkgs+=(skopeo)  # test/e2e/skopeo_test.go
command -v debootstrap >/dev/null 2>&1 || [ -x /usr/sbin/debootstrap ] || pkgs+=(debootstrap)  # the Debian minbase test image (below)
command -v npm >/dev/null 2>&1 || pkgs+=(nodejs npm)
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || pkgs+=(postgresql)  # internal/meta/sqlstore's PostgreSQL tests
if [ ${#pkgs[@]} -gt 0 ]; then
  echo "installing Debian packages: ${pkgs[*]}"
  sudo_ apt-get update -qq
  sudo_ env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null
fi

# go_tool NAME MODULE/PATH VERSION: install once per version (a stamp file records it).
go_tool() {
  local name=$1 pkg=$2 version=$3 stamp="$TOOLS/.$1.version"
  if [ -x "$TOOLS/$name" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$version" ]; then return; fi
  echo "installing $name $version"
  GOBIN="$TOOLS" GOFLAGS=-buildvcs=false go install "$pkg@$version"
  echo "$version" > "$stamp"
}
go_tool crane github.com/google/go-containerregistry/cmd/crane "$CRANE_VERSION" &
go_tool oras oras.land/oras/cmd/oras "$ORAS_VERSION" &
go_tool regctl github.com/regclient/regclient/cmd/regctl "$REGCTL_VERSION" &
go_tool conformance github.com/opencontainers/distribution-spec/conformance "$CONFORMANCE_VERSION" &
go_tool versitygw github.com/versity/versitygw/cmd/versitygw "$VERSITYGW_VERSION" &
wait
for t in crane oras regctl conformance versitygw; do [ -x "$TOOLS/$t" ] || { echo "missing $t" >&2; exit 1; }; done

# Azurite, the Azure Blob Storage emulator internal/blob/azure tests against,
# from npm into .tools/azurite (once per version).
AZURITE_VERSION=3.37.0
AZURITE_DIR="$PWD/.tools/azurite"
if [ "$(node -p "require('$AZURITE_DIR/node_modules/azurite/package.json').version" 2>/dev/null)" != "$AZURITE_VERSION" ]; then
  echo "installing azurite $AZURITE_VERSION"
  npm install --prefix "$AZURITE_DIR" --no-audit --no-fund --loglevel=error "azurite@$AZURITE_VERSION" >/dev/null
fi
[ -x "$AZURITE_DIR/node_modules/.bin/azurite-blob" ] || { echo "missing azurite" >&2; exit 1; }

# BuildKit (buildkitd, buildctl, and the Dockerfile frontend that tests serve
# from acre for "# syntax=" lines) for the build tests (test/e2e).
# `go install` refuses its commands (its go.mod has replace directives), so
# build them from a throwaway module that requires it, written here.
BUILDKIT_VERSION=v0.34.2
if [ "$(cat "$TOOLS/.buildkit.version" 2>/dev/null)" != "$BUILDKIT_VERSION" ] || [ ! -x "$TOOLS/buildkitd" ] || [ ! -x "$TOOLS/buildctl" ] || [ ! -x "$TOOLS/dockerfile-frontend" ]; then
  echo "installing buildkitd and buildctl $BUILDKIT_VERSION"
  mod="$PWD/.tools/buildkit-build"
  rm -rf "$mod" && mkdir -p "$mod"
  cat > "$mod/go.mod" <<EOM
module buildkit-build

go 1.25

require github.com/moby/buildkit $BUILDKIT_VERSION
EOM
  cat > "$mod/tools.go" <<EOM
//go:build tools

package tools

import (
	_ "github.com/moby/buildkit/cmd/buildctl"
	_ "github.com/moby/buildkit/cmd/buildkitd"
	_ "github.com/moby/buildkit/frontend/dockerfile/cmd/dockerfile-frontend"
)
EOM
  (cd "$mod" && GOFLAGS=-mod=mod go mod tidy -e >/dev/null 2>&1 || true
   cd "$mod" && GOFLAGS=-mod=mod CGO_ENABLED=0 go build -o "$TOOLS/" github.com/moby/buildkit/cmd/buildkitd github.com/moby/buildkit/cmd/buildctl \
     && GOFLAGS=-mod=mod CGO_ENABLED=0 go build -tags "netgo static_build osusergo" -o "$TOOLS/" \
       github.com/moby/buildkit/frontend/dockerfile/cmd/dockerfile-frontend)
  echo "$BUILDKIT_VERSION" > "$TOOLS/.buildkit.version"
fi
for t in buildkitd buildctl dockerfile-frontend; do [ -x "$TOOLS/$t" ] || { echo "missing $t" >&2; exit 1; }; done

# docker buildx (the Docker CLI plugin that drives dockerd's BuildKit) for
# the Dockerfile corpus test, which builds with both acre and Docker.
# Built from a throwaway module like BuildKit above.
BUILDX_VERSION=v0.38.2
if [ "$(cat "$TOOLS/.buildx.version" 2>/dev/null)" != "$BUILDX_VERSION" ] || [ ! -x "$TOOLS/docker-buildx" ]; then
  echo "installing docker-buildx $BUILDX_VERSION"
  mod="$PWD/.tools/buildx-build"
  rm -rf "$mod" && mkdir -p "$mod"
  cat > "$mod/go.mod" <<EOM
module buildx-build

go 1.25

require github.com/docker/buildx $BUILDX_VERSION
EOM
  cat > "$mod/tools.go" <<EOM
//go:build tools

package tools

import _ "github.com/docker/buildx/cmd/buildx"
EOM
  (cd "$mod" && GOFLAGS=-mod=mod go mod tidy -e >/dev/null 2>&1 || true
   cd "$mod" && GOFLAGS=-mod=mod CGO_ENABLED=0 go build -o "$TOOLS/docker-buildx" github.com/docker/buildx/cmd/buildx)
  echo "$BUILDX_VERSION" > "$TOOLS/.buildx.version"
fi
[ -x "$TOOLS/docker-buildx" ] || { echo "missing docker-buildx" >&2; exit 1; }

# A Debian 12 minbase root filesystem, made once with debootstrap from the
# Debian mirror and kept as one tarball: the build tests import it into
# acre as a base image (test/e2e/build_debian_test.go). Needs root.
DEBIAN_MINBASE="$TOOLS/debian-bookworm-minbase.tar"
if [ ! -s "$DEBIAN_MINBASE" ]; then
  echo "making a Debian bookworm minbase root filesystem (debootstrap)"
  tmp=$(mktemp -d)
  sudo_ env PATH="/usr/sbin:/sbin:$PATH" debootstrap --variant=minbase bookworm "$tmp/root" "${DEBIAN_MIRROR:-http://deb.debian.org/debian}" >/dev/null
  sudo_ sh -c "rm -rf '$tmp'/root/var/cache/apt/archives/*.deb '$tmp'/root/var/lib/apt/lists/* && tar -C '$tmp/root' --numeric-owner -cf '$DEBIAN_MINBASE.tmp' . && rm -rf '$tmp'"
  mv "$DEBIAN_MINBASE.tmp" "$DEBIAN_MINBASE"
fi
[ -s "$DEBIAN_MINBASE" ] || { echo "missing $DEBIAN_MINBASE" >&2; exit 1; }
