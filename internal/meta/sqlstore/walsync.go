package sqlstore

import (
	"fmt"
	"os"
	"sync"
	"sync/atomic"
)

// Durable commits are made durable behind the writer. At synchronous=FULL
// SQLite syncs the WAL inside each COMMIT, and the one writer goroutine
// waited for every sync, taking no transaction meanwhile (a sixth of its
// time on small pushes). Instead the writer's connection commits at
// synchronous=NORMAL (SQLite writes the frames; it syncs the WAL only
// before a checkpoint and the database after one, which keeps the
// database consistent through a power loss but may lose the last commits)
// and hands the callers of durable transactions to a walSyncer. It syncs
// the WAL file itself, then answers them, while the writer goes on with
// the next batch; commits that end during one sync share the next.
//
// Why that is as durable as FULL: a commit's frames are written (to the
// OS) before COMMIT returns, and the WAL is written in order, so a sync
// that starts after a commit returned covers it and every commit before
// it. Should a checkpoint copy those frames into the database meanwhile,
// SQLite syncs the WAL before it copies and the database after; it only
// writes the WAL from its start again after such a complete checkpoint.
// A caller of a durable transaction is answered only after such a sync
// (or an error if the sync failed: the commit may then not survive a
// power loss), so what it was told is committed survives one. Relaxed
// transactions (meta.Relaxed) are answered right after the commit, as
// before.
type walSyncer struct {
	path string // the WAL file: the database's path + "-wal"

	mu      sync.Mutex
	pending []*txReq // committed, waiting for the next sync
	closed  bool
	f       *os.File // open on path; reopened should SQLite recreate the file

	kick chan struct{}
	done chan struct{}

	syncs      atomic.Int64 // syncs completed
	beforeSync func()       // tests: called before each sync, when set
}

func newWALSyncer(dbPath string) *walSyncer {
	w := &walSyncer{path: dbPath + "-wal", kick: make(chan struct{}, 1), done: make(chan struct{})}
	go w.run()
	return w
}

// await queues r, whose transaction committed, to be answered (with
// nil, or the sync's error) after the next sync of the WAL.
func (w *walSyncer) await(r *txReq) {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		r.done <- errClosed
		return
	}
	w.pending = append(w.pending, r)
	w.mu.Unlock()
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

func (w *walSyncer) run() {
	defer close(w.done)
	var batch []*txReq
	for range w.kick {
		w.mu.Lock()
		batch, w.pending = w.pending, batch[:0]
		closed := w.closed
		w.mu.Unlock()
		if len(batch) > 0 {
			err := w.sync()
			for _, r := range batch {
				r.done <- err
			}
			clear(batch)
		}
		if closed {
			if w.f != nil {
				w.f.Close()
			}
			return
		}
	}
}

// sync makes every frame written to the WAL so far durable.
func (w *walSyncer) sync() error {
	if w.beforeSync != nil {
		w.beforeSync()
	}
	if err := w.open(); err != nil {
		return fmt.Errorf("sqlite: sync WAL: %w", err)
	}
	if err := datasync(w.f); err != nil {
		return fmt.Errorf("sqlite: sync WAL: %w", err)
	}
	w.syncs.Add(1)
	return nil
}

// open opens the WAL file, again if SQLite replaced it (it removes the
// WAL when its last connection closes, after a complete checkpoint: what
// the old file held is then in the database file, synced).
func (w *walSyncer) open() error {
	st, err := os.Stat(w.path)
	if err != nil {
		return err
	}
	if w.f != nil {
		if cur, err := w.f.Stat(); err == nil && os.SameFile(cur, st) {
			return nil
		}
		w.f.Close()
		w.f = nil
	}
	f, err := os.Open(w.path)
	if err != nil {
		return err
	}
	w.f = f
	return nil
}

// close answers what is pending after a last sync and stops the syncer;
// await answers errClosed from then on. The writer must have stopped.
func (w *walSyncer) close() {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		<-w.done
		return
	}
	w.closed = true
	w.mu.Unlock()
	select {
	case w.kick <- struct{}{}:
	default:
	}
	<-w.done
}
