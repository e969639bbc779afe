package sqlstore

import (
	"context"
	"database/sql"
	"sync"
)

// writerStmts keeps the SQLite writer's prepared statements. The writer
// has one connection, which a transaction holds: a statement cannot be
// prepared on the pool while one runs. So a query first seen in a
// transaction runs unprepared and is noted; the group writer prepares the
// noted ones once its commit has freed the connection, and every later
// transaction runs them prepared (Tx.StmtContext reuses the statement
// prepared on that connection).
type writerStmts struct {
	db      *sql.DB
	mu      sync.Mutex
	stmts   map[string]*sql.Stmt
	pending map[string]bool
}

func newWriterStmts(db *sql.DB) *writerStmts {
	return &writerStmts{db: db, stmts: map[string]*sql.Stmt{}, pending: map[string]bool{}}
}

// get returns q's prepared statement, or nil after noting q for prepare.
func (w *writerStmts) get(q string) *sql.Stmt {
	w.mu.Lock()
	defer w.mu.Unlock()
	st := w.stmts[q]
	if st == nil && len(w.stmts)+len(w.pending) < maxCachedStmts {
		w.pending[q] = true
	}
	return st
}

// prepare prepares the noted queries; the connection must be free. A
// query that fails to prepare is dropped: it keeps running unprepared.
func (w *writerStmts) prepare() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for q := range w.pending {
		if st, err := w.db.Prepare(q); err == nil {
			w.stmts[q] = st
		}
		delete(w.pending, q)
	}
}

func (w *writerStmts) close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for q, st := range w.stmts {
		_ = st.Close()
		delete(w.stmts, q)
	}
}

// in returns tx's execer that runs prepared statements where it can.
func (w *writerStmts) in(tx *sql.Tx) execer { return preparedTx{tx: tx, w: w} }

type preparedTx struct {
	tx *sql.Tx
	w  *writerStmts
}

func (p preparedTx) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	if st := p.w.get(q); st != nil {
		return p.tx.StmtContext(ctx, st).ExecContext(ctx, args...)
	}
	return p.tx.ExecContext(ctx, q, args...)
}

func (p preparedTx) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	if st := p.w.get(q); st != nil {
		return p.tx.StmtContext(ctx, st).QueryContext(ctx, args...)
	}
	return p.tx.QueryContext(ctx, q, args...)
}

func (p preparedTx) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	if st := p.w.get(q); st != nil {
		return p.tx.StmtContext(ctx, st).QueryRowContext(ctx, args...)
	}
	return p.tx.QueryRowContext(ctx, q, args...)
}
