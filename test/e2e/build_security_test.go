//go:build e2e && linux

package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBuildIsolation: RUN steps have no network (they cannot reach acre's
// listener) unless the build opts in where the server allows it; they see
// nothing of acre's data directory, not even through symlinks in the
// context; acre's own address is refused as a context; BuildKit's root is
// private; secret build arguments never reach the log or the run's view.
func TestBuildIsolation(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "acre.yaml")
	must(t, os.WriteFile(cfg, []byte("tasks:\n  allow_host_network: true\n"), 0o600))
	b := startBuilds(t, "", "--config", cfg)
	b.pushBusybox(t, "base/busybox:1", nil)
	must(t, os.WriteFile(filepath.Join(b.a.Data, "secret-marker"), []byte("TOPSECRET\n"), 0o600))

	ctx := t.TempDir()
	writeFiles(t, ctx, map[string]string{"Dockerfile": "FROM " + b.a.Addr + "/base/busybox:1\nARG ACRE\nARG DATA\n" +
		"RUN (wget -O /probe http://$ACRE/healthz && echo reached || echo blocked) > /net; " +
		"(cat $DATA/secret-marker 2>&1 || true) > /data\n"})
	args := []string{"build", "-r", "acre", "--build-arg", "ACRE=" + b.a.Addr, "--build-arg", "DATA=" + b.a.Data}
	b.acre(t, append(args, "-t", "iso:none", ctx)...)
	files := b.imageFiles(t, "iso:none")
	if got := string(files["net"]); got != "blocked\n" {
		t.Errorf("a RUN step without network reached acre: %q", got)
	}
	if strings.Contains(string(files["data"]), "TOPSECRET") {
		t.Errorf("a RUN step read acre's data directory: %q", files["data"])
	}
	// Opting in (the server allows it): the step is on the host's network.
	b.acre(t, append(args, "-t", "iso:host", "--allow-host-network", "--no-cache", ctx)...)
	if got := string(b.imageFiles(t, "iso:host")["net"]); got != "reached\n" {
		t.Errorf("with --allow-host-network the step did not reach acre: %q", got)
	}

	// Symlinks in the context resolve inside the context, never to the host.
	leak := t.TempDir()
	writeFiles(t, leak, map[string]string{"Dockerfile": "FROM " + b.a.Addr + "/base/busybox:1\nCOPY leak /leak\n"})
	must(t, os.Symlink(filepath.Join(b.a.Data, "secret-marker"), filepath.Join(leak, "leak")))
	if out, err := b.acreErr("build", "-r", "acre", "-t", "iso:leak", leak); err == nil {
		if strings.Contains(string(b.imageFiles(t, "iso:leak")["leak"]), "TOPSECRET") {
			t.Errorf("COPY of a symlink read acre's data directory:\n%s", out)
		}
	}

	// acre's own address is not a build source.
	out, err := b.acreErr("build", "-r", "acre", "-t", "iso:own", "http://"+b.a.Addr+"/v2/app.git#main")
	if err == nil || !strings.Contains(out, "own address is not a build source") {
		t.Errorf("a context on acre's own address: %v\n%s", err, out)
	}

	// BuildKit's state is private to acre.
	if st, err := os.Stat(filepath.Join(b.a.Data, "buildkit")); err != nil || st.Mode().Perm() != 0o700 {
		t.Errorf("buildkit root: %v %v", st.Mode(), err)
	}

	// Secret build arguments: used by the build, never in the log or the view.
	const secret = "s3cr3t-value-42"
	sec := t.TempDir()
	writeFiles(t, sec, map[string]string{"Dockerfile": "FROM " + b.a.Addr + "/base/busybox:1\nARG TOKEN\n" +
		"RUN echo arg=$TOKEN\nRUN --mount=type=secret,id=TOKEN echo mounted=$(cat /run/secrets/TOKEN) && test \"$(cat /run/secrets/TOKEN)\" = " + secret + "\n"})
	log := b.acre(t, "build", "-r", "acre", "-t", "iso:secret", "--secret-build-arg", "TOKEN="+secret, sec)
	id := runID(t, log)
	for what, text := range map[string]string{"live log": log,
		"stored log": b.acre(t, "task", "logs", "-r", "acre", "--run-id", id),
		"run view":   b.acre(t, "task", "show-run", "-r", "acre", "--run-id", id)} {
		if strings.Contains(text, secret) {
			t.Errorf("the secret appears in the %s:\n%s", what, text)
		}
	}
	if !strings.Contains(log, "mounted=*****") {
		t.Errorf("the secret mount was not used (or not masked):\n%s", log)
	}
}

// TestBuildHostNetworkNeedsServerConsent: without tasks.allow_host_network
// a build asking for the host's network is refused before it runs.
func TestBuildHostNetworkNeedsServerConsent(t *testing.T) {
	b := startBuilds(t, "")
	ctx := t.TempDir()
	writeFiles(t, ctx, map[string]string{"Dockerfile": "FROM scratch\n"})
	out, err := b.acreErr("build", "-r", "acre", "--allow-host-network", "--no-push", ctx)
	if err == nil || !strings.Contains(out, "allow_host_network") {
		t.Errorf("host network without the server's consent: %v\n%s", err, out)
	}
}
