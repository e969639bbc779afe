//go:build e2e && linux

package e2e

import (
	"strings"
	"testing"
)

// pushDebian imports the Debian 12 minbase root filesystem that
// scripts/install-test-deps.sh made with debootstrap (one tarball) into
// acre as ref, one layer.
func (b *buildEnv) pushDebian(t testing.TB, ref string) {
	t.Helper()
	rootfs := Tool(t, "debian-bookworm-minbase.tar")
	full := b.a.Addr + "/" + ref
	Run(t, b.env, b.crane, "append", "--insecure", "-f", rootfs, "-t", full)
	Run(t, b.env, b.crane, "mutate", "--insecure", "--set-platform", "linux/amd64",
		"--env", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "--cmd", "bash", full)
}

// TestBuildOnDebianMinbase: a Dockerfile FROM a Debian minbase image made
// by debootstrap runs Debian's own tools (apt-get, dpkg) in RUN steps
// (no network needed) and a second stage copies what they wrote.
func TestBuildOnDebianMinbase(t *testing.T) {
	b := startBuilds(t, "")
	b.pushDebian(t, "base/debian:12")
	ctx := t.TempDir()
	writeFiles(t, ctx, map[string]string{"Dockerfile": "FROM " + b.a.Addr + "/base/debian:12 AS tools\n" +
		"RUN apt-get --version | head -n1 > /apt-version && dpkg -l | awk '$1 == \"ii\" {print $2}' > /packages\n" +
		"RUN dpkg-query -W -f='${Version}' base-files > /base-files && . /etc/os-release && echo $VERSION_CODENAME > /codename\n" +
		"FROM " + b.a.Addr + "/base/debian:12\n" +
		"COPY --from=tools /apt-version /packages /base-files /codename /report/\n"})
	log := b.acre(t, "build", "-r", "acre", "-t", "deb:1", ctx)
	if !strings.Contains(log, "repository: base/debian") {
		t.Errorf("the dependencies lack the Debian base:\n%s", log)
	}
	files := b.imageFiles(t, "deb:1")
	if got := string(files["report/apt-version"]); !strings.HasPrefix(got, "apt ") {
		t.Errorf("apt-get --version: %q", got)
	}
	if got := string(files["report/codename"]); got != "bookworm\n" {
		t.Errorf("codename %q", got)
	}
	if got := string(files["report/base-files"]); !strings.HasPrefix(got, "12") {
		t.Errorf("base-files version %q", got)
	}
	pkgs := strings.Fields(string(files["report/packages"]))
	for _, want := range []string{"apt", "dpkg", "bash", "coreutils", "base-files"} {
		found := false
		for _, p := range pkgs {
			found = found || p == want || strings.HasPrefix(p, want+":")
		}
		if !found {
			t.Errorf("dpkg -l lacks %s: %v", want, pkgs)
		}
	}
	if _, ok := files["usr/bin/dpkg"]; !ok {
		t.Errorf("the image lacks the base's /usr/bin/dpkg")
	}
}
