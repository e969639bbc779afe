package config

import (
	"errors"
	"time"
)

// Tasks configures builds and runs (acre build, acre run, tasks).
type Tasks struct {
	// Enabled turns builds on (default true; they need buildkitd, buildctl and runc).
	Enabled bool `yaml:"enabled"`
	// Buildkitd and Buildctl are the BuildKit programs (default: found in PATH).
	Buildkitd string `yaml:"buildkitd"`
	Buildctl  string `yaml:"buildctl"`
	// Concurrency is how many runs one node runs at once (default 2).
	Concurrency int `yaml:"concurrency"`
	// History is how long finished runs and their logs are kept (default 720h).
	History time.Duration `yaml:"history"`
	// AllowHostNetwork lets a task opt in to RUN steps on the host's
	// network (which reaches acre's own listeners); off by default, RUN
	// steps have no network.
	AllowHostNetwork bool `yaml:"allow_host_network"`
	// CommitPoll is how often tasks with a commit trigger look for a new
	// head of their git context (git ls-remote), besides the push webhook
	// (default 1m).
	CommitPoll time.Duration `yaml:"commit_poll"`
	// BasePoll is how often the base-image trigger asks other registries
	// for the digests of the base images tasks use from them (bases in
	// acre trigger on push; default 5m).
	BasePoll time.Duration `yaml:"base_poll"`
	// Allow lets what builds and base-image polls fetch reach addresses the
	// network guard refuses by default (loopback, link-local, acre's own
	// listeners), in the syntax of webhooks.allow.
	Allow []string `yaml:"allow"`
	// InsecureRegistries are other registries (host:port) reached over
	// plain HTTP, for base images and polling.
	InsecureRegistries []string `yaml:"insecure_registries"`
}

func defaultTasks() Tasks {
	return Tasks{Enabled: true, Concurrency: 2, History: 30 * 24 * time.Hour, CommitPoll: time.Minute, BasePoll: 5 * time.Minute}
}

func (t Tasks) validate() error {
	if t.Concurrency < 1 || t.Concurrency > 64 {
		return errors.New("tasks.concurrency: between 1 and 64")
	}
	if t.History < time.Hour {
		return errors.New("tasks.history: at least 1h")
	}
	if t.CommitPoll < time.Second {
		return errors.New("tasks.commit_poll: at least 1s")
	}
	if t.BasePoll < time.Second {
		return errors.New("tasks.base_poll: at least 1s")
	}
	return nil
}
