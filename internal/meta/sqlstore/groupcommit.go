package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/acre-project/acre/internal/meta"
)

// maxBatch bounds the transactions one SQLite commit carries.
const maxBatch = 64

// txReq is a transaction waiting for the writer.
type txReq struct {
	ctx      context.Context
	fn       func(q meta.Queries) error
	relaxed  bool // meta.Relaxed: may be answered before the commit is durable
	done     chan error
	panicked any // what fn panicked with, raised again in the caller
}

// errPanicked stands for a fn that panicked; tx panics again with the value.
var errPanicked = errors.New("sqlite: transaction function panicked")

// call runs r's fn on q, turning a panic into errPanicked.
func (r *txReq) call(q meta.Queries) (err error) {
	defer func() {
		if p := recover(); p != nil {
			r.panicked, err = p, errPanicked
		}
	}()
	return r.fn(q)
}

// groupWriter runs SQLite write transactions with group commit: one
// goroutine owns the writer connection and takes every transaction that is
// waiting when the previous commit ends, runs each in a savepoint of one
// transaction and commits them together, so that concurrent writers share
// one commit (and, at synchronous=FULL, one WAL sync) instead of queueing
// for one each. A transaction whose fn fails is rolled back to its
// savepoint alone; its neighbours commit. Each caller is answered only
// after the commit that carries its writes is durable, except callers of
// relaxed transactions (meta.Relaxed), answered once it is made. With a
// syncer (the store at synchronous=FULL), durable is the syncer's job:
// the writer commits without syncing and goes on while the syncer syncs
// the WAL and answers (walsync.go).
type groupWriter struct {
	db     *sql.DB
	cache  *resolveCache
	stmts  *writerStmts
	syncer *walSyncer // nil: each commit is as durable as the connection's level makes it
	reqs   chan *txReq
	quit   chan struct{}
	done   chan struct{}
	once   sync.Once

	committed func() // called after each commit, when set (the checkpointer's kick)

	commits atomic.Int64 // commits made (a batch counts once)
	txs     atomic.Int64 // transactions committed
}

func newGroupWriter(db *sql.DB, cache *resolveCache, syncer *walSyncer) *groupWriter {
	g := &groupWriter{db: db, cache: cache, stmts: newWriterStmts(db), syncer: syncer, reqs: make(chan *txReq, maxBatch), quit: make(chan struct{}), done: make(chan struct{})}
	go g.run()
	return g
}

var errClosed = errors.New("sqlite: store closed")

// tx queues fn and waits for the commit that carries it.
func (g *groupWriter) tx(ctx context.Context, fn func(q meta.Queries) error) error {
	r := &txReq{ctx: ctx, fn: fn, relaxed: meta.IsRelaxed(ctx), done: make(chan error, 1)}
	select {
	case <-g.quit:
		return errClosed
	default:
	}
	select {
	case g.reqs <- r:
	case <-g.quit:
		return errClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	// Once queued, the answer comes whatever happens to ctx: the caller must
	// learn whether its writes committed. A writer that stopped has either
	// answered or never will.
	var err error
	select {
	case err = <-r.done:
	case <-g.done:
		select {
		case err = <-r.done:
		default:
			return errClosed
		}
	}
	if r.panicked != nil {
		panic(r.panicked)
	}
	return err
}

// close stops the writer after the batch in progress.
func (g *groupWriter) close() {
	g.once.Do(func() { close(g.quit) })
	<-g.done
}

func (g *groupWriter) run() {
	defer close(g.done)
	if g.syncer != nil {
		defer g.syncer.close() // before done: what it holds is answered first
	}
	defer g.stmts.close()
	batch := make([]*txReq, 0, maxBatch)
	for {
		select {
		case r := <-g.reqs:
			batch = append(batch[:0], r)
		case <-g.quit:
			return
		}
	drain:
		for len(batch) < maxBatch {
			select {
			case r := <-g.reqs:
				batch = append(batch, r)
			default:
				break drain
			}
		}
		for i, err := range g.commit(batch) {
			if r := batch[i]; err == nil && !r.relaxed && g.syncer != nil {
				g.syncer.await(r)
			} else {
				r.done <- err
			}
		}
		g.stmts.prepare() // the connection is free now
		clear(batch[:cap(batch)])
	}
}

// commit runs batch in one transaction, each fn in a savepoint. Should the
// transaction itself fail (a statement error that SQLite answers by
// rolling back everything, a failed commit), the transactions that had
// succeeded run again one per commit; fn may run more than once by
// contract.
//
// It returns each transaction's outcome after the resolution cache has
// dropped what the batch's writes may have changed, so that a write is
// visible to every read after its caller is answered.
func (g *groupWriter) commit(batch []*txReq) []error {
	var dirty atomic.Bool
	errs := make([]error, len(batch))
	defer func() {
		if dirty.Load() {
			g.cache.invalidate()
		}
	}()
	if len(batch) == 1 {
		errs[0] = g.single(batch[0], &dirty)
		return errs
	}
	err := func() error {
		tx, err := g.db.BeginTx(context.Background(), nil)
		if err != nil {
			return fmt.Errorf("sqlite: begin: %w", err)
		}
		defer tx.Rollback() // after Commit, a no-op
		for i, r := range batch {
			if errs[i] = r.ctx.Err(); errs[i] != nil {
				continue
			}
			if _, err := tx.Exec("SAVEPOINT b"); err != nil {
				return err
			}
			if errs[i] = r.call(&queries{db: batchExecer{writeTracker{g.stmts.in(tx), &dirty}}, d: dialectSQLite}); errs[i] != nil {
				if _, err := tx.Exec("ROLLBACK TO b"); err != nil {
					return err // SQLite rolled the whole transaction back
				}
			}
			if _, err := tx.Exec("RELEASE b"); err != nil {
				return err
			}
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("sqlite: commit: %w", err)
		}
		g.commits.Add(1)
		g.kick()
		for _, e := range errs {
			if e == nil {
				g.txs.Add(1)
			}
		}
		return nil
	}()
	for i, r := range batch {
		if err != nil && errs[i] == nil {
			errs[i] = g.single(r, &dirty) // the batch failed as a whole: alone this time
		}
	}
	return errs
}

// single runs one transaction on its own.
func (g *groupWriter) single(r *txReq, dirty *atomic.Bool) error {
	if err := r.ctx.Err(); err != nil {
		return err
	}
	tx, err := g.db.BeginTx(context.WithoutCancel(r.ctx), nil)
	if err != nil {
		return fmt.Errorf("sqlite: begin: %w", err)
	}
	if err := r.call(&queries{db: batchExecer{writeTracker{g.stmts.in(tx), dirty}}, d: dialectSQLite}); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: commit: %w", err)
	}
	g.commits.Add(1)
	g.kick()
	g.txs.Add(1)
	return nil
}

// kick tells whoever wants to know that a commit was made.
func (g *groupWriter) kick() {
	if g.committed != nil {
		g.committed()
	}
}

// batchExecer runs a queued transaction's statements without its caller's
// cancellation: a cancelled statement would interrupt SQLite, which may
// roll back the whole shared transaction. The caller's context is checked
// before its fn starts; its statements then run to the end.
type batchExecer struct{ db execer }

func (b batchExecer) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return b.db.ExecContext(context.WithoutCancel(ctx), q, args...)
}

func (b batchExecer) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return b.db.QueryContext(context.WithoutCancel(ctx), q, args...)
}

func (b batchExecer) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	return b.db.QueryRowContext(context.WithoutCancel(ctx), q, args...)
}
