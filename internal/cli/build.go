package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/acre-project/acre/internal/tasks"
	"github.com/acre-project/acre/internal/tasks/buildctx"
	"github.com/spf13/cobra"
)

// runView is the part of a run the CLI reads.
type runView struct {
	RunID           string `json:"runId"`
	Status          string `json:"status"`
	RunErrorMessage string `json:"runErrorMessage"`
}

// buildFlags are the flags of acre build and acre run.
type buildFlags struct {
	reg, file, target, platform, gitToken, timeout string
	images, buildArgs, secretArgs, set, setSecret  []string
	values                                         string
	noPush, noLogs, noCache, hostNetwork           bool
}

func (f *buildFlags) add(cmd *cobra.Command, build bool) {
	fl := cmd.Flags()
	fl.StringVarP(&f.reg, "registry", "r", "", "registry name")
	fl.StringVarP(&f.file, "file", "f", "", "the Dockerfile (acre build) or task YAML (acre run), relative to the context")
	fl.StringVar(&f.platform, "platform", "", "platform to build for (only the server's own, e.g. linux/amd64)")
	fl.StringVar(&f.gitToken, "git-access-token", "", "token for a private git repository context")
	fl.StringVar(&f.timeout, "timeout", "", "run timeout in seconds (default 3600)")
	fl.BoolVar(&f.noLogs, "no-logs", false, "do not stream the log: print the queued run and return")
	if build {
		fl.StringArrayVarP(&f.images, "image", "t", nil, "image name and tag to push, e.g. app:{{.Run.ID}} (repeatable)")
		fl.StringArrayVar(&f.buildArgs, "build-arg", nil, "build argument KEY=VALUE (repeatable)")
		fl.StringArrayVar(&f.secretArgs, "secret-build-arg", nil, "secret build argument KEY=VALUE, never shown in logs (repeatable)")
		fl.StringVar(&f.target, "target", "", "the stage to build")
		fl.BoolVar(&f.noPush, "no-push", false, "build without pushing")
		fl.BoolVar(&f.noCache, "no-cache", false, "build without the layer cache")
	}
	fl.BoolVar(&f.hostNetwork, "allow-host-network", false, "RUN steps use the host's network (only where the server allows it)")
	if !build {
		fl.StringArrayVar(&f.set, "set", nil, "value KEY=VALUE for {{.Values.KEY}} (repeatable)")
		fl.StringArrayVar(&f.setSecret, "set-secret", nil, "secret value KEY=VALUE for {{.Values.KEY}}, never shown in logs (repeatable)")
		fl.StringVar(&f.values, "values", "", "a file of values (KEY: VALUE lines)")
		fl.StringVar(&f.target, "cmd", "", "run one command in a container instead of a YAML (e.g. \"busybox echo hi\")")
	}
	_ = cmd.MarkFlagRequired("registry")
}

func parseKV(flag string, kvs []string) (map[string]string, error) {
	if len(kvs) == 0 {
		return nil, nil
	}
	m := map[string]string{}
	for _, kv := range kvs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, usageError{fmt.Errorf("--%s %q: want KEY=VALUE", flag, kv)}
		}
		m[k] = v
	}
	return m, nil
}

func newBuildCmd(g *globals) *cobra.Command {
	var f buildFlags
	cmd := &cobra.Command{
		Use:   "build <context>",
		Short: "Build an image on the server from a Dockerfile and push it (like az acr build)",
		Long: `Builds on the server with BuildKit: no Docker engine is needed here. The context is a local
directory (uploaded as a tarball honouring .dockerignore), a git URL
(https://host/org/repo.git#branch:folder) or a tarball URL. The log streams live; Ctrl-C detaches
(the run goes on: acre task logs --run-id <id> reattaches).`,
		Example: `  acre build -r acre -t app:{{.Run.ID}} .
  acre build -r acre -t app:v1 -f docker/Dockerfile --build-arg VERSION=1 --secret-build-arg TOKEN=$TOKEN .
  acre build -r acre -t app:v1 https://git.example/org/app.git#main:src`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			spec := tasks.RunSpec{Kind: tasks.KindBuild, Dockerfile: f.file, Images: f.images, NoPush: f.noPush, Target: f.target,
				Platform: f.platform, NoCache: f.noCache, GitToken: f.gitToken, HostNetwork: f.hostNetwork}
			var err error
			if spec.BuildArgs, err = parseKV("build-arg", f.buildArgs); err != nil {
				return err
			}
			if spec.SecretArgs, err = parseKV("secret-build-arg", f.secretArgs); err != nil {
				return err
			}
			return g.submitRun(cmd, &f, spec, args[0], "build")
		},
	}
	f.add(cmd, true)
	return cmd
}

// submitRun uploads a local context if need be, queues the run and
// follows its log.
func (g *globals) submitRun(cmd *cobra.Command, f *buildFlags, spec tasks.RunSpec, context, what string) error {
	c, err := g.client()
	if err != nil {
		return err
	}
	if f.timeout != "" {
		if _, err := fmt.Sscan(f.timeout, &spec.Timeout); err != nil {
			return usageError{fmt.Errorf("--timeout %q: want seconds", f.timeout)}
		}
	}
	ctx := cmd.Context()
	base := "/api/v1/registries/" + pathEscape(f.reg)
	switch st, err := os.Stat(context); {
	case context == "/dev/null":
		spec.Context = context
	case err == nil && st.IsDir():
		df := spec.Dockerfile
		if df == "" {
			df = "Dockerfile"
		}
		d, err := g.uploadContext(ctx, c, cmd.ErrOrStderr(), base, context, df)
		if err != nil {
			return err
		}
		spec.SourceDigest = d
	case strings.Contains(context, "://") || strings.HasPrefix(context, "git@"):
		spec.Context = context
	default:
		return usageError{fmt.Errorf("context %q: not a directory, a git URL or a tarball URL", context)}
	}
	var run runView
	if err := c.do(ctx, http.MethodPost, base+"/runs", spec, &run); err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	fmt.Fprintf(out, "Queued a %s with ID: %s\n", what, run.RunID)
	if f.noLogs {
		return nil
	}
	fmt.Fprintln(out, "Waiting for an agent...")
	return g.followRun(cmd, c, base, run.RunID)
}

// followRun streams a run's log until it ends, then fails if the run did.
// Ctrl-C detaches: the run goes on.
func (g *globals) followRun(cmd *cobra.Command, c *client, base, runID string) error {
	ctx := cmd.Context()
	err := c.stream(ctx, base+"/runs/"+pathEscape(runID)+"/logs?follow=true", cmd.OutOrStdout())
	if ctx.Err() != nil {
		fmt.Fprintf(cmd.ErrOrStderr(), "\nDetached from run %s; it goes on. Reattach with: acre task logs -r %s --run-id %s\n",
			runID, strings.TrimPrefix(base, "/api/v1/registries/"), runID)
		return nil
	}
	if err != nil {
		return err
	}
	var run runView
	if err := c.do(ctx, http.MethodGet, base+"/runs/"+pathEscape(runID), nil, &run); err != nil {
		return err
	}
	if run.Status != "Succeeded" {
		return fmt.Errorf("run %s %s: %s", runID, strings.ToLower(run.Status), run.RunErrorMessage)
	}
	return nil
}

// stream copies a text answer to w as it arrives (no overall timeout).
func (c *client) stream(ctx context.Context, path string, w io.Writer) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.server+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := (&http.Client{}).Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		return decodeAnswer(resp, nil)
	}
	_, err = io.Copy(w, resp.Body)
	return err
}

// uploadContext packs dir (honouring .dockerignore) and uploads it with a
// progress bar on w; it returns the source digest.
func (g *globals) uploadContext(ctx context.Context, c *client, w io.Writer, base, dir, dockerfile string) (string, error) {
	fmt.Fprintln(w, "Packing source code into tar to upload...")
	tmp, err := os.CreateTemp("", "acre-build-*.tar.gz")
	if err != nil {
		return "", err
	}
	defer func() { tmp.Close(); os.Remove(tmp.Name()) }()
	if err := buildctx.Pack(tmp, dir, filepath.ToSlash(dockerfile), nil); err != nil {
		return "", err
	}
	size, err := tmp.Seek(0, io.SeekCurrent)
	if err != nil {
		return "", err
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return "", err
	}
	abs, _ := filepath.Abs(dir)
	fmt.Fprintf(w, "Uploading archived source code from '%s'...\n", abs)
	body := &progressReader{r: tmp, total: size, w: w}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.server+base+"/sources", body)
	if err != nil {
		return "", err
	}
	req.ContentLength = size
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Content-Type", "application/gzip")
	resp, err := (&http.Client{}).Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body.done()
	var out struct{ Digest string }
	if err := decodeAnswer(resp, &out); err != nil {
		return "", err
	}
	if out.Digest == "" {
		return "", errors.New("the server returned no source digest")
	}
	fmt.Fprintf(w, "Sent build context (%s) to the registry\n", humanBytes(size))
	return out.Digest, nil
}

// progressReader draws an upload progress bar at most every 200 ms.
type progressReader struct {
	r     io.Reader
	w     io.Writer
	total int64
	n     int64
	drawn int64
	last  time.Time
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.n += int64(n)
	if time.Since(p.last) > 200*time.Millisecond {
		p.last = time.Now()
		p.draw()
	}
	return n, err
}

func (p *progressReader) draw() {
	p.drawn = p.n
	pct := 100
	if p.total > 0 {
		pct = int(p.n * 100 / p.total)
	}
	bar := strings.Repeat("#", pct/5) + strings.Repeat(".", 20-pct/5)
	fmt.Fprintf(p.w, "\r[%s] %3d%% %s of %s", bar, pct, humanBytes(p.n), humanBytes(p.total))
}

func (p *progressReader) done() {
	if p.drawn != p.n || p.n == 0 {
		p.draw()
	}
	fmt.Fprintln(p.w)
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

func newRunCmd(g *globals) *cobra.Command {
	var f buildFlags
	cmd := &cobra.Command{
		Use:   "run <context>",
		Short: "Run a multi-step task YAML, or one command, on the server (like az acr run)",
		Long: `Runs ACR's task YAML (build, push and cmd steps; when: for order and parallel steps) on the
server. -f names the YAML: a local file (sent with the request) or a path in a remote context. --cmd
runs one container instead (use /dev/null as the context when none is needed).`,
		Example: `  acre run -r acre -f acb.yaml .
  acre run -r acre --cmd "$Registry/tools/busybox:1 echo hello" /dev/null
  acre run -r acre -f acb.yaml --set tag=v2 https://git.example/org/app.git#main`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			spec := tasks.RunSpec{Kind: tasks.KindSteps, Platform: f.platform, GitToken: f.gitToken, HostNetwork: f.hostNetwork}
			var err error
			if spec.Values, err = parseKV("set", f.set); err != nil {
				return err
			}
			if spec.SecretValues, err = parseKV("set-secret", f.setSecret); err != nil {
				return err
			}
			if f.values != "" {
				vals, err := readValues(f.values)
				if err != nil {
					return err
				}
				for k, v := range spec.Values {
					vals[k] = v // --set wins over --values
				}
				spec.Values = vals
			}
			switch {
			case f.target != "": // --cmd
				spec.YAML = "steps:\n  - cmd: " + jsonQuote(f.target) + "\n"
			case f.file == "":
				return usageError{fmt.Errorf("give -f <task YAML> or --cmd")}
			default:
				for _, p := range []string{filepath.Join(args[0], f.file), f.file} {
					if b, err := os.ReadFile(p); err == nil {
						spec.YAML = string(b)
						break
					}
				}
				if spec.YAML == "" {
					spec.File = f.file // in the (remote) context
				}
			}
			return g.submitRun(cmd, &f, spec, args[0], "run")
		},
	}
	f.add(cmd, false)
	return cmd
}

// readValues reads a values file of "key: value" lines.
func readValues(path string) (map[string]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	vals := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			return nil, usageError{fmt.Errorf("--values %s: %q is not key: value", path, line)}
		}
		vals[strings.TrimSpace(k)] = strings.Trim(strings.TrimSpace(v), `"'`)
	}
	return vals, nil
}

func jsonQuote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
