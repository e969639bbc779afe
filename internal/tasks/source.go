package tasks

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/acre-project/acre/internal/tasks/buildctx"
	"github.com/opencontainers/go-digest"
)

// source is a run's fetched context.
type source struct {
	dir    string // the build context (the folder of a git URL)
	root   string // the whole checkout or upload
	commit string // the git head revision, for git sources
	branch string
}

// IsGitURL reports whether a context names a git repository
// (https://host/org/repo.git#branch:folder, git@..., or a .git path).
func IsGitURL(s string) bool {
	base, _, _ := strings.Cut(s, "#")
	return strings.HasPrefix(s, "git@") || strings.HasPrefix(s, "git://") ||
		((strings.HasPrefix(s, "https://") || strings.HasPrefix(s, "http://")) && strings.HasSuffix(base, ".git"))
}

// SplitGitURL splits url#ref:folder.
func SplitGitURL(s string) (repo, ref, folder string) {
	repo, frag, _ := strings.Cut(s, "#")
	ref, folder, _ = strings.Cut(frag, ":")
	return repo, ref, folder
}

// fetchSource puts the run's context under dir/src.
func (s *Service) fetchSource(ctx context.Context, spec RunSpec, dir string) (source, error) {
	src := source{root: filepath.Join(dir, "src")}
	if err := os.Mkdir(src.root, 0o700); err != nil {
		return src, err
	}
	folder := ""
	if u, err := url.Parse(strings.TrimPrefix(spec.Context, "git@")); err == nil && u.Host != "" && s.o.OwnHost != nil {
		hp := u.Host
		if u.Port() == "" {
			hp += map[string]string{"https": ":443", "http": ":80"}[u.Scheme]
		}
		if s.o.OwnHost(hp) {
			return src, fmt.Errorf("context %s: this server's own address is not a build source", spec.Context)
		}
	}
	switch c := spec.Context; {
	case spec.SourceDigest != "":
		d, err := digest.Parse(spec.SourceDigest)
		if err != nil {
			return src, err
		}
		rc, err := s.o.Blobs.Open(ctx, d, 0)
		if err != nil {
			return src, fmt.Errorf("the uploaded source is gone: %w", err)
		}
		defer rc.Close()
		if err := buildctx.Extract(rc, src.root, s.o.MaxContext); err != nil {
			return src, err
		}
	case IsGitURL(c):
		repo, ref, f := SplitGitURL(c)
		folder = f
		commit, err := gitFetch(ctx, repo, ref, spec.GitToken, s.o.GitProxy, src.root)
		if err != nil {
			return src, err
		}
		src.commit, src.branch = commit, ref
	case strings.HasPrefix(c, "https://") || strings.HasPrefix(c, "http://"):
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, c, nil)
		if err != nil {
			return src, err
		}
		if s.o.Fetch == nil {
			return src, errors.New("download context: this server fetches no URLs (no network guard configured)")
		}
		resp, err := s.o.Fetch.Do(req)
		if err != nil {
			return src, fmt.Errorf("download context: %w", err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return src, fmt.Errorf("download context: %s", resp.Status)
		}
		if err := buildctx.Extract(resp.Body, src.root, s.o.MaxContext); err != nil {
			return src, err
		}
	case c == "" || c == "/dev/null":
		// an empty context (a run made of cmd steps only)
	default:
		return src, fmt.Errorf("context %q: want an uploaded directory, a git URL or a tarball URL", c)
	}
	src.dir = src.root
	if folder != "" {
		clean := filepath.Clean("/" + folder)
		src.dir = filepath.Join(src.root, clean)
		if st, err := os.Stat(src.dir); err != nil || !st.IsDir() {
			return src, fmt.Errorf("context folder %q not found in the repository", folder)
		}
	}
	return src, nil
}

// gitEnv is git's environment: no prompts nor system configuration, the
// token as an HTTP header, and proxy (the fetch proxy, whose network
// guard decides what http(s) git URLs reach; git's libcurl uses it for
// loopback hosts too) unless "".
func gitEnv(home, token, proxy string) []string {
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home, "GIT_TERMINAL_PROMPT=0", "GIT_CONFIG_NOSYSTEM=1"}
	if token != "" {
		auth := base64.StdEncoding.EncodeToString([]byte("x-access-token:" + token))
		env = append(env, "GIT_CONFIG_COUNT=1", "GIT_CONFIG_KEY_0=http.extraHeader", "GIT_CONFIG_VALUE_0=Authorization: Basic "+auth)
	}
	if proxy != "" {
		env = append(env, "http_proxy="+proxy, "https_proxy="+proxy, "HTTPS_PROXY="+proxy, "no_proxy=", "NO_PROXY=")
	}
	return env
}

// gitFetch fetches one ref (a branch, tag or commit; "" for the default
// branch) of repo into dir, without history, and returns its commit. A
// token goes in an HTTP header through git's environment, never on its
// command line.
func gitFetch(ctx context.Context, repo, ref, token, proxy, dir string) (string, error) {
	if u, err := url.Parse(repo); err == nil && u.User != nil {
		return "", fmt.Errorf("git URL: put credentials in --git-access-token, not in the URL")
	}
	env := gitEnv(dir, token, proxy)
	run := func(args ...string) (string, error) {
		cmd := exec.CommandContext(ctx, "git", args...)
		cmd.Dir, cmd.Env = dir, env
		out, err := cmd.CombinedOutput()
		if err != nil {
			msg := strings.TrimSpace(string(out))
			if token != "" {
				msg = strings.ReplaceAll(msg, token, "*****")
			}
			if proxy != "" && strings.Contains(msg, "403") {
				msg += " (a 403 may be acre's network guard refusing a loopback, link-local or own address; an operator may allow it in tasks.allow)"
			}
			return "", fmt.Errorf("git %s: %v: %s", args[0], err, msg)
		}
		return strings.TrimSpace(string(out)), nil
	}
	if ref == "" {
		ref = "HEAD"
	}
	for _, args := range [][]string{{"init", "-q"}, {"fetch", "-q", "--depth", "1", repo, ref}, {"checkout", "-q", "FETCH_HEAD"}} {
		if _, err := run(args...); err != nil {
			return "", err
		}
	}
	commit, err := run("rev-parse", "HEAD")
	if err != nil {
		return "", err
	}
	return commit, os.RemoveAll(filepath.Join(dir, ".git"))
}

// gitHead returns the commit ref (a branch; "" for the default branch)
// points at in repo, with git ls-remote; the token goes through git's
// environment.
func gitHead(ctx context.Context, repo, ref, token, proxy string) (string, error) {
	if ref == "" {
		ref = "HEAD"
	}
	env := gitEnv(os.TempDir(), token, proxy)
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "git", "ls-remote", repo, ref)
	cmd.Env = env
	out, err := cmd.Output()
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) == 2 && (f[1] == ref || f[1] == "refs/heads/"+ref) {
			return f[0], nil
		}
	}
	return "", nil
}
