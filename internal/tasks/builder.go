// Package tasks is acre's ACR Tasks: quick builds (acre build), quick runs
// of a multi-step YAML (acre run), saved tasks and their triggers. Runs are
// durable jobs in the metadata store, leased by one node at a time; their
// logs stream through the store while they run and are kept as a blob once
// they end. Images are built by a Builder, a small seam over an engine
// (BuildKit, driven through buildctl, is the one acre ships).
package tasks

import (
	"context"
	"io"
)

// Builder builds an image from a Dockerfile in a local directory and
// pushes it. Implementations stream the engine's progress to log and must
// stop when ctx ends.
type Builder interface {
	Build(ctx context.Context, req BuildRequest, log io.Writer) (BuildResult, error)
}

// BuildRequest is one image build.
type BuildRequest struct {
	// Registry keys the engine's cache: builds of different registries
	// share no cache (nor cache mounts).
	Registry string
	// ContextDir is the build context; DockerfileDir and Dockerfile name
	// the Dockerfile (DockerfileDir defaults to ContextDir).
	ContextDir    string
	DockerfileDir string
	Dockerfile    string
	// Tags are full references (host/repository:tag) pushed when Push is set.
	Tags      []string
	Push      bool
	BuildArgs map[string]string
	// Secrets are available to RUN --mount=type=secret,id=<key>; their
	// values never reach the log.
	Secrets map[string]string
	// SecretFiles are secrets read from files (id -> path on this host),
	// for values too large or too binary for Secrets.
	SecretFiles map[string]string
	Target      string
	Platform    string
	// HostNetwork lets RUN steps use the host's network (and so reach its
	// loopback listeners); off, they run with no network at all.
	HostNetwork bool
	// DockerConfig is a directory holding config.json with the registry
	// credentials the build pulls and pushes with.
	DockerConfig string
	NoCache      bool
}

// BuildResult is what a build produced.
type BuildResult struct {
	Digest string     // the pushed (or built) image's manifest digest
	Bases  []ImageRef // the base images it used (FROM), resolved
}

// ImageRef is an image reference split as ACR's dependency report shows it.
type ImageRef struct {
	Registry   string `json:"registry"`
	Repository string `json:"repository"`
	Tag        string `json:"tag,omitempty"`
	Digest     string `json:"digest,omitempty"`
}
