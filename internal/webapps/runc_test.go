package webapps

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// needRunc skips unless the test runs as root with runc installed.
func needRunc(t *testing.T) *Runc {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("web app runtime tests need root")
	}
	if _, err := exec.LookPath("runc"); err != nil {
		t.Skip("runc is not installed (scripts/install-test-deps.sh installs it)")
	}
	dir := t.TempDir()
	r := &Runc{Root: filepath.Join(dir, "state"), Dir: filepath.Join(dir, "bundles"), Grace: 5 * time.Second}
	t.Cleanup(func() { r.Cleanup(context.Background()) })
	return r
}

// busyboxImage is an unpacked image holding Debian's static busybox.
func busyboxImage(t *testing.T) string {
	t.Helper()
	src, err := os.ReadFile("/bin/busybox")
	if err != nil {
		t.Skip("busybox-static is not installed")
	}
	img := t.TempDir()
	for _, d := range []string{"bin", "www", "home"} {
		if err := os.MkdirAll(filepath.Join(img, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(img, "bin", "busybox"), src, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, l := range []string{"sh", "httpd", "sleep", "cat", "echo"} {
		if err := os.Symlink("busybox", filepath.Join(img, "bin", l)); err != nil {
			t.Fatal(err)
		}
	}
	return img
}

type lockedLines struct{ lines chan string }

func (l lockedLines) Write(p []byte) (int, error) {
	sc := bufio.NewScanner(strings.NewReader(string(p)))
	for sc.Scan() {
		select {
		case l.lines <- sc.Text():
		default:
		}
	}
	return len(p), nil
}

func TestRuncInstanceServesInItsOwnNetwork(t *testing.T) {
	r := needRunc(t)
	img := busyboxImage(t)
	ctx := context.Background()
	out := lockedLines{lines: make(chan string, 100)}
	start := func(id string) Instance {
		in, err := r.Start(ctx, InstanceSpec{ID: id, Hostname: id, Image: img, Output: out, Memory: 64 << 20, Pids: 64,
			Env:  []string{"PATH=/bin", "GREETING=hello-" + id},
			Args: []string{"sh", "-c", `echo "$GREETING" > /www/index.html; echo started; exec httpd -f -p 8080 -h /www`}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = in.Stop(ctx) })
		return in
	}
	// Two instances listen on the same port, each in its own namespace.
	a, b := start("rt-a"), start("rt-b")
	for _, in := range []Instance{a, b} {
		body := waitGet(t, in, 8080)
		if want := "hello-" + in.ID(); strings.TrimSpace(body) != want {
			t.Errorf("%s served %q, want %q", in.ID(), body, want)
		}
		if got := in.Listening(); len(got) != 1 || got[0] != 8080 {
			t.Errorf("%s listens on %v, want [8080]", in.ID(), got)
		}
		// The SKU's limits, in the instance's cgroups (v1 here; v2 names differ).
		for file, want := range map[string]string{"memory/acre-webapps/" + in.ID() + "/memory.limit_in_bytes": "67108864",
			"pids/acre-webapps/" + in.ID() + "/pids.max": "64"} {
			b, err := os.ReadFile("/sys/fs/cgroup/" + file)
			if errors.Is(err, fs.ErrNotExist) {
				t.Logf("%s: not cgroup v1, not checked", file)
				continue
			}
			if got := strings.TrimSpace(string(b)); err != nil || got != want {
				t.Errorf("%s = %q, %v; want %s", file, got, err, want)
			}
		}
		// Its own PID namespace: its init is PID 1 there.
		st, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", in.PID()))
		if !strings.Contains(string(st), fmt.Sprintf("NSpid:\t%d\t1\n", in.PID())) {
			t.Errorf("%s is not PID 1 of a namespace of its own:\n%s", in.ID(), st)
		}
	}
	if err := a.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case <-a.Done():
	default:
		t.Fatal("stopped instance is not done")
	}
	if _, err := os.Stat(filepath.Join(r.Dir, "rt-a")); !os.IsNotExist(err) {
		t.Errorf("bundle of a stopped instance remains: %v", err)
	}
	waitGet(t, b, 8080)
}

// waitGet GETs / on port inside the instance until it answers.
func waitGet(t *testing.T, in Instance, port int) string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		body, err := getIn(in, port, "/")
		if err == nil {
			return body
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %v", in.ID(), err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func getIn(in Instance, port int, path string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := in.Dial(ctx, port)
	if err != nil {
		return "", err
	}
	defer c.Close()
	fmt.Fprintf(c, "GET %s HTTP/1.0\r\nHost: x\r\n\r\n", path)
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	b, err := bufio.NewReader(c).ReadString(0)
	if !strings.HasPrefix(b, "HTTP/1.") {
		return "", fmt.Errorf("no HTTP answer: %q %v", b, err)
	}
	_, body, _ := strings.Cut(b, "\r\n\r\n")
	return body, nil
}
