package tasks

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/acre-project/acre/internal/blob"
	"github.com/acre-project/acre/internal/meta"
	"github.com/acre-project/acre/internal/seal"
	"github.com/google/uuid"
	"github.com/opencontainers/go-digest"
)

// Credentials gives a run its registry credentials: a short-lived token
// for the identity, after checking it may push to repos (AcrPush).
type Credentials interface {
	RunToken(ctx context.Context, reg *meta.Registry, identity string, repos []string, ttl time.Duration) (string, error)
}

// Store is the part of the metadata store tasks use: task definitions and
// their triggers, the run queue with its logs and history, the outbox that
// base-image triggers follow, and the blobs and registries runs touch.
type Store interface {
	meta.Registries
	meta.Blobs
	meta.Outbox
	meta.EventFeed
	meta.GCQueue
	meta.Tasks
	meta.TaskTriggers
	meta.TaskSources
	meta.Runs
	meta.RunHistory
	meta.RunLogs
}

// Options configure a Service.
type Options struct {
	Meta    meta.View[Store]
	Blobs   blob.Store
	Uploads blob.Uploads
	Builder Builder // nil: runs fail with a message saying builds are not configured
	Creds   Credentials
	Log     *slog.Logger
	// WorkDir holds the sources of runs in progress (created 0700).
	WorkDir string
	// RegistryHost returns the host:port through which the engine reaches
	// a registry of this server.
	RegistryHost func(reg *meta.Registry) string
	Concurrency  int           // runs at once on this node (default 2)
	History      time.Duration // finished runs and their logs are kept this long (default 30 days)
	MaxContext   int64         // largest unpacked build context (default 2 GiB)
	Platform     string        // the host's platform (default linux/amd64)
	// AllowHostNetwork lets runs ask for RUN steps on the host's network.
	AllowHostNetwork bool
	// OwnHost reports whether host:port reaches this server; a run's
	// context may not be fetched from it (its API is not a build source).
	OwnHost func(hostport string) bool
	// CommitPoll is how often commit triggers poll their git contexts (default 1m).
	CommitPoll time.Duration
	// Box seals the secret values of runs and tasks in the store (nil: a
	// key for this process only, which the next start cannot open).
	Box *seal.Box
	// Vault reads the Key Vault secrets a task YAML names (nil: none can be read).
	Vault VaultSecrets
	// BasePoll is how often the base-image trigger asks other registries
	// for the digests of the bases tasks use from them (default 5m).
	BasePoll time.Duration
	// Fetch is the client for what acre fetches on a run's or a task's
	// behalf (tarball contexts, base-image polling): every connection goes
	// through the network guard. nil: no URL is fetched (tarball contexts
	// fail, bases elsewhere are not polled).
	Fetch *http.Client
	// GitProxy is the URL of the forward proxy git fetches http(s) git
	// contexts through (its network guard decides what they reach); "":
	// git connects directly.
	GitProxy string
	// PlainHTTP reports whether a registry (host[:port]) is reached over
	// plain HTTP rather than HTTPS.
	PlainHTTP func(host string) bool
}

// Service queues, runs and reports runs.
type Service struct {
	o    Options
	node string
	kick chan struct{}

	mu      sync.Mutex
	running map[int64]context.CancelCauseFunc
}

// New returns a Service; call Work to run queued runs on this node.
func New(o Options) *Service {
	if o.Concurrency <= 0 {
		o.Concurrency = 2
	}
	if o.History <= 0 {
		o.History = 30 * 24 * time.Hour
	}
	if o.MaxContext <= 0 {
		o.MaxContext = 2 << 30
	}
	if o.CommitPoll <= 0 {
		o.CommitPoll = time.Minute
	}
	if o.BasePoll <= 0 {
		o.BasePoll = 5 * time.Minute
	}
	if o.Platform == "" {
		o.Platform = "linux/amd64"
	}
	if o.Box == nil {
		o.Box = processBox()
	}
	return &Service{o: o, node: uuid.NewString(), kick: make(chan struct{}, 1), running: map[int64]context.CancelCauseFunc{}}
}

// Lease timing: a node renews its runs' leases every leaseRenew; a run
// whose lease lapsed (leaseFor without renewal) is failed by any node.
const (
	leaseFor   = 10 * time.Second
	leaseRenew = 2 * time.Second
)

// Kick wakes the worker (a run was queued).
func (s *Service) Kick() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// Submit queues a run. An uploaded source must have been uploaded to
// the run's registry: knowing a blob's digest gives no right to build
// from it.
func (s *Service) Submit(ctx context.Context, reg *meta.Registry, taskID int64, taskName, trigger string, spec RunSpec) (*meta.Run, error) {
	var r *meta.Run
	err := s.o.Meta.Tx(ctx, func(q Store) (err error) {
		if spec.SourceDigest != "" {
			d, err := digest.Parse(spec.SourceDigest)
			if err != nil {
				return invalid("sourceDigest: %v", err)
			}
			if ok, err := q.SourceRecorded(ctx, reg.ID, d); err != nil {
				return err
			} else if !ok {
				return invalid("sourceDigest %s: no such source uploaded to registry %s", d, reg.Name)
			}
		}
		r, err = s.newRun(ctx, q, reg.ID, taskID, taskName, trigger, spec)
		return err
	})
	if err != nil {
		return nil, err
	}
	s.Kick()
	return r, nil
}

// newRun queues a run inside a transaction (its secret values sealed).
func (s *Service) newRun(ctx context.Context, q meta.Runs, registryID, taskID int64, taskName, trigger string, spec RunSpec) (*meta.Run, error) {
	b, err := s.encodeRunSpec(spec)
	if err != nil {
		return nil, err
	}
	r := &meta.Run{RegistryID: registryID, TaskID: taskID, TaskName: taskName, Trigger: trigger, Spec: b, Source: spec.SourceDigest,
		State: meta.RunQueued, CreatedAt: time.Now().UTC()}
	return r, q.CreateRun(ctx, r)
}

// Cancel asks for a run to stop: a queued run ends Canceled at once, a
// running one within a lease renewal (on whichever node runs it).
func (s *Service) Cancel(ctx context.Context, id int64) error {
	err := s.o.Meta.Tx(ctx, func(q Store) error {
		if err := q.RequestCancel(ctx, id, "canceled by the user", time.Now().UTC()); err != nil {
			return err
		}
		r, err := q.GetRun(ctx, id)
		if err != nil || r.State != meta.RunCanceled || r.Node != "" {
			return err // running: its node wipes it when it stops
		}
		// Canceled while queued: it never runs, so its secrets go now.
		r.Spec = wipedSpec(r.Spec)
		return q.FinishRun(ctx, r)
	})
	s.mu.Lock()
	if c := s.running[id]; c != nil {
		c(errCanceled)
	}
	s.mu.Unlock()
	return err
}

// Work runs queued runs on this node until ctx ends; it also fails runs
// whose node died and deletes runs past the history retention. On start
// it seals the secrets of tasks and finished runs stored before sealing.
func (s *Service) Work(ctx context.Context) {
	if tasks, runs, err := s.sealStored(ctx); err != nil && ctx.Err() == nil {
		s.o.Log.Warn("seal secrets stored before sealing", "err", err)
	} else if tasks+runs > 0 {
		s.o.Log.Info("sealed secrets stored before sealing", "tasks", tasks, "runs wiped", runs)
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Go(func() { s.basePoller(ctx) })
	t := time.NewTicker(time.Second)
	defer t.Stop()
	lastExpiry, lastPoll := time.Time{}, time.Time{}
	for {
		s.reap(ctx)
		s.fireTimers(ctx)
		s.baseImageEvents(ctx)
		if time.Since(lastPoll) >= s.o.CommitPoll {
			lastPoll = time.Now()
			s.pollCommits(ctx)
		}
		if time.Since(lastExpiry) > time.Hour {
			lastExpiry = time.Now()
			s.expire(ctx)
		}
		for s.busy() < s.o.Concurrency && ctx.Err() == nil {
			var r *meta.Run
			err := s.o.Meta.Tx(ctx, func(q Store) (err error) {
				now := time.Now().UTC()
				r, err = q.ClaimRun(ctx, s.node, now, now.Add(leaseFor))
				return err
			})
			if err != nil {
				if !errors.Is(err, meta.ErrNotFound) && ctx.Err() == nil {
					s.o.Log.Warn("claim run", "err", err)
				}
				break
			}
			rctx, cancel := context.WithCancelCause(ctx)
			s.mu.Lock()
			s.running[r.ID] = cancel
			s.mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				s.execute(rctx, r)
				cancel(nil)
				s.mu.Lock()
				delete(s.running, r.ID)
				s.mu.Unlock()
				s.Kick()
			}()
		}
		select {
		case <-ctx.Done():
			return
		case <-s.kick:
		case <-t.C:
		}
	}
}

func (s *Service) busy() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.running)
}

// reap fails runs whose node stopped renewing their lease (it crashed or
// lost the store); their log so far stays readable.
func (s *Service) reap(ctx context.Context) {
	stale, err := s.o.Meta.Read().StaleRuns(ctx, time.Now().UTC())
	if err != nil {
		return
	}
	for i := range stale {
		r := &stale[i]
		now := time.Now().UTC()
		r.State, r.FinishedAt, r.Spec = meta.RunFailed, now, wipedSpec(r.Spec)
		r.Reason = "the node running it stopped before the run ended (its lease expired)"
		line := fmt.Sprintf("%s Run ID: %s failed: %s\n", now.Format("2006/01/02 15:04:05"), RunName(r.ID), r.Reason)
		err := s.o.Meta.Tx(ctx, func(q Store) error {
			cur, err := q.GetRun(ctx, r.ID)
			if err != nil || cur.State != meta.RunRunning || cur.LeaseUntil.After(now) {
				return err // finished or renewed meanwhile
			}
			if err := q.AppendRunLog(ctx, r.ID, 1<<40, []byte(line)); err != nil {
				return err
			}
			return q.FinishRun(ctx, r)
		})
		if err != nil {
			s.o.Log.Warn("fail stale run", "run", RunName(r.ID), "err", err)
			continue
		}
		s.o.Log.Warn("run failed: its node stopped", "run", RunName(r.ID), "node", r.Node)
	}
}

// expire deletes runs finished before the history window, their logs and
// their uploaded sources (unless another run still names them).
func (s *Service) expire(ctx context.Context) {
	for ctx.Err() == nil {
		old, err := s.o.Meta.Read().RunsFinishedBefore(ctx, time.Now().Add(-s.o.History), 100)
		if err != nil || len(old) == 0 {
			return
		}
		for _, r := range old {
			err := s.o.Meta.Tx(ctx, func(q Store) error {
				if err := q.DeleteRun(ctx, r.ID); err != nil {
					return err
				}
				for _, d := range []string{r.LogDigest, r.Source} {
					if d == "" {
						continue
					}
					if n, err := q.RunsUsingBlob(ctx, d); err != nil || n > 0 {
						continue
					}
					// Garbage collection deletes it: no repository links it.
					if err := q.EnqueueGC(ctx, meta.GCItem{Kind: meta.GCBlob, Digest: digest.Digest(d), NotBefore: time.Now().UTC()}); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				s.o.Log.Warn("expire run", "run", RunName(r.ID), "err", err)
				return
			}
		}
	}
}

// PutSource stores a build context (a tarball) uploaded to the registry as
// a blob, records that the registry uploaded it, and returns its digest;
// it streams r.
func (s *Service) PutSource(ctx context.Context, reg *meta.Registry, r io.Reader) (digest.Digest, int64, error) {
	id := "ctx-" + uuid.NewString()
	if err := s.o.Uploads.Start(ctx, id); err != nil {
		return "", 0, err
	}
	dg := digest.SHA256.Digester()
	n, err := s.o.Uploads.Append(ctx, id, 0, io.TeeReader(io.LimitReader(r, s.o.MaxContext+1), dg.Hash()))
	if err == nil && n > s.o.MaxContext {
		err = fmt.Errorf("build context larger than %d bytes", s.o.MaxContext)
	}
	if err != nil {
		_ = s.o.Uploads.Abort(ctx, id)
		return "", 0, err
	}
	d, n, err := s.storeBlob(ctx, id, dg.Digest(), n)
	if err != nil {
		return "", 0, err
	}
	err = s.o.Meta.Tx(ctx, func(q Store) error { return q.RecordSource(ctx, reg.ID, d, time.Now().UTC()) })
	return d, n, err
}

// storeBlob commits an upload session and records the blob (unlinked:
// garbage collection leaves it until a run's expiry enqueues it).
func (s *Service) storeBlob(ctx context.Context, id string, d digest.Digest, n int64) (digest.Digest, int64, error) {
	if _, err := s.o.Uploads.Commit(ctx, id, d); err != nil {
		_ = s.o.Uploads.Abort(ctx, id)
		return "", 0, err
	}
	err := s.o.Meta.Tx(ctx, func(q Store) error {
		_, err := q.PutBlob(ctx, d, n, time.Now().UTC())
		return err
	})
	return d, n, err
}

// workDir makes a private directory for a run.
func (s *Service) workDir(r *meta.Run) (string, error) {
	if err := os.MkdirAll(s.o.WorkDir, 0o700); err != nil {
		return "", err
	}
	dir := filepath.Join(s.o.WorkDir, RunName(r.ID))
	_ = os.RemoveAll(dir) // left by a crash
	return dir, os.Mkdir(dir, 0o700)
}
