//go:build e2e && linux

package e2e

import (
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
// reached.
func TestBuildFetchesThroughGuard(t *testing.T) {
	serve := func(body string) *httptest.Server {
		s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, body) }))
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
	if !strings.Contains(b.a.logs.String(), "build fetch refused") {
		t.Errorf("acre's log does not say it refused a build's fetch")
	}
}
