//go:build e2e

// Package e2e drives a real acre binary with real clients. Run it through
// the README's test command, which installs the clients; or by hand with
// ACRE_BIN (the binary; built when unset) and ACRE_TOOLS (a directory with
// crane, oras, regctl and the conformance binary) set:
//
//	go test -tags e2e ./test/e2e/
package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// acreBin is the binary under test, set by TestMain.
var acreBin string

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	if os.Getenv(receiverEnv) != "" {
		return runReceiver()
	}
	acreBin = os.Getenv("ACRE_BIN")
	if acreBin == "" {
		dir, err := os.MkdirTemp("", "acre-e2e-bin")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		acreBin = filepath.Join(dir, "acre")
		cmd := exec.Command("go", "build", "-o", acreBin, "github.com/acre-project/acre/cmd/acre")
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "build acre:", err)
			return 1
		}
	}
	return m.Run()
}

// Acre is a running acre server process.
type Acre struct {
	Addr     string // host:port it listens on
	Data     string // its data directory
	User     string // the bootstrap owner ("" with --auth=false)
	Password string
	cmd      *exec.Cmd
	logs     *syncBuffer
	done     chan struct{}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// ownerPassword is the bootstrap owner's password in every test server.
const ownerPassword = "e2e-owner-password"

// StartAcre starts `acre serve` on a free loopback port with a fresh data
// directory (or data, when given) and stops it when the test ends.
// Authentication is on, with owner "owner" (password ownerPassword),
// unless extra holds --auth=false.
func StartAcre(t testing.TB, data string, extra ...string) *Acre {
	t.Helper()
	if data == "" {
		data = t.TempDir()
	}
	args := append([]string{"serve", "--addr", "127.0.0.1:0", "--data", data, "--log-format", "json"}, extra...)
	cmd := exec.Command(acreBin, args...)
	cmd.Env = append(os.Environ(), "ACRE_BOOTSTRAP_USER=owner", "ACRE_BOOTSTRAP_PASSWORD="+ownerPassword)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	a := &Acre{Data: data, User: "owner", Password: ownerPassword, cmd: cmd, logs: &syncBuffer{}, done: make(chan struct{})}
	for _, x := range extra {
		if x == "--auth=false" {
			a.User, a.Password = "", ""
		}
	}
	addrc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			a.logs.Write([]byte(line + "\n"))
			var rec struct{ Msg, Addr string }
			if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "listening" {
				addrc <- rec.Addr
			}
		}
		_, _ = io.Copy(a.logs, stderr)
	}()
	go func() { _ = cmd.Wait(); close(a.done) }()
	t.Cleanup(func() {
		a.Kill()
		if t.Failed() {
			t.Logf("acre logs (tail):\n%s", tail(a.logs.String(), 40))
		}
	})
	select {
	case a.Addr = <-addrc:
	case <-a.done:
		t.Fatalf("acre exited before listening:\n%s", a.logs.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("acre did not start:\n%s", a.logs.String())
	}
	return a
}

// URL returns http://addr + path, with the owner's credentials in it (Go's
// HTTP client sends them as Basic credentials, which acre accepts on /v2/).
func (a *Acre) URL(path string) string {
	if a.User == "" {
		return "http://" + a.Addr + path
	}
	return "http://" + a.User + ":" + a.Password + "@" + a.Addr + path
}

// AnonURL returns http://addr + path without credentials.
func (a *Acre) AnonURL(path string) string { return "http://" + a.Addr + path }

// Kill stops the server with SIGKILL and waits for it.
func (a *Acre) Kill() {
	_ = a.cmd.Process.Signal(syscall.SIGKILL)
	<-a.done
}

// Stop stops the server with SIGTERM (graceful) and waits for it.
func (a *Acre) Stop(t testing.TB) {
	_ = a.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-a.done:
	case <-time.After(40 * time.Second):
		t.Fatal("acre did not stop on SIGTERM")
	}
}

// Logs returns what the server logged so far.
func (a *Acre) Logs() string { return a.logs.String() }

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// Tool returns the path of a client installed by the test setup.
func Tool(t testing.TB, name string) string {
	t.Helper()
	if dir := os.Getenv("ACRE_TOOLS"); dir != "" {
		p := filepath.Join(dir, name)
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s is not installed: run the README's test command, which installs it", name)
	}
	return p
}

// Run runs a command with a timeout, failing the test with its output on error.
func Run(t testing.TB, env []string, name string, args ...string) string {
	t.Helper()
	out, err := RunErr(env, name, args...)
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(name), strings.Join(args, " "), err, out)
	}
	return out
}

// RunErr runs a command with a timeout and returns its combined output.
func RunErr(env []string, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// Get fetches a URL and returns status and body.
func Get(t testing.TB, url string) (int, []byte) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}
