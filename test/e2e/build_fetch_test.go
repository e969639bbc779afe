//go:build e2e && linux

package e2e

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestBuildFetchesThroughGuard: what BuildKit fetches for a Dockerfile
// (ADD <url>, FROM) cannot reach acre's own listener, another loopback
// listener, nor a link-local address (cloud metadata), each failing the build with
// a log line saying why; a listener the operator allows (tasks.allow) is
// reached. Tarball and git contexts, which acre fetches itself, pass the
// same guard.
func TestBuildFetchesThroughGuard(t *testing.T) {
	// Each serves body, and at /ctx.tar.gz a build context.
	serve := func(body string) *httptest.Server {
		s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/ctx.tar.gz" {
				w.Write(contextTarball(t, map[string]string{"Dockerfile": "FROM scratch\nCOPY f /fetched\n", "f": body}))
				return
			}
			io.WriteString(w, body)
		}))
		t.Cleanup(s.Close)
		return s
	}
	allowed, other := serve("allowed content\n"), serve("other content\n")
	allowedHost, otherHost := strings.TrimPrefix(allowed.URL, "http://"), strings.TrimPrefix(other.URL, "http://")
	cfg := t.TempDir() + "/acre.yaml"
	writeFiles(t, "/", map[string]string{cfg: fmt.Sprintf("tasks:\n  allow: [%q]\n", allowedHost)})
	b := startBuilds(t, "", "--config", cfg)
	build := func(tag, url string) (string, error) {
		ctx := t.TempDir()
		df := "FROM scratch\nADD " + url + " /fetched\n"
		if img, ok := strings.CutPrefix(url, "image:"); ok {
			df = "FROM " + img + "\n"
		}
		writeFiles(t, ctx, map[string]string{"Dockerfile": df})
		return b.acreErr("build", "-r", "acre", "-t", tag, ctx)
	}
	for _, c := range []struct{ name, url, want string }{
		{"acre's own listener", "http://" + b.a.Addr + "/healthz", "tasks.allow"},
		{"another loopback listener", "http://" + otherHost + "/x", "tasks.allow"},
		{"localhost", "http://localhost:" + strings.Split(otherHost, ":")[1] + "/x", "tasks.allow"},
		{"a link-local address", "http://169.254.169.254/latest/meta-data/", "403"},
		{"a link-local address over TLS", "https://169.254.169.254/latest/meta-data/", "link-local"},
		{"an image from another loopback listener", "image:" + otherHost + "/img:1", "tasks.allow"},
	} {
		out, err := build("fetch:denied", c.url)
		if err == nil || !strings.Contains(out, c.want) || strings.Contains(out, "other content") {
			t.Errorf("ADD from %s (%s): %v, want a failure saying %q:\n%s", c.name, c.url, err, c.want, tail(out, 15))
		}
	}
	if _, err := build("fetch:allowed", allowed.URL+"/x"); err != nil {
		t.Fatalf("ADD from the allowed listener: %v", err)
	}
	if got := string(b.imageFiles(t, "fetch:allowed")["fetched"]); got != "allowed content\n" {
		t.Errorf("fetched %q", got)
	}
	// Tarball contexts, which acre downloads itself, go through the guard too.
	for _, c := range []struct{ url, want string }{
		{"http://169.254.169.254/ctx.tar.gz", "link-local"},
		{other.URL + "/ctx.tar.gz", "loopback"},
	} {
		if out, err := b.acreErr("build", "-r", "acre", "-t", "ctx:denied", c.url); err == nil || !strings.Contains(out, c.want) ||
			!strings.Contains(out, "tasks.allow") {
			t.Errorf("a tarball context at %s: %v, want a failure saying %q:\n%s", c.url, err, c.want, tail(out, 8))
		}
	}
	// So do git contexts (git goes through the fetch proxy).
	g := startGitServer(t)
	g.commit(t, g.repo(t, "app"), map[string]string{"Dockerfile": "FROM scratch\n"})
	if out, err := b.acreErr("build", "-r", "acre", "-t", "git:denied", g.URL+"/app.git#main"); err == nil || !strings.Contains(out, "tasks.allow") {
		t.Errorf("a git context on a loopback server not allowed: %v\n%s", err, tail(out, 8))
	}
	b.acre(t, "build", "-r", "acre", "-t", "ctx:allowed", allowed.URL+"/ctx.tar.gz")
	if got := string(b.imageFiles(t, "ctx:allowed")["fetched"]); got != "allowed content\n" {
		t.Errorf("built from the allowed tarball context: %q", got)
	}
	if !strings.Contains(b.a.logs.String(), "build fetch refused") {
		t.Errorf("acre's log does not say it refused a build's fetch")
	}
}

// contextTarball is a gzipped tarball of files.
func contextTarball(t *testing.T, files map[string]string) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for name, body := range files {
		must(t, tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg}))
		_, err := tw.Write([]byte(body))
		must(t, err)
	}
	must(t, tw.Close())
	must(t, zw.Close())
	return buf.Bytes()
}
