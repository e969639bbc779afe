package tasks

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// buildStep runs a quick build: one Dockerfile build, pushed unless
// NoPush, reported in ACR's shape.
func (s *Service) buildStep(ctx context.Context, e *runEnv) error {
	spec, l := e.spec, e.log
	var tags, repos []string
	for _, img := range spec.Images {
		ref, repo, err := e.qualify(img)
		if err != nil {
			return err
		}
		tags, repos = append(tags, ref), append(repos, repo)
	}
	if spec.NoPush {
		repos = nil
	}
	if err := s.login(ctx, e, repos); err != nil {
		return err
	}
	df := spec.Dockerfile
	if df == "" {
		df = "Dockerfile"
	}
	args := map[string]string{}
	for k, v := range spec.BuildArgs {
		rv, err := Render(v, e.vars)
		if err != nil {
			return err
		}
		args[k] = rv
	}
	for k, v := range spec.SecretArgs {
		args[k] = v
	}
	started := time.Now()
	l.Printf("Executing step ID: build. Timeout(sec): %d, Working directory: '', Network: ''", int(spec.timeout().Seconds()))
	l.Printf("Scanning for dependencies...")
	l.Printf("Successfully scanned dependencies")
	l.Printf("Launching container with name: build")
	res, err := s.o.Builder.Build(ctx, BuildRequest{Registry: e.reg.Name, ContextDir: e.src.dir, Dockerfile: df, Tags: tags,
		Push: !spec.NoPush, BuildArgs: args, Target: spec.Target, Platform: spec.Platform, HostNetwork: spec.HostNetwork,
		DockerConfig: e.docker, NoCache: spec.NoCache, Secrets: spec.SecretArgs}, l)
	if err != nil {
		return err
	}
	l.Printf("Successfully executed container: build")
	if !spec.NoPush {
		for _, t := range tags {
			l.Printf("Pushing image: %s, attempt 1", t)
			l.Printf("Successfully pushed image: %s", t)
		}
	}
	l.Printf("Step ID: build marked as successful (elapsed time in seconds: %f)", time.Since(started).Seconds())
	l.Printf("Populating digests for step ID: build...")
	for _, t := range tags {
		ref := SplitRef(t)
		ref.Digest = res.Digest
		e.out.Images = append(e.out.Images, ref)
	}
	e.out.Runtime, e.out.Buildtime = splitBases(filepath.Join(e.src.dir, df), res.Bases)
	l.Printf("Successfully populated digests for step ID: build")
	writeDependencies(l, e.out)
	return nil
}

// fromInstr matches a Dockerfile FROM line: its image (or stage) name.
var fromInstr = regexp.MustCompile(`(?i)^\s*FROM\s+(?:--\S+\s+)*(\S+)`)

// splitBases tells the runtime dependency (the base of the last stage)
// from the build-time ones, by the last FROM of the Dockerfile.
func splitBases(dockerfile string, bases []ImageRef) (*ImageRef, []ImageRef) {
	last := ""
	if f, err := os.Open(dockerfile); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if m := fromInstr.FindStringSubmatch(sc.Text()); m != nil {
				last = m[1]
			}
		}
		f.Close()
	}
	var runtime *ImageRef
	var build []ImageRef
	for i, b := range bases {
		name := b.Repository
		if b.Tag != "" {
			name += ":" + b.Tag
		}
		if runtime == nil && last != "" && (strings.HasSuffix(last, "/"+name) || last == name ||
			strings.HasSuffix(b.Registry+"/"+name, last)) {
			runtime = &bases[i]
			continue
		}
		build = append(build, b)
	}
	return runtime, build
}

// writeDependencies writes ACR's dependency report.
func writeDependencies(l *runLog, o RunOutput) {
	if len(o.Images) == 0 {
		return
	}
	l.Printf("The following dependencies were found:")
	l.Printf("")
	ref := func(indent string, r ImageRef) {
		fmt.Fprintf(l, "%sregistry: %s\n%srepository: %s\n", indent, r.Registry, indent, r.Repository)
		if r.Tag != "" {
			fmt.Fprintf(l, "%stag: %s\n", indent, r.Tag)
		}
		if r.Digest != "" {
			fmt.Fprintf(l, "%sdigest: %s\n", indent, r.Digest)
		}
	}
	for _, img := range o.Images {
		fmt.Fprintf(l, "- image:\n")
		ref("    ", img)
		if o.Runtime != nil {
			fmt.Fprintf(l, "  runtime-dependency:\n")
			ref("    ", *o.Runtime)
		}
		if len(o.Buildtime) > 0 {
			fmt.Fprintf(l, "  buildtime-dependency:\n")
			for _, b := range o.Buildtime {
				fmt.Fprintf(l, "  - registry: %s\n    repository: %s\n    tag: %s\n    digest: %s\n", b.Registry, b.Repository, b.Tag, b.Digest)
			}
		}
		if o.GitCommit != "" {
			fmt.Fprintf(l, "  git:\n    git-head-revision: %s\n", o.GitCommit)
		}
	}
	fmt.Fprintln(l)
}
