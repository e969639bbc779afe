//go:build e2e

package e2e

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestBootstrapPasswordOnlyInFile starts a fresh server with its output
// going to pipes (not a terminal), as under a service manager: the
// generated owner password is in the 0600 file and nowhere in what the
// server printed, which says where the file is; the data directory,
// created 0755 beforehand, is 0700 and the metadata files 0600.
func TestBootstrapPasswordOnlyInFile(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	if err := os.Mkdir(data, 0o755); err != nil {
		t.Fatal(err)
	}
	var env []string
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, "ACRE_BOOTSTRAP_") {
			env = append(env, e)
		}
	}
	var stdout, stderr syncBuffer
	cmd := exec.Command(acreBin, "serve", "--addr", "127.0.0.1:0", "--data", data, "--log-format", "json")
	cmd.Env, cmd.Stdout, cmd.Stderr = env, &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() { _ = cmd.Process.Kill(); <-done })
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(stderr.String(), `"msg":"listening"`) {
		if time.Now().After(deadline) {
			t.Fatalf("acre did not start:\n%s", stderr.String())
		}
		select {
		case <-done:
			t.Fatalf("acre exited:\n%s", stderr.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	<-done

	file := filepath.Join(data, "bootstrap-owner.txt")
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var password string
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "password: "); ok {
			password = v
		}
	}
	if password == "" {
		t.Fatalf("no password in %s", file)
	}
	printed := stdout.String() + stderr.String()
	if strings.Contains(printed, password) {
		t.Fatalf("the generated password was printed off a terminal:\n%s", printed)
	}
	if !bytes.Contains([]byte(stderr.String()), []byte(file)) {
		t.Errorf("the log does not say where the password is:\n%s", stderr.String())
	}
	for name, want := range map[string]os.FileMode{"": 0o700, "meta.db": 0o600, "meta.db-wal": 0o600, "meta.db-shm": 0o600,
		"bootstrap-owner.txt": 0o600} {
		fi, err := os.Stat(filepath.Join(data, name))
		if err != nil {
			if name == "meta.db-wal" || name == "meta.db-shm" {
				continue // removed by a clean shutdown
			}
			t.Fatal(err)
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s: mode %v, want %v", filepath.Join("data", name), fi.Mode().Perm(), want)
		}
	}
}
