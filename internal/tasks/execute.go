package tasks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/acre-project/acre/internal/meta"
)

// RunOutput is what a finished run reports.
type RunOutput struct {
	Images    []ImageRef `json:"images,omitempty"`
	Runtime   *ImageRef  `json:"runtimeDependency,omitempty"`
	Buildtime []ImageRef `json:"buildtimeDependencies,omitempty"`
	GitCommit string     `json:"gitCommit,omitempty"`
}

var (
	errTimeout  = errors.New("the run timed out")
	errCanceled = errors.New("canceled by the user")
	errLost     = errors.New("this node lost the run's lease")
	errStopping = errors.New("the server stopped during the run")
)

// runEnv is what one run's steps share.
type runEnv struct {
	reg    *meta.Registry
	run    *meta.Run
	spec   RunSpec
	host   string // registry host:port the engine reaches
	dir    string // private work directory
	src    source
	docker string // DOCKER_CONFIG directory
	vars   Vars
	log    *runLog
	out    RunOutput
}

// execute runs a claimed run to its end and records the outcome.
func (s *Service) execute(ctx context.Context, r *meta.Run) {
	start := time.Now()
	spec, err := s.decodeRunSpec(r.Spec)
	reg, rerr := s.registryByID(ctx, r.RegistryID)
	if err == nil {
		err = rerr
	}
	secrets := []string{spec.GitToken}
	for _, v := range spec.SecretArgs {
		secrets = append(secrets, v)
	}
	for _, v := range spec.SecretValues {
		secrets = append(secrets, v)
	}
	for _, c := range spec.Credentials {
		secrets = append(secrets, c.Password)
	}
	lerr := os.MkdirAll(s.o.WorkDir, 0o700)
	var l *runLog
	if lerr == nil {
		l, lerr = newRunLog(meta.Within(s.o.Meta, func(q Store) meta.RunLogs { return q }), r.ID, s.o.WorkDir, secrets)
	}
	if lerr != nil {
		s.o.Log.Error("run log", "run", RunName(r.ID), "err", lerr)
		return // the lease lapses and another pass fails the run
	}
	runCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	go s.renew(runCtx, r.ID, cancel)
	tctx, tcancel := context.WithTimeoutCause(runCtx, spec.timeout(), errTimeout)
	defer tcancel()
	var out RunOutput
	if err == nil {
		out, err = s.run(tctx, reg, r, spec, l)
	}
	if err != nil && tctx.Err() != nil {
		// Why the run's context ended: canceled, timed out, lease lost, or
		// (a plain cancellation) the server is stopping.
		if err = context.Cause(tctx); errors.Is(err, context.Canceled) {
			err = errStopping
		}
	}
	secs := int(time.Since(start).Round(time.Second).Seconds())
	r.State, r.Reason = meta.RunSucceeded, ""
	switch {
	case err == nil:
		fmt.Fprintf(l, "\nRun ID: %s was successful after %ds\n", RunName(r.ID), secs)
	case errors.Is(err, errCanceled):
		r.State, r.Reason = meta.RunCanceled, err.Error()
		fmt.Fprintf(l, "Run ID: %s was canceled after %ds\n", RunName(r.ID), secs)
	default:
		r.State, r.Reason = meta.RunFailed, l.Redact(err.Error())
		fmt.Fprintf(l, "Run ID: %s failed after %ds. Error: %s\n", RunName(r.ID), secs, err)
	}
	r.Output, _ = json.Marshal(out)
	s.finish(context.WithoutCancel(ctx), r, l, out)
}

// renew keeps the run's lease until ctx ends; it cancels the run when
// cancellation is requested or the lease is lost.
func (s *Service) renew(ctx context.Context, id int64, cancel context.CancelCauseFunc) {
	t := time.NewTicker(leaseRenew)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		var stop bool
		err := s.o.Meta.Tx(ctx, func(q Store) (err error) {
			stop, err = q.RenewRun(ctx, id, s.node, time.Now().UTC().Add(leaseFor))
			return err
		})
		switch {
		case errors.Is(err, meta.ErrNotFound):
			cancel(errLost)
			return
		case err == nil && stop:
			cancel(errCanceled)
			return
		}
	}
}

// finish stores the log as a blob and records the run's end.
func (s *Service) finish(ctx context.Context, r *meta.Run, l *runLog, out RunOutput) {
	spool, d, n, err := l.finish(ctx)
	defer func() { spool.Close(); os.Remove(spool.Name()) }()
	if err == nil {
		id := "log-" + RunName(r.ID)
		_ = s.o.Uploads.Abort(ctx, id)
		if err = s.o.Uploads.Start(ctx, id); err == nil {
			if _, err = s.o.Uploads.Append(ctx, id, 0, spool); err == nil {
				_, _, err = s.storeBlob(ctx, id, d, n)
			}
		}
	}
	if err == nil {
		r.LogDigest = d.String()
	} else {
		s.o.Log.Warn("run log blob: the log stays in the store", "run", RunName(r.ID), "err", err)
	}
	r.FinishedAt = time.Now().UTC()
	r.Spec = wipedSpec(r.Spec)
	err = s.o.Meta.Tx(ctx, func(q Store) error {
		if err := q.FinishRun(ctx, r); err != nil {
			return err
		}
		if r.TaskID != 0 && r.State == meta.RunSucceeded {
			if err := q.SetTaskBases(ctx, r.TaskID, taskBases(r.TaskID, out)); err != nil {
				return err
			}
		}
		if r.LogDigest != "" {
			return q.DeleteRunLog(ctx, r.ID)
		}
		return nil
	})
	if err != nil {
		s.o.Log.Error("record run end", "run", RunName(r.ID), "err", err)
	}
	_ = os.RemoveAll(filepath.Join(s.o.WorkDir, RunName(r.ID)))
}

func taskBases(taskID int64, out RunOutput) []meta.TaskBase {
	var bs []meta.TaskBase
	all := out.Buildtime
	if out.Runtime != nil {
		all = append(all, *out.Runtime)
	}
	for _, b := range all {
		if b.Tag != "" && b.Digest != "" {
			bs = append(bs, meta.TaskBase{TaskID: taskID, Ref: b.Registry + "/" + b.Repository + ":" + b.Tag, Digest: b.Digest})
		}
	}
	return bs
}

func (s *Service) registryByID(ctx context.Context, id int64) (*meta.Registry, error) {
	regs, err := s.o.Meta.Read().ListRegistries(ctx, meta.Page{N: 1 << 20})
	if err != nil {
		return nil, err
	}
	for i := range regs {
		if regs[i].ID == id {
			return &regs[i], nil
		}
	}
	return nil, fmt.Errorf("registry %d: %w", id, meta.ErrNotFound)
}

// run prepares the shared parts (source, credentials) and runs the steps.
func (s *Service) run(ctx context.Context, reg *meta.Registry, r *meta.Run, spec RunSpec, l *runLog) (RunOutput, error) {
	e := &runEnv{reg: reg, run: r, spec: spec, host: s.o.RegistryHost(reg), log: l}
	dir, err := s.workDir(r)
	if err != nil {
		return e.out, err
	}
	e.dir = dir
	if s.o.Builder == nil {
		return e.out, errors.New("builds are not configured on this server (tasks.buildkitd and tasks.buildctl)")
	}
	l.Printf("Downloading source code...")
	if e.src, err = s.fetchSource(ctx, spec, dir); err != nil {
		return e.out, err
	}
	l.Printf("Finished downloading source code")
	e.out.GitCommit = e.src.commit
	now := time.Now().UTC()
	platOS, arch, _ := strings.Cut(s.o.Platform, "/")
	e.vars = Vars{Run: RunVars{ID: RunName(r.ID), Registry: e.host, RegistryName: reg.Name, Date: now.Format("20060102-150405z"),
		OS: platOS, Architecture: arch, Commit: e.src.commit, Branch: e.src.branch, TaskName: r.TaskName}, Values: spec.Values}
	if len(spec.SecretValues) > 0 {
		e.vars.Values = cloneMap(spec.Values)
		if e.vars.Values == nil {
			e.vars.Values = map[string]string{}
		}
		for k, v := range spec.SecretValues {
			e.vars.Values[k] = v
		}
	}
	switch spec.Kind {
	case KindBuild:
		err = s.buildStep(ctx, e)
	case KindSteps:
		err = s.steps(ctx, e)
	default:
		err = fmt.Errorf("unknown run kind %q", spec.Kind)
	}
	return e.out, err
}

// login writes the Docker configuration with a short-lived token of the
// run's identity, after checking it may push to repos.
func (s *Service) login(ctx context.Context, e *runEnv, repos []string) error {
	l := e.log
	l.Printf("Setting up Docker configuration...")
	tok, err := s.o.Creds.RunToken(ctx, e.reg, e.spec.Identity, repos, e.spec.timeout()+10*time.Minute)
	if err != nil {
		return err
	}
	e.log.mask(tok)
	e.docker = filepath.Join(e.dir, "docker")
	if err := os.MkdirAll(e.docker, 0o700); err != nil {
		return err
	}
	creds, read, err := s.openCredentials(ctx, e.reg, e.spec.Identity, e.spec.Credentials)
	if err != nil {
		return err
	}
	for _, v := range read {
		e.log.mask(v)
	}
	b, _ := json.Marshal(map[string]any{"auths": dockerAuths(e.host, tok, creds)})
	if err := os.WriteFile(filepath.Join(e.docker, "config.json"), b, 0o600); err != nil {
		return err
	}
	l.Printf("Successfully set up Docker configuration")
	l.Printf("Logging in to registry: %s", e.host)
	l.Printf("Successfully logged into %s", e.host)
	for _, server := range sortedKeys(e.spec.Credentials) {
		l.Printf("Using the task's credentials for %s", server)
	}
	return nil
}

// qualify renders an image name and puts it in the run's registry; it
// returns the full reference and the repository.
func (e *runEnv) qualify(image string) (string, string, error) {
	img, err := Render(image, e.vars)
	if err != nil {
		return "", "", err
	}
	img = strings.TrimPrefix(img, e.host+"/")
	if first, _, ok := strings.Cut(img, "/"); ok && strings.ContainsAny(first, ".:") {
		return "", "", fmt.Errorf("image %q: a run pushes only to its own registry (%s)", img, e.host)
	}
	ref := SplitRef(e.host + "/" + img)
	if ref.Tag == "" && ref.Digest == "" {
		img += ":latest"
	}
	return e.host + "/" + img, ref.Repository, nil
}
