// Package sqlstore implements meta.Store on SQL. SQLite (pure Go, no cgo) is
// the embedded default; PostgreSQL (OpenPostgres) shares the same queries
// through a small dialect seam (dialect.go).
package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"runtime"
	"strconv"

	"github.com/acre-project/acre/internal/meta"
	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// Options tune the store.
type Options struct {
	// Synchronous is SQLite's synchronous pragma: "full" (default; a commit
	// survives power loss) or "normal" (survives a process crash only).
	// PostgreSQL ignores it.
	Synchronous string
}

// Store is a meta.Store on SQL. On SQLite, writes go through one connection
// (SQLite has one writer) and reads use a pool of query-only connections.
// On PostgreSQL both are pools: transactions are serializable and retried
// on serialization failures, and reads run in read-only sessions.
type Store struct {
	d      dialect
	w      *sql.DB
	r      *sql.DB
	read   execer        // what Read uses
	rStmts *stmtCache    // SQLite: prepared statements on the read pool (transactions run unprepared)
	cache  *resolveCache // SQLite only
	gw     *groupWriter  // SQLite only: write transactions, group-committed
	ck     *checkpointer // SQLite only
}

var _ meta.Store = (*Store)(nil)

// OpenSQLite opens (creating if needed) the database at path and applies
// pending migrations. The database and its WAL and shared-memory files
// hold the token signing keys: they are made readable by their owner only
// (0600), whatever their mode was.
func OpenSQLite(ctx context.Context, path string, o Options) (*Store, error) {
	if err := ownerOnly(path); err != nil {
		return nil, err
	}
	sync := o.Synchronous
	if sync == "" {
		sync = "full"
	}
	if sync != "full" && sync != "normal" {
		return nil, fmt.Errorf("sqlite: synchronous must be full or normal, not %q", sync)
	}
	// Pages are read into each connection's page cache, kept small (2 MiB
	// for the writer, 512 KiB per reader); what does not fit is read again
	// from the OS's file cache. The database is not memory-mapped: each
	// connection would map it again, and every page it touched would count
	// once per connection in the process's resident memory, growing with
	// the database. WAL mode is set through _journal_mode, which the driver
	// applies after the _pragma list (a _pragma=journal_mode would run
	// first, and a page_size pragma after it could no longer apply).
	common := "file:" + (&url.URL{Path: path}).EscapedPath() + "?_journal_mode=WAL&_pragma=busy_timeout(10000)&_pragma=mmap_size(0)" +
		"&_pragma=foreign_keys(1)"
	base := common + "&_pragma=synchronous(" + sync + ")"
	// At FULL, the writer commits at NORMAL and a walSyncer makes durable
	// commits durable behind it (walsync.go).
	var syncer *walSyncer
	writer := base
	if sync == "full" {
		writer = common + "&_pragma=synchronous(normal)"
	}
	// The writer keeps its temporary files in memory: those are the
	// statement journals of the savepoints group commit runs each
	// transaction in, which past 64 KiB (a small blob written inline)
	// SQLite would otherwise spill to a new file on disk, once per
	// transaction (a tenth of the writer's time on small pushes). They
	// hold the pages a savepoint changed, so they stay small.
	w, err := sql.Open("sqlite", writer+"&_pragma=cache_size(-2048)&_pragma=temp_store(memory)&_txlock=immediate"+
		"&_pragma=wal_autocheckpoint("+strconv.Itoa(writerCheckpointPages)+")")
	if err != nil {
		return nil, err
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	if err := migrate(ctx, w, dialectSQLite, dialectSQLite.migrations()); err != nil {
		w.Close()
		return nil, err
	}
	if err := ownerOnly(path); err != nil { // the WAL and shared memory now exist
		w.Close()
		return nil, err
	}
	r, err := sql.Open("sqlite", base+"&_pragma=cache_size(-512)&_pragma=query_only(1)")
	if err != nil {
		w.Close()
		return nil, err
	}
	// A reader per CPU and one more: reads are CPU-bound in SQLite, and each
	// connection holds memory of its own (page cache, schema, statements).
	n := max(3, runtime.GOMAXPROCS(0)+1)
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	r.SetConnMaxLifetime(0)
	c, err := sql.Open("sqlite", base+"&_pragma=cache_size(-64)")
	if err != nil {
		w.Close()
		r.Close()
		return nil, err
	}
	c.SetMaxOpenConns(1)
	ck := newCheckpointer(c)
	st := newStmtCache(r)
	cache := newResolveCache()
	if sync == "full" {
		syncer = newWALSyncer(path)
	}
	gw := newGroupWriter(w, cache, syncer)
	gw.committed = ck.committed
	return &Store{d: dialectSQLite, w: w, r: r, read: st, rStmts: st, cache: cache, gw: gw, ck: ck}, nil
}

// ownerOnly creates the database file at path with mode 0600 when it is
// missing (SQLite gives its journal, WAL and shared-memory files the
// database's mode) and sets mode 0600 on those that exist.
func ownerOnly(path string) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return fmt.Errorf("sqlite: %w", err)
	}
	f.Close()
	for _, p := range []string{path, path + "-wal", path + "-shm", path + "-journal"} {
		if err := os.Chmod(p, 0o600); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("sqlite: %w", err)
		}
	}
	return nil
}

// Read implements meta.Store.
func (s *Store) Read() meta.Queries { return &queries{db: s.read, d: s.d, cache: s.cache} }

// Tx implements meta.Store.
func (s *Store) Tx(ctx context.Context, fn func(q meta.Queries) error) error {
	if s.d == dialectPostgres {
		return s.pgTx(ctx, fn)
	}
	return s.gw.tx(ctx, fn)
}

// CommitStats reports, on SQLite, the write transactions committed and the
// commits that carried them (fewer when concurrent transactions shared a
// commit); ok is false on PostgreSQL.
func (s *Store) CommitStats() (transactions, commits int64, ok bool) {
	if s.gw == nil {
		return 0, 0, false
	}
	return s.gw.txs.Load(), s.gw.commits.Load(), true
}

// Ping implements meta.Store.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	return s.r.QueryRowContext(ctx, "SELECT 1").Scan(&one)
}

// Close implements meta.Store.
func (s *Store) Close() error {
	var err error
	if s.gw != nil {
		s.gw.close()
	}
	if s.ck != nil {
		err = s.ck.close()
	}
	if s.rStmts != nil {
		err = errors.Join(err, s.rStmts.close())
	}
	return errors.Join(err, s.r.Close(), s.w.Close())
}

// execer is what both *sql.DB and *sql.Tx offer.
type execer interface {
	ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
}

// queries implements meta.Queries on an execer (wrapped for the dialect).
type queries struct {
	db    execer
	d     dialect
	cache *resolveCache // Read on SQLite: ResolveManifest answers
}

// notFound maps sql.ErrNoRows to meta.ErrNotFound.
func notFound(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return meta.ErrNotFound
	}
	return err
}
