// Package audit writes the audit log of repository operations off the
// request path: entries are queued and written in batches, so a pull
// never waits for a disk write. An entry still queued when the process
// dies is lost; logins and changes are also in the outbox or written
// synchronously.
package audit

import (
	"context"
	"log/slog"
	"time"

	"github.com/acre-project/acre/internal/meta"
)

// Store is the part of the metadata store the writer uses.
type Store interface {
	meta.Audit
}

// Writer batches audit entries into the metadata store.
type Writer struct {
	meta meta.View[Store]
	log  *slog.Logger
	ch   chan meta.AuditEntry
}

// queueSize bounds the entries waiting; beyond it entries are dropped (and
// counted in the log) rather than slowing requests down.
const queueSize = 10000

// New returns a Writer; call Run to write.
func New(m meta.View[Store], log *slog.Logger) *Writer {
	return &Writer{meta: m, log: log, ch: make(chan meta.AuditEntry, queueSize)}
}

// Record queues an entry without blocking.
func (w *Writer) Record(e meta.AuditEntry) {
	select {
	case w.ch <- e:
	default:
		w.log.Warn("audit queue full: entry dropped", "operation", e.Operation, "repository", e.Repository)
	}
}

// Run writes queued entries every half second (or every 500 entries)
// until ctx ends, then writes what is left.
func (w *Writer) Run(ctx context.Context) {
	t := time.NewTicker(500 * time.Millisecond)
	defer t.Stop()
	var batch []meta.AuditEntry
	wctx := context.WithoutCancel(ctx) // what was queued is written, also on shutdown
	flush := func() {
		if len(batch) == 0 {
			return
		}
		err := w.meta.Tx(wctx, func(q Store) error { return q.AppendAuditBatch(wctx, batch) })
		if err != nil {
			w.log.Warn("audit write", "entries", len(batch), "err", err)
		}
		batch = batch[:0]
	}
	for {
		select {
		case e := <-w.ch:
			batch = append(batch, e)
			if len(batch) >= 500 {
				flush()
			}
		case <-t.C:
			flush()
		case <-ctx.Done():
			for {
				select {
				case e := <-w.ch:
					batch = append(batch, e)
				default:
					flush()
					return
				}
			}
		}
	}
}
