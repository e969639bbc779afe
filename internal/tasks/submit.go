package tasks

import (
	"context"
	"strings"

	"github.com/acre-project/acre/internal/meta"
	"github.com/opencontainers/go-digest"
)

// Validate checks a run request before it is queued.
func (s *Service) Validate(ctx context.Context, spec *RunSpec) error {
	switch spec.Kind {
	case "", KindBuild:
		spec.Kind = KindBuild
	case KindSteps:
		if spec.YAML == "" && spec.File == "" {
			return invalid("a multi-step run needs its YAML (yaml) or the file in its context (file)")
		}
	default:
		return invalid("kind %q: use build or steps", spec.Kind)
	}
	if spec.SourceDigest != "" {
		d, err := digest.Parse(spec.SourceDigest)
		if err != nil {
			return invalid("sourceDigest: %v", err)
		}
		if _, err := s.o.Blobs.Stat(ctx, d); err != nil {
			return invalid("sourceDigest %s: no such uploaded source", d)
		}
	} else if spec.Context == "" && spec.Kind == KindBuild {
		return invalid("a build needs a context: an uploaded directory, a git URL or a tarball URL")
	}
	if spec.Platform != "" && spec.Platform != s.o.Platform {
		return invalid("platform %q: this server builds for %s only", spec.Platform, s.o.Platform)
	}
	if spec.Timeout < 0 || spec.Timeout > 8*3600 {
		return invalid("timeout: from 0 to 28800 seconds")
	}
	if spec.HostNetwork && !s.o.AllowHostNetwork {
		return invalid("host network for RUN steps is not allowed on this server (tasks.allow_host_network)")
	}
	if strings.Contains(spec.Dockerfile, "..") {
		return invalid("file %q: must stay inside the context", spec.Dockerfile)
	}
	for k := range spec.SecretValues {
		if _, ok := spec.Values[k]; ok {
			return invalid("value %q is given both as a value and as a secret value", k)
		}
	}
	for _, img := range spec.Images {
		if strings.TrimSpace(img) == "" {
			return invalid("an empty image name")
		}
	}
	return nil
}

// SubmitQuick validates and queues a quick build or quick run.
func (s *Service) SubmitQuick(ctx context.Context, reg *meta.Registry, spec RunSpec) (*meta.Run, error) {
	if err := s.Validate(ctx, &spec); err != nil {
		return nil, err
	}
	return s.Submit(ctx, reg, 0, "", "Manual", spec)
}

// List lists a registry's runs, newest first (of one task when task is set).
func (s *Service) List(ctx context.Context, reg *meta.Registry, task string, n int) ([]meta.Run, error) {
	return s.o.Meta.Read().ListRuns(ctx, reg.ID, task, 0, n)
}
