//go:build e2e && linux

package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// buildEnv is an acre server with builds on (BuildKit from ACRE_TOOLS,
// Debian's runc) and a CLI signed in as its owner.
type buildEnv struct {
	a     *Acre
	env   []string // HOME of the signed-in CLI
	crane string
}

// startBuilds starts acre with builds. BuildKit's OCI worker needs root.
func startBuilds(t testing.TB, data string, extra ...string) *buildEnv {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("builds need root (BuildKit's OCI worker on runc)")
	}
	if _, err := exec.LookPath("runc"); err != nil {
		t.Fatal("runc is not installed: run the README's test command, which installs it")
	}
	kitd := Tool(t, "buildkitd")
	t.Setenv("PATH", filepath.Dir(kitd)+":"+os.Getenv("PATH"))
	a := StartAcre(t, data, extra...)
	b := &buildEnv{a: a, env: []string{"HOME=" + t.TempDir()}, crane: Tool(t, "crane")}
	b.acre(t, "account", "login", "--server", "http://"+a.Addr, "--username", a.User, "--password", a.Password)
	Run(t, b.env, b.crane, "auth", "login", a.Addr, "-u", a.User, "-p", a.Password)
	return b
}

// acre runs the CLI, failing the test on error.
func (b *buildEnv) acre(t testing.TB, args ...string) string {
	t.Helper()
	return Run(t, b.env, acreBin, args...)
}

// acreErr runs the CLI and returns its output and error.
func (b *buildEnv) acreErr(args ...string) (string, error) {
	return RunErr(b.env, acreBin, args...)
}

// pushBusybox pushes a base image of Debian's static busybox (with a few
// applet links) as repo:tag, with extra files in a second layer.
func (b *buildEnv) pushBusybox(t testing.TB, ref string, extra map[string]string) {
	t.Helper()
	b.pushBusyboxTo(t, b.a.Addr, ref, extra)
}

// pushBusyboxTo is pushBusybox to the registry at addr (the CLI's crane
// must be logged in to it).
func (b *buildEnv) pushBusyboxTo(t testing.TB, addr, ref string, extra map[string]string) {
	t.Helper()
	dir := t.TempDir()
	root := filepath.Join(dir, "root")
	must(t, os.MkdirAll(filepath.Join(root, "bin"), 0o755))
	must(t, os.MkdirAll(filepath.Join(root, "tmp"), 0o1777))
	bb, err := os.ReadFile("/bin/busybox")
	if err != nil {
		t.Fatalf("busybox-static is not installed: %v", err)
	}
	must(t, os.WriteFile(filepath.Join(root, "bin", "busybox"), bb, 0o755))
	for _, app := range []string{"sh", "ls", "cat", "echo", "mkdir", "cp", "env", "id", "stat", "sleep", "wget", "touch", "pwd", "wc", "grep", "nc", "true", "false", "test", "chmod"} {
		must(t, os.Symlink("busybox", filepath.Join(root, "bin", app)))
	}
	for name, content := range extra {
		p := filepath.Join(root, name)
		must(t, os.MkdirAll(filepath.Dir(p), 0o755))
		must(t, os.WriteFile(p, []byte(content), 0o644))
	}
	layer := filepath.Join(dir, "layer.tar")
	Run(t, nil, "tar", "-C", root, "-cf", layer, ".")
	full := addr + "/" + ref
	Run(t, b.env, b.crane, "append", "--insecure", "-f", layer, "-t", full)
	Run(t, b.env, b.crane, "mutate", "--insecure", "--set-platform", "linux/amd64", "--env", "PATH=/bin", full)
}

// writeFiles writes files (name -> content) under dir.
func writeFiles(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		must(t, os.MkdirAll(filepath.Dir(p), 0o755))
		must(t, os.WriteFile(p, []byte(content), 0o644))
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// imageFiles exports an image of acre and returns its files.
func (b *buildEnv) imageFiles(t testing.TB, ref string) map[string][]byte {
	t.Helper()
	out := filepath.Join(t.TempDir(), "fs.tar")
	Run(t, b.env, b.crane, "export", "--insecure", b.a.Addr+"/"+ref, out)
	return untar(t, mustReadFile(t, out))
}

// runID finds the run ID in a CLI log ("Queued a build with ID: ca1").
func runID(t testing.TB, log string) string {
	t.Helper()
	for _, l := range strings.Split(log, "\n") {
		if _, id, ok := strings.Cut(l, "with ID: "); ok {
			return strings.TrimSpace(id)
		}
	}
	t.Fatalf("no run ID in:\n%s", log)
	return ""
}

// waitRun polls a run until its status is one of want (or fails the test
// after a generous deadline) and returns the run's JSON view.
func (b *buildEnv) waitRun(t testing.TB, id string, want ...string) string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Minute)
	var out string
	for time.Now().Before(deadline) {
		out = b.acre(t, "task", "show-run", "-r", "acre", "--run-id", id, "--query", "status", "-o", "tsv")
		for _, w := range want {
			if strings.TrimSpace(out) == w {
				return b.acre(t, "task", "show-run", "-r", "acre", "--run-id", id)
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("run %s: status %q, want one of %v", id, out, want)
	return ""
}
