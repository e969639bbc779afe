package tasks

import (
	"context"
	"errors"
	"time"

	"github.com/acre-project/acre/internal/meta"
	"github.com/acre-project/acre/internal/webapps"
)

// basePollCursor names the cursor holding the Unix second of the last
// round of base-image polling (of every node).
const basePollCursor = "base-image-poll"

// basePoller polls bases kept in other registries until ctx ends.
func (s *Service) basePoller(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		s.pollBases(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// pollBases is one round of the base-image trigger for bases kept outside
// this server (pushes to this server's registries come through the event
// outbox instead): every BasePoll, the one node that moves the round's
// cursor (compare-and-set) asks each base's registry for its tag's digest
// (HEAD of the manifest, with the task's credentials for that registry,
// through the Fetch client's network guard); a base that moved off the
// digest the task's last run used queues a run, by compare-and-set of the
// recorded digest in the same transaction, so each move runs once.
func (s *Service) pollBases(ctx context.Context) {
	if s.o.Fetch == nil {
		return
	}
	now := time.Now().Unix()
	last, err := s.o.Meta.Read().TaskCursor(ctx, basePollCursor)
	if err != nil && !errors.Is(err, meta.ErrNotFound) {
		return
	}
	if now-last < int64(s.o.BasePoll/time.Second) {
		return
	}
	won := false
	if err := s.o.Meta.Tx(ctx, func(q Store) (err error) {
		won, err = q.SetTaskCursor(ctx, basePollCursor, last, now)
		return err
	}); err != nil || !won {
		return
	}
	bases, err := s.o.Meta.Read().ListTaskBases(ctx)
	if err != nil {
		return
	}
	tasks := map[int64]*Task{}
	for _, b := range bases {
		ref := SplitRef(b.Ref)
		if s.o.OwnHost != nil && s.o.OwnHost(ref.Registry) {
			continue
		}
		t, ok := tasks[b.TaskID]
		if !ok {
			if mt, err := s.o.Meta.Read().GetTaskByID(ctx, b.TaskID); err == nil {
				t, _ = s.decodeTask(mt)
			}
			tasks[b.TaskID] = t
		}
		if t == nil || !t.Spec.Enabled || !t.Spec.BaseImageTrigger {
			continue
		}
		c, err := s.pollCredential(ctx, t, ref.Registry)
		var d string
		if err == nil {
			hctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			d, err = s.headDigest(hctx, ref, c)
			cancel()
		}
		if err != nil {
			if ctx.Err() == nil {
				s.o.Log.Warn("base image poll", "task", t.Name, "base", b.Ref, "err", err)
			}
			continue
		}
		if d == b.Digest {
			continue
		}
		queued := false
		err = s.o.Meta.Tx(ctx, func(q Store) error {
			moved, err := q.MoveTaskBase(ctx, b.TaskID, b.Ref, b.Digest, d)
			if err != nil || !moved {
				return err
			}
			_, err = s.newRun(ctx, q, t.RegistryID, t.ID, t.Name, "Image Update", t.Spec.runSpec())
			queued = err == nil
			return err
		})
		if err != nil && ctx.Err() == nil {
			s.o.Log.Warn("base image trigger", "task", t.Name, "err", err)
		}
		if queued {
			s.o.Log.Info("base image moved: run queued", "task", t.Name, "base", b.Ref, "digest", d)
			s.Kick()
		}
	}
}

// pollCredential is the task's credential for a registry host (nil: none),
// its Key Vault secrets read as the task's identity.
func (s *Service) pollCredential(ctx context.Context, t *Task, host string) (*RegistryCredential, error) {
	c, ok := t.Spec.Credentials[host]
	if !ok {
		return nil, nil
	}
	reg, err := s.registryByID(ctx, t.RegistryID)
	if err != nil {
		return nil, err
	}
	open, _, err := s.openCredentials(ctx, reg, t.Spec.Identity, map[string]RegistryCredential{host: c})
	if err != nil {
		return nil, err
	}
	c = open[host]
	return &c, nil
}

// headDigest returns the digest ref's tag names in its registry, with
// the task's credential for it, if any.
func (s *Service) headDigest(ctx context.Context, ref ImageRef, c *RegistryCredential) (string, error) {
	host := ref.Registry
	if host == "docker.io" {
		host = "registry-1.docker.io"
	}
	tag := ref.Tag
	if tag == "" {
		tag = "latest"
	}
	var cred webapps.Credentials
	if c != nil {
		cred.Username, cred.Password = c.Username, c.Password
	}
	cred.PlainHTTP = s.o.PlainHTTP != nil && s.o.PlainHTTP(ref.Registry)
	p := &webapps.Puller{Client: s.o.Fetch}
	return p.Resolve(ctx, webapps.ImageRef{Host: host, Repository: ref.Repository, Reference: tag}, cred)
}
