// Package sqlstore implements meta.Store on SQL. SQLite (pure Go, no cgo) is
// the embedded default; the queries use only portable SQL so that a
// PostgreSQL dialect can share them.
package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"runtime"

	"github.com/acre-project/acre/internal/meta"
	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// Options tune the SQLite store.
type Options struct {
	// Synchronous is SQLite's synchronous pragma: "full" (default; a commit
	// survives power loss) or "normal" (survives a process crash only).
	Synchronous string
}

// Store is a meta.Store on SQLite. Writes go through one connection (SQLite
// has one writer); reads use a pool of query-only connections.
type Store struct {
	w      *sql.DB
	r      *sql.DB
	rStmts *stmtCache // prepared statements on the read pool (transactions run unprepared)
}

var _ meta.Store = (*Store)(nil)

// OpenSQLite opens (creating if needed) the database at path and applies
// pending migrations.
func OpenSQLite(ctx context.Context, path string, o Options) (*Store, error) {
	sync := o.Synchronous
	if sync == "" {
		sync = "full"
	}
	if sync != "full" && sync != "normal" {
		return nil, fmt.Errorf("sqlite: synchronous must be full or normal, not %q", sync)
	}
	base := "file:" + (&url.URL{Path: path}).EscapedPath() + "?_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)" +
		"&_pragma=foreign_keys(1)&_pragma=synchronous(" + sync + ")"
	w, err := sql.Open("sqlite", base+"&_txlock=immediate")
	if err != nil {
		return nil, err
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	if err := migrate(ctx, w, sqliteMigrations); err != nil {
		w.Close()
		return nil, err
	}
	r, err := sql.Open("sqlite", base+"&_pragma=query_only(1)")
	if err != nil {
		w.Close()
		return nil, err
	}
	n := max(4, runtime.GOMAXPROCS(0)*2)
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	r.SetConnMaxLifetime(0)
	return &Store{w: w, r: r, rStmts: newStmtCache(r)}, nil
}

// Read implements meta.Store.
func (s *Store) Read() meta.Queries { return &queries{db: s.rStmts} }

// Tx implements meta.Store.
func (s *Store) Tx(ctx context.Context, fn func(q meta.Queries) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: begin: %w", err)
	}
	if err := fn(&queries{db: tx}); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: commit: %w", err)
	}
	return nil
}

// Ping implements meta.Store.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	return s.r.QueryRowContext(ctx, "SELECT 1").Scan(&one)
}

// Close implements meta.Store.
func (s *Store) Close() error {
	return errors.Join(s.rStmts.close(), s.r.Close(), s.w.Close())
}

// execer is what both *sql.DB and *sql.Tx offer.
type execer interface {
	ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
}

// queries implements meta.Queries on an execer.
type queries struct {
	db execer
}

// notFound maps sql.ErrNoRows to meta.ErrNotFound.
func notFound(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return meta.ErrNotFound
	}
	return err
}
