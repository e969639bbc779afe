//go:build e2e

package e2e

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// goServerSource is the web server of the test image: it answers with its
// VERSION, echoes environment variables and forwarded headers, and counts
// visits in /home/visits.
const goServerSource = `package main

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

func main() {
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintf(w, "go-server version=%s path=%s", os.Getenv("VERSION"), r.URL.Path) })
	http.HandleFunc("/env/", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, os.Getenv(strings.TrimPrefix(r.URL.Path, "/env/"))) })
	http.HandleFunc("/headers", func(w http.ResponseWriter, r *http.Request) {
		for _, h := range []string{"X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto", "X-Forwarded-Prefix"} {
			fmt.Fprintf(w, "%s=%s\n", h, r.Header.Get(h))
		}
	})
	http.HandleFunc("/stat/", func(w http.ResponseWriter, r *http.Request) {
		_, err := os.Stat(strings.TrimPrefix(r.URL.Path, "/stat"))
		fmt.Fprint(w, err == nil)
	})
	http.HandleFunc("/dial/", func(w http.ResponseWriter, r *http.Request) {
		c, err := net.DialTimeout("tcp", strings.TrimPrefix(r.URL.Path, "/dial/"), 2*time.Second)
		if err == nil {
			c.Close()
		}
		fmt.Fprint(w, err == nil)
	})
	sick := false
	http.HandleFunc("/sick", func(w http.ResponseWriter, r *http.Request) { sick = true })
	http.HandleFunc("/health", func(w http.ResponseWriter, r *http.Request) {
		if sick {
			http.Error(w, "sick", 500)
		}
	})
	http.HandleFunc("/visit", func(w http.ResponseWriter, r *http.Request) {
		b, _ := os.ReadFile("/home/visits")
		n, _ := strconv.Atoi(string(b))
		n++
		if err := os.WriteFile("/home/visits", []byte(strconv.Itoa(n)), 0o644); err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		fmt.Fprint(w, n)
	})
	fmt.Println("go-server listening on 8080")
	if err := http.ListenAndServe(":8080", nil); err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
}
`

// needWebApps skips unless this machine can run web apps (root, runc).
func needWebApps(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("web apps need root")
	}
	if _, err := exec.LookPath("runc"); err != nil {
		t.Skip("runc is not installed: run scripts/install-test-deps.sh")
	}
	if _, err := os.Stat("/bin/busybox"); err != nil {
		t.Skip("busybox-static is not installed: run scripts/install-test-deps.sh")
	}
}

// layerTar writes a tar layer of files (path → content, mode 0755).
func layerTar(t testing.TB, files map[string][]byte) string {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for name, b := range files {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o755, Size: int64(len(b)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(b); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "layer.tar")
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// buildGoServer compiles goServerSource as a static binary.
func buildGoServer(t testing.TB) []byte {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(goServerSource), 0o644); err != nil {
		t.Fatal(err)
	}
	Run(t, nil, "sh", "-c", "cd "+dir+" && printf 'module srv\\ngo 1.22\\n' > go.mod && CGO_ENABLED=0 go build -o server .")
	b, err := os.ReadFile(filepath.Join(dir, "server"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// webAppsServer starts acre with web apps on and returns it with the front
// door's base URL.
func webAppsServer(t testing.TB, config string, flags ...string) (*Acre, string) {
	t.Helper()
	cfg := filepath.Join(t.TempDir(), "acre.yaml")
	// Webhooks may reach acre's own listeners only where the operator
	// allows it: the CD webhook calls the front door, so it gets a port
	// known in advance.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	door := ln.Addr().String()
	ln.Close()
	body := "webapps:\n  addr: " + door + "\n  probe: 300ms\n  max_backoff: 1s\n  stop_grace: 2s\n" + config +
		"webhooks:\n  allow: [\"" + door + "\"]\n"
	if err := os.WriteFile(cfg, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	a := StartAcre(t, "", append([]string{"--config", cfg}, flags...)...)
	t.Cleanup(func() {
		// A graceful stop stops the apps' containers; then make sure.
		a.Stop(t)
		root := filepath.Join(a.Data, "webapps", "runc")
		out, _ := RunErr(nil, "runc", "--root", root, "list", "-q")
		for _, id := range strings.Fields(out) {
			t.Errorf("container %s still runs after acre stopped", id)
			_, _ = RunErr(nil, "runc", "--root", root, "delete", "--force", id)
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		for _, line := range strings.Split(a.Logs(), "\n") {
			var rec struct{ Msg, Addr string }
			if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "web apps front door" {
				return a, "http://" + rec.Addr
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("the front door did not start:\n%s", a.Logs())
	return nil, ""
}

type appShow struct {
	State    string
	Identity struct{ PrincipalID string }
	Status   struct {
		State, Message, Digest, Image string
		Instances                     []string
		RestartCount                  int
		KeyVaultReferences            any
	}
	DefaultHostName string
}

func showApp(t *testing.T, cli acreCLI, name string) appShow {
	t.Helper()
	var s appShow
	cli.json(t, &s, "webapp", "show", "-n", name)
	return s
}

// eventually polls cond until it holds, failing after a generous deadline.
func eventually(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	last := ""
	for time.Now().Before(deadline) {
		ok, info := cond()
		if ok {
			return
		}
		last = info
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s: still not true after 2m; last: %s", what, last)
}

// get fetches url (with an optional Host) and returns the status and body.
func get(url, host string) (int, string) {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return 0, err.Error()
	}
	if host != "" {
		req.Host = host
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func bodyIs(url, host, want string) func() (bool, string) {
	return func() (bool, string) {
		code, body := get(url, host)
		return code == 200 && strings.Contains(body, want), fmt.Sprintf("%d %s", code, body)
	}
}
