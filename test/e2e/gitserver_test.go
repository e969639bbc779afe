//go:build e2e && linux

package e2e

import (
	"fmt"
	"net"
	"net/http"
	"net/http/cgi"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// gitServer is a smart-HTTP git server (git http-backend through CGI) on
// loopback, serving bare repositories under root.
type gitServer struct {
	URL  string // http://127.0.0.1:port
	root string
	env  []string // for git commands run by the test
}

func startGitServer(t testing.TB) *gitServer {
	t.Helper()
	backend := "/usr/lib/git-core/git-http-backend"
	if _, err := os.Stat(backend); err != nil {
		t.Fatalf("git is not installed (%v): run the README's test command, which installs it", err)
	}
	root := t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h := &cgi.Handler{Path: backend, Root: "/", Env: []string{"GIT_PROJECT_ROOT=" + root, "GIT_HTTP_EXPORT_ALL=1"}}
	srv := &http.Server{Handler: h}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	home := t.TempDir()
	return &gitServer{URL: "http://" + ln.Addr().String(), root: root, env: []string{"HOME=" + home,
		"GIT_AUTHOR_NAME=test", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=test", "GIT_COMMITTER_EMAIL=t@example.com",
		"GIT_CONFIG_NOSYSTEM=1"}}
}

// repo creates a bare repository name.git and a working clone of it; it
// returns the clone's directory.
func (g *gitServer) repo(t testing.TB, name string) string {
	t.Helper()
	Run(t, g.env, "git", "init", "-q", "--bare", "-b", "main", filepath.Join(g.root, name+".git"))
	Run(t, g.env, "git", "-C", filepath.Join(g.root, name+".git"), "config", "http.receivepack", "true")
	work := t.TempDir()
	Run(t, g.env, "git", "init", "-q", "-b", "main", work)
	Run(t, g.env, "git", "-C", work, "remote", "add", "origin", g.URL+"/"+name+".git")
	return work
}

// commit writes files into the clone, commits and pushes; it returns the commit.
func (g *gitServer) commit(t testing.TB, work string, files map[string]string) string {
	t.Helper()
	writeFiles(t, work, files)
	Run(t, g.env, "git", "-C", work, "add", "-A")
	Run(t, g.env, "git", "-C", work, "commit", "-q", "-m", "change")
	Run(t, g.env, "git", "-C", work, "push", "-q", "origin", "main")
	return strings.TrimSpace(Run(t, g.env, "git", "-C", work, "rev-parse", "HEAD"))
}

// config writes an acre configuration whose runs may fetch from the git
// server (tasks.allow: it is on loopback), with extra tasks settings
// (indented lines), and returns its path.
func (g *gitServer) config(t testing.TB, extra string) string {
	t.Helper()
	cfg := filepath.Join(t.TempDir(), "acre.yaml")
	must(t, os.WriteFile(cfg, []byte(fmt.Sprintf("tasks:\n  allow: [%q]\n%s", strings.TrimPrefix(g.URL, "http://"), extra)), 0o600))
	return cfg
}
