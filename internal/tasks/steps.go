package tasks

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// steps runs a multi-step YAML: steps start when the steps named in their
// when have ended ("-": at once), so independent steps run in parallel; a
// failing step (unless ignoreErrors) stops the run with its error.
func (s *Service) steps(ctx context.Context, e *runEnv) error {
	raw := e.spec.YAML
	if raw == "" {
		b, err := os.ReadFile(filepath.Join(e.src.dir, filepath.Clean("/"+e.spec.File)))
		if err != nil {
			return invalid("task YAML %s: %v", e.spec.File, err)
		}
		raw = string(b)
	}
	secrets, err := s.yamlSecrets(ctx, e, raw)
	if err != nil {
		return err
	}
	e.vars.Secrets = secrets
	rendered, err := Render(raw, e.vars)
	if err != nil {
		return err
	}
	f, err := ParseACB([]byte(rendered))
	if err != nil {
		return err
	}
	for _, v := range f.Volumes {
		for k, b := range v.files {
			e.log.mask(string(b), v.Secret[k])
		}
	}
	// The images the run may push: every push step's.
	var repos []string
	for _, st := range f.Steps {
		for _, img := range st.Push {
			_, repo, err := e.qualify(img)
			if err != nil {
				return err
			}
			repos = append(repos, repo)
		}
	}
	if err := s.login(ctx, e, repos); err != nil {
		return err
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	x := &stepRun{s: s, e: e, f: f, runCtx: ctx, built: map[string]BuildRequest{}, done: map[string]chan struct{}{}}
	for _, st := range f.Steps {
		x.done[st.ID] = make(chan struct{})
	}
	var wg sync.WaitGroup
	for i := range f.Steps {
		st := &f.Steps[i]
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer close(x.done[st.ID])
			for _, w := range st.When {
				if w == "-" {
					continue
				}
				select {
				case <-x.done[w]:
				case <-ctx.Done():
					return
				}
			}
			if ctx.Err() != nil {
				return
			}
			if err := x.run(ctx, st); err != nil && !st.IgnoreErrors {
				cancel(err)
			}
		}()
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return err
	}
	writeDependencies(e.log, e.out)
	return nil
}

// stepRun is one run of an ACB file.
type stepRun struct {
	s      *Service
	e      *runEnv
	f      *ACB
	runCtx context.Context // ends with the run (detached steps stop then)

	mu    sync.Mutex
	built map[string]BuildRequest // what built each tag, for push steps
	done  map[string]chan struct{}
}

// run runs one step with its start delay, timeout, retries and repeats.
func (x *stepRun) run(ctx context.Context, st *Step) error {
	l := x.e.log
	if st.StartDelay > 0 {
		select {
		case <-time.After(time.Duration(st.StartDelay) * time.Second):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	var err error
	for attempt := 0; attempt <= st.Retries; attempt++ {
		if attempt > 0 {
			l.Printf("Retrying step ID: %s (attempt %d) after %ds", st.ID, attempt+1, st.RetryDelay)
			select {
			case <-time.After(time.Duration(st.RetryDelay) * time.Second):
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		started := time.Now()
		l.Printf("Executing step ID: %s. Timeout(sec): %d, Working directory: '%s', Network: '%s'", st.ID, st.Timeout,
			st.WorkingDirectory, st.Network)
		sctx, cancel := context.WithTimeoutCause(ctx, time.Duration(st.Timeout)*time.Second,
			fmt.Errorf("step %s timed out after %d s", st.ID, st.Timeout))
		for rep := 0; rep <= st.Repeat && err == nil || rep == 0; rep++ {
			err = x.once(sctx, st)
		}
		if err != nil && sctx.Err() != nil {
			err = context.Cause(sctx)
		}
		cancel()
		if err == nil {
			l.Printf("Step ID: %s marked as successful (elapsed time in seconds: %f)", st.ID, time.Since(started).Seconds())
			return nil
		}
		l.Printf("Step ID: %s marked as failed (elapsed time in seconds: %f): %v", st.ID, time.Since(started).Seconds(), err)
		if ctx.Err() != nil {
			break
		}
	}
	if st.IgnoreErrors {
		l.Printf("Step ID: %s failed; its errors are ignored", st.ID)
	}
	return fmt.Errorf("step %s failed: %w", st.ID, err)
}

// once runs a step once.
func (x *stepRun) once(ctx context.Context, st *Step) error {
	if st.Network == "host" && !x.s.o.AllowHostNetwork {
		return errors.New("host network for steps is not allowed on this server (tasks.allow_host_network)")
	}
	switch {
	case st.Build != "":
		return x.build(ctx, st)
	case len(st.Push) > 0:
		return x.push(ctx, st)
	default:
		return x.cmd(ctx, st)
	}
}

// build runs a build step ("-t img -f Dockerfile --build-arg K=V ctx"):
// the image goes to BuildKit's cache; a push step pushes it.
func (x *stepRun) build(ctx context.Context, st *Step) error {
	args, err := splitArgs(st.Build)
	if err != nil {
		return err
	}
	req := BuildRequest{Registry: x.e.reg.Name, BuildArgs: map[string]string{}, DockerConfig: x.e.docker,
		HostNetwork: x.e.spec.HostNetwork || st.Network == "host", Secrets: x.e.spec.SecretArgs}
	var tags []string
	ctxArg := ""
	for i := 0; i < len(args); i++ {
		a := args[i]
		val := func() (string, error) {
			if k, v, ok := strings.Cut(a, "="); ok && strings.HasPrefix(k, "--") {
				return v, nil
			}
			if i+1 >= len(args) {
				return "", invalid("step %s: %s needs a value", st.ID, a)
			}
			i++
			return args[i], nil
		}
		name, _, _ := strings.Cut(a, "=")
		var v string
		switch name {
		case "-t", "--tag", "-f", "--file", "--build-arg", "--target", "--platform":
			if v, err = val(); err != nil {
				return err
			}
		}
		switch name {
		case "-t", "--tag":
			tags = append(tags, v)
		case "-f", "--file":
			req.Dockerfile = v
		case "--build-arg":
			k, bv, _ := strings.Cut(v, "=")
			req.BuildArgs[k] = bv
		case "--target":
			req.Target = v
		case "--platform":
			req.Platform = v
		case "--no-cache":
			req.NoCache = true
		case "--pull":
		default:
			if strings.HasPrefix(a, "-") {
				return invalid("step %s: build option %s is not supported", st.ID, a)
			}
			if ctxArg != "" {
				return invalid("step %s: two contexts (%s and %s)", st.ID, ctxArg, a)
			}
			ctxArg = a
		}
	}
	if ctxArg == "" {
		ctxArg = "."
	}
	req.ContextDir = filepath.Join(x.e.src.root, filepath.Clean("/"+ctxArg))
	if req.Dockerfile == "" {
		req.Dockerfile = "Dockerfile"
	}
	for k, v := range x.e.spec.SecretArgs {
		req.BuildArgs[k] = v
	}
	for _, t := range tags {
		full, _, err := x.e.qualify(t)
		if err != nil {
			return err
		}
		req.Tags = append(req.Tags, full)
	}
	// Built without an output (into the cache); push steps rebuild it
	// from the cache with a push.
	noOut := req
	noOut.Tags = nil
	res, err := x.s.o.Builder.Build(ctx, noOut, x.e.log)
	if err != nil {
		return err
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	for _, t := range req.Tags {
		x.built[t] = req
	}
	rt, bt := splitBases(filepath.Join(req.ContextDir, req.Dockerfile), res.Bases)
	if rt != nil {
		x.e.out.Runtime = rt
	}
	x.e.out.Buildtime = append(x.e.out.Buildtime, bt...)
	return nil
}

// push pushes images built by earlier build steps.
func (x *stepRun) push(ctx context.Context, st *Step) error {
	for _, img := range st.Push {
		full, _, err := x.e.qualify(img)
		if err != nil {
			return err
		}
		x.mu.Lock()
		req, ok := x.built[full]
		x.mu.Unlock()
		if !ok {
			return invalid("step %s: %s was not built by an earlier build step", st.ID, full)
		}
		x.e.log.Printf("Pushing image: %s, attempt 1", full)
		req.Tags, req.Push, req.NoCache = []string{full}, true, false
		res, err := x.s.o.Builder.Build(ctx, req, x.e.log)
		if err != nil {
			return err
		}
		x.e.log.Printf("Successfully pushed image: %s", full)
		ref := SplitRef(full)
		ref.Digest = res.Digest
		x.mu.Lock()
		x.e.out.Images = append(x.e.out.Images, ref)
		x.mu.Unlock()
	}
	return nil
}

// cmd runs a container from an image with the step's arguments, on
// BuildKit: a one-instruction build (FROM image, RUN the command) with the
// source mounted at /workspace and no cache, so it always runs.
func (x *stepRun) cmd(ctx context.Context, st *Step) error {
	words, err := splitArgs(st.Cmd)
	if err != nil || len(words) == 0 {
		return invalid("step %s: cmd %q: %v", st.ID, st.Cmd, err)
	}
	image := words[0]
	if !strings.Contains(image, "/") || !strings.ContainsAny(strings.SplitN(image, "/", 2)[0], ".:") {
		if full, _, err := x.e.qualify(image); err == nil {
			image = full // a repository of the run's registry
		}
	}
	argv := words[1:]
	if st.EntryPoint != "" {
		argv = append([]string{st.EntryPoint}, argv...)
	}
	if len(argv) == 0 {
		return invalid("step %s: cmd %q has no command to run (give arguments or entryPoint)", st.ID, st.Cmd)
	}
	dir, err := os.MkdirTemp(x.e.dir, "cmd-")
	if err != nil {
		return err
	}
	var df strings.Builder
	fmt.Fprintf(&df, "FROM %s\n", image)
	env := append(append([]string{}, x.f.Env...), st.Env...)
	secretEnv, secretMounts := map[string]string{}, ""
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		if x.e.log.Redact(v) == v {
			fmt.Fprintf(&df, "ENV %s=%s\n", k, jsonString(v))
			continue
		}
		// A value holding a secret reaches the step as a secret mount, so
		// it is in no Dockerfile line, image config or engine cache.
		if !envNameRE.MatchString(k) {
			return invalid("step %s: env %q: a name of letters, digits and _", st.ID, k)
		}
		id := fmt.Sprintf("acre-env-%d", len(secretEnv))
		secretEnv[id] = v
		secretMounts += " --mount=type=secret,id=" + id + ",env=" + k
	}
	wd := "/workspace"
	if st.WorkingDirectory != "" {
		wd = st.WorkingDirectory
	} else if x.f.WorkingDirectory != "" {
		wd = x.f.WorkingDirectory
	}
	if st.User != "" {
		fmt.Fprintf(&df, "USER %s\n", st.User)
	}
	fmt.Fprintf(&df, "WORKDIR %s\n", wd)
	files, mounts, err := x.volumeFiles(st, dir)
	if err != nil {
		return err
	}
	fmt.Fprintf(&df, "RUN --mount=type=bind,target=/workspace,rw%s%s [", mounts, secretMounts)
	for i, a := range argv {
		if i > 0 {
			df.WriteString(", ")
		}
		df.WriteString(jsonString(a))
	}
	df.WriteString("]\n")
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(df.String()), 0o600); err != nil {
		return err
	}
	x.e.log.Printf("Launching container with name: %s", st.ID)
	req := x.cmdRequest(st, dir)
	req.SecretFiles, req.Secrets = files, cloneMap(req.Secrets)
	if req.Secrets == nil {
		req.Secrets = map[string]string{}
	}
	for id, v := range secretEnv {
		req.Secrets[id] = v
	}
	if st.Detach {
		go func() { defer os.RemoveAll(dir); _, _ = x.s.o.Builder.Build(x.runCtx, req, x.e.log) }()
		return nil
	}
	defer os.RemoveAll(dir)
	_, err = x.s.o.Builder.Build(ctx, req, x.e.log)
	if err == nil {
		x.e.log.Printf("Successfully executed container: %s", st.ID)
	}
	return err
}

func (x *stepRun) cmdRequest(st *Step, dfDir string) BuildRequest {
	return BuildRequest{Registry: x.e.reg.Name, ContextDir: x.e.src.root, DockerfileDir: dfDir, Dockerfile: "Dockerfile",
		DockerConfig: x.e.docker, NoCache: true, HostNetwork: x.e.spec.HostNetwork || st.Network == "host",
		Secrets: x.e.spec.SecretArgs}
}

func jsonString(s string) string { return yamlQuote(s) }
