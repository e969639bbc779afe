package tasks

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"
)

// BuildKit is the Builder over BuildKit: acre runs one buildkitd per
// registry as its child (OCI worker on runc, overlayfs snapshotter, root
// under Root with mode 0700), started on the first build, and drives it
// with buildctl. buildctl as a child process keeps BuildKit's client and
// its dependencies (gRPC, containerd, OpenTelemetry: tens of MB) out of
// acre's binary and build; the cost is a process start per build (a few
// ms) and progress read as text.
type BuildKit struct {
	Buildkitd string // path of buildkitd
	Buildctl  string // path of buildctl
	Root      string // directory for the daemons' state (created 0700)
	// Insecure lists registry hosts reached over plain HTTP (acre's own
	// listener when it serves no TLS); asked when a daemon starts.
	Insecure func() []string
	// Proxy is the URL of the forward proxy buildkitd's own fetches go
	// through (its network guard decides what they reach); "": none.
	Proxy string
	// Own lists the host:port of this server's registries and Allow the
	// tasks.allow entries, for each build's source policy (sourcePolicy).
	Own   func() []string
	Allow []string
	Log   *slog.Logger

	mu      sync.Mutex
	daemons map[string]*daemon
}

type daemon struct {
	cmd  *exec.Cmd
	addr string
	done chan struct{}
}

// Close stops every daemon acre started.
func (b *BuildKit) Close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for name, d := range b.daemons {
		d.stop()
		delete(b.daemons, name)
	}
}

func (d *daemon) stop() {
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.done:
	case <-time.After(10 * time.Second):
		_ = d.cmd.Process.Kill()
		<-d.done
	}
}

// safeName maps a registry name to a directory name.
var unsafeChars = regexp.MustCompile(`[^a-zA-Z0-9_.-]`)

// daemon returns the running buildkitd of a registry, starting it if needed.
func (b *BuildKit) daemon(ctx context.Context, registry string) (*daemon, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.daemons == nil {
		b.daemons = map[string]*daemon{}
	}
	if d, ok := b.daemons[registry]; ok {
		select {
		case <-d.done:
			delete(b.daemons, registry) // it died: start another
		default:
			return d, nil
		}
	}
	d, err := b.start(ctx, unsafeChars.ReplaceAllString(registry, "_"))
	if err != nil {
		return nil, err
	}
	b.daemons[registry] = d
	return d, nil
}

func (b *BuildKit) start(ctx context.Context, name string) (*daemon, error) {
	if err := os.MkdirAll(b.Root, 0o700); err != nil {
		return nil, err
	}
	if err := os.Chmod(b.Root, 0o700); err != nil {
		return nil, err
	}
	dir := filepath.Join(b.Root, name)
	b.reap(ctx, dir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	var cfg strings.Builder
	cfg.WriteString("insecure-entitlements = [\"network.host\"]\n\n[worker.oci]\n  enabled = true\n  snapshotter = \"overlayfs\"\n  binary = \"runc\"\n  gc = true\n\n[worker.containerd]\n  enabled = false\n")
	for _, h := range b.Insecure() {
		fmt.Fprintf(&cfg, "\n[registry.%q]\n  http = true\n  insecure = true\n", h)
	}
	if err := os.WriteFile(filepath.Join(dir, "buildkitd.toml"), []byte(cfg.String()), 0o600); err != nil {
		return nil, err
	}
	sock := filepath.Join(dir, "buildkitd.sock")
	_ = os.Remove(sock)
	logf, err := os.OpenFile(filepath.Join(dir, "buildkitd.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(b.Buildkitd, "--root", filepath.Join(dir, "root"), "--addr", "unix://"+sock,
		"--config", filepath.Join(dir, "buildkitd.toml"))
	cmd.Stdout, cmd.Stderr = logf, logf
	// The daemon dies with acre (even on SIGKILL) and gets no signals meant for acre's group.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir}
	if b.Proxy != "" {
		for _, k := range []string{"HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"} {
			cmd.Env = append(cmd.Env, k+"="+b.Proxy)
		}
	}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start buildkitd: %w", err)
	}
	d := &daemon{cmd: cmd, addr: "unix://" + sock, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); logf.Close(); close(d.done) }()
	// Wait until it answers.
	deadline := time.Now().Add(60 * time.Second)
	for {
		c, cancel := context.WithTimeout(ctx, 5*time.Second)
		err := exec.CommandContext(c, b.Buildctl, "--addr", d.addr, "debug", "workers").Run()
		cancel()
		if err == nil {
			if b.Log != nil {
				b.Log.Info("buildkitd started", "registry", name, "pid", cmd.Process.Pid)
			}
			return d, nil
		}
		select {
		case <-d.done:
			return nil, fmt.Errorf("buildkitd exited at start (see %s)", filepath.Join(dir, "buildkitd.log"))
		case <-ctx.Done():
			d.stop()
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			d.stop()
			return nil, errors.New("buildkitd did not answer within 60 s")
		}
	}
}

// Build implements Builder with buildctl.
func (b *BuildKit) Build(ctx context.Context, req BuildRequest, log io.Writer) (BuildResult, error) {
	d, err := b.daemon(ctx, req.Registry)
	if err != nil {
		return BuildResult{}, err
	}
	meta, err := os.CreateTemp("", "acre-build-meta-*.json")
	if err != nil {
		return BuildResult{}, err
	}
	meta.Close()
	defer os.Remove(meta.Name())
	dfDir := req.DockerfileDir
	if dfDir == "" {
		dfDir = req.ContextDir
	}
	df := req.Dockerfile
	if df == "" {
		df = "Dockerfile"
	}
	args := []string{"--addr", d.addr, "build", "--frontend", "dockerfile.v0", "--progress", "plain",
		"--local", "context=" + req.ContextDir, "--local", "dockerfile=" + dfDir, "--opt", "filename=" + df,
		"--metadata-file", meta.Name()}
	for _, k := range sortedKeys(req.BuildArgs) {
		args = append(args, "--opt", "build-arg:"+k+"="+req.BuildArgs[k])
	}
	if ref := syntaxOf(filepath.Join(dfDir, df)); builtinSyntax.MatchString(ref) {
		// The built-in Dockerfile frontend is a 1.x release: use it rather
		// than pull docker/dockerfile (offline servers cannot).
		args = append(args, "--opt", "cmdline="+ref)
	}
	if b.Own != nil {
		pol := meta.Name() + ".policy"
		if err := os.WriteFile(pol, sourcePolicy(b.Own(), b.Allow), 0o600); err != nil {
			return BuildResult{}, err
		}
		defer os.Remove(pol)
		args = append(args, "--source-policy-file", pol)
	}
	if req.Target != "" {
		args = append(args, "--opt", "target="+req.Target)
	}
	if req.Platform != "" {
		args = append(args, "--opt", "platform="+req.Platform)
	}
	if req.NoCache {
		args = append(args, "--no-cache")
	}
	if req.HostNetwork {
		args = append(args, "--opt", "force-network-mode=host", "--allow", "network.host")
	} else {
		args = append(args, "--opt", "force-network-mode=none")
	}
	// Secret values go through the environment, never the command line.
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.TempDir()}
	if req.DockerConfig != "" {
		env = append(env, "DOCKER_CONFIG="+req.DockerConfig)
	}
	for i, k := range sortedKeys(req.Secrets) {
		v := fmt.Sprintf("ACRE_SECRET_%d", i)
		args = append(args, "--secret", "id="+k+",env="+v)
		env = append(env, v+"="+req.Secrets[k])
	}
	for _, k := range sortedKeys(req.SecretFiles) {
		args = append(args, "--secret", "id="+k+",src="+req.SecretFiles[k])
	}
	if len(req.Tags) > 0 {
		out := `type=image,"name=` + strings.Join(req.Tags, ",") + `"`
		if req.Push {
			out += ",push=true"
		}
		args = append(args, "--output", out)
	}
	cmd := exec.CommandContext(ctx, b.Buildctl, args...)
	cmd.Env = env
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 10 * time.Second
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	bases := map[string]ImageRef{}
	denied := false
	scanDone := make(chan struct{})
	go func() {
		defer close(scanDone)
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			if m := fromLine.FindStringSubmatch(line); m != nil {
				r := SplitRef(m[1])
				r.Digest = m[2]
				bases[m[1]] = r
			}
			denied = denied || strings.Contains(line, "denied by policy")
			fmt.Fprintln(log, line)
		}
		_, _ = io.Copy(io.Discard, pr)
	}()
	err = cmd.Run()
	pw.Close()
	<-scanDone
	if err != nil {
		if ctx.Err() != nil {
			return BuildResult{}, ctx.Err()
		}
		if denied {
			fmt.Fprintln(log, deniedHint)
		}
		return BuildResult{}, fmt.Errorf("build failed: %w", err)
	}
	var md map[string]any
	if b, err := os.ReadFile(meta.Name()); err == nil {
		_ = json.Unmarshal(b, &md)
	}
	res := BuildResult{}
	res.Digest, _ = md["containerimage.digest"].(string)
	for _, k := range sortedKeys(bases) {
		res.Bases = append(res.Bases, bases[k])
	}
	return res, nil
}

// fromLine matches BuildKit's progress line for a resolved base image:
// "#5 [stage-0 1/3] FROM host/repo:tag@sha256:...".
var fromLine = regexp.MustCompile(`^#\d+ \[[^\]]*\] FROM (\S+?)@(sha256:[0-9a-f]{64})`)

// builtinSyntax matches "# syntax=" references the built-in frontend serves.
var builtinSyntax = regexp.MustCompile(`^(docker\.io/)?docker/dockerfile(:1(\.[0-9]+)*)?$`)

// syntaxOf returns the "# syntax=" reference of a Dockerfile, or "".
func syntaxOf(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		if !strings.HasPrefix(line, "#") {
			return ""
		}
		k, v, ok := strings.Cut(strings.TrimSpace(strings.TrimPrefix(line, "#")), "=")
		if ok && strings.EqualFold(strings.TrimSpace(k), "syntax") {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }

// SplitRef splits host/repository:tag (Docker Hub's short forms too).
func SplitRef(ref string) ImageRef {
	var r ImageRef
	if i := strings.Index(ref, "@"); i >= 0 {
		ref, r.Digest = ref[:i], ref[i+1:]
	}
	host, rest, ok := strings.Cut(ref, "/")
	if !ok || !(strings.ContainsAny(host, ".:") || host == "localhost") {
		host, rest = "docker.io", ref
	}
	r.Registry = host
	if i := strings.LastIndex(rest, ":"); i >= 0 && !strings.Contains(rest[i:], "/") {
		rest, r.Tag = rest[:i], rest[i+1:]
	}
	r.Repository = rest
	return r
}
