// Package audit writes the audit log of repository operations off the
// request path: entries are queued and written in batches, so a pull
// never waits for a disk write. An entry still queued when the process
// dies is lost; logins and changes are also in the outbox or written
// synchronously.
package audit

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/acre-project/acre/internal/meta"
)

// Store is the part of the metadata store the writer uses.
type Store interface {
	meta.Audit
}

// Writer batches audit entries into the metadata store. Its queue is a
// slice that holds only what waits, so an idle writer costs no memory.
// Pulls that differ only in time and duration while they wait become one
// entry, its Attempts the number of pulls, its time the first one's and its
// duration the longest: a registry serving thousands of pulls a second of
// the same images writes a few rows a second, not thousands.
type Writer struct {
	meta meta.View[Store]
	log  *slog.Logger
	wake chan struct{} // a batch is full: write it now

	mu      sync.Mutex
	pending []meta.AuditEntry
	pulls   map[pullKey]int // waiting pulls: index in pending
}

// pullKey is what makes two pulls the same entry.
type pullKey struct {
	registry                                                  int64
	identity, kind, principal, repository, tag, digest, media string
	size                                                      int64
	ip, agent, result                                         string
}

func keyOf(e *meta.AuditEntry) pullKey {
	return pullKey{e.RegistryID, e.Identity, e.PrincipalKind, e.PrincipalID, e.Repository, e.Tag, e.Digest, e.MediaType,
		e.Size, e.CallerIP, e.UserAgent, e.Result}
}

// queueSize bounds the entries waiting; beyond it entries are dropped (and
// counted in the log) rather than slowing requests down.
const queueSize = 10000

// batchSize is how many waiting entries make the writer write at once.
const batchSize = 500

// New returns a Writer; call Run to write.
func New(m meta.View[Store], log *slog.Logger) *Writer {
	return &Writer{meta: m, log: log, wake: make(chan struct{}, 1), pulls: map[pullKey]int{}}
}

// Record queues an entry without blocking.
func (w *Writer) Record(e meta.AuditEntry) {
	e.Attempts = max(e.Attempts, 1)
	w.mu.Lock()
	if e.Operation == "Pull" {
		k := keyOf(&e)
		if i, ok := w.pulls[k]; ok {
			p := &w.pending[i]
			p.Attempts += e.Attempts
			p.DurationMS = max(p.DurationMS, e.DurationMS)
			w.mu.Unlock()
			return
		}
		if len(w.pending) < queueSize {
			w.pulls[k] = len(w.pending)
		}
	}
	n := len(w.pending)
	if n < queueSize {
		w.pending = append(w.pending, e)
	}
	w.mu.Unlock()
	switch {
	case n >= queueSize:
		w.log.Warn("audit queue full: entry dropped", "operation", e.Operation, "repository", e.Repository)
	case n+1 == batchSize:
		select {
		case w.wake <- struct{}{}:
		default:
		}
	}
}

// take returns the waiting entries and leaves the queue empty; spare is
// the slice of the previous take, reused unless a burst made it large.
func (w *Writer) take(spare []meta.AuditEntry) []meta.AuditEntry {
	if cap(spare) > 2*batchSize {
		spare = nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	batch := w.pending
	w.pending = spare[:0]
	if len(w.pulls) > 2*batchSize { // a map never shrinks: let a burst's go
		w.pulls = map[pullKey]int{}
	} else {
		clear(w.pulls)
	}
	return batch
}

// Run writes queued entries every half second (or as soon as 500 wait)
// until ctx ends, then writes what is left.
func (w *Writer) Run(ctx context.Context) {
	t := time.NewTicker(500 * time.Millisecond)
	defer t.Stop()
	wctx := context.WithoutCancel(ctx) // what was queued is written, also on shutdown
	var spare []meta.AuditEntry
	flush := func() {
		batch := w.take(spare)
		if len(batch) > 0 {
			err := w.meta.Tx(wctx, func(q Store) error { return q.AppendAuditBatch(wctx, batch) })
			if err != nil {
				w.log.Warn("audit write", "entries", len(batch), "err", err)
			}
		}
		clear(batch) // let the entries' strings go
		spare = batch
	}
	for {
		select {
		case <-w.wake:
			flush()
		case <-t.C:
			flush()
		case <-ctx.Done():
			flush()
			return
		}
	}
}
