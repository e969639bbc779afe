package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"time"

	"github.com/acre-project/acre/internal/meta"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
)

// OpenPostgres opens the PostgreSQL database named by dsn (a URL or a
// key=value string, as pgx parses it) and applies pending migrations.
// Several nodes may share the database: they migrate one at a time, and
// transactions are serializable and retried on serialization failures.
func OpenPostgres(ctx context.Context, dsn string, o Options) (*Store, error) {
	wcfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	rcfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	// Reads run in read-only sessions, so a write through Read() fails as
	// it does on SQLite.
	rcfg.RuntimeParams["default_transaction_read_only"] = "on"
	n := max(4, runtime.GOMAXPROCS(0)*2)
	w := stdlib.OpenDB(*wcfg)
	w.SetMaxOpenConns(n)
	w.SetMaxIdleConns(n)
	if err := migratePostgres(ctx, w); err != nil {
		w.Close()
		return nil, err
	}
	r := stdlib.OpenDB(*rcfg)
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	// pgx prepares and caches each distinct query per connection itself, so
	// the read pool needs no stmtCache.
	return &Store{d: dialectPostgres, w: w, r: r, read: pgExecer{r}}, nil
}

// migrateLockKey is the advisory lock held while migrating.
const migrateLockKey = 0x61637265 // "acre"

// migratePostgres migrates under a session advisory lock, so that nodes
// starting together do not run the same migration twice.
func migratePostgres(ctx context.Context, db *sql.DB) error {
	conn, err := db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, fmt.Sprintf(`SELECT pg_advisory_lock(%d)`, migrateLockKey)); err != nil {
		return fmt.Errorf("postgres: migration lock: %w", err)
	}
	err = migrate(ctx, conn, dialectPostgres, dialectPostgres.migrations())
	// On failure the caller closes the pool, which ends the session and its lock.
	if _, uerr := conn.ExecContext(context.WithoutCancel(ctx), fmt.Sprintf(`SELECT pg_advisory_unlock(%d)`, migrateLockKey)); uerr != nil && err == nil {
		err = fmt.Errorf("postgres: migration unlock: %w", uerr)
	}
	return err
}

const (
	// pgTxAttempts bounds how often pgTx runs fn.
	pgTxAttempts = 10
	// pgTxShared is how many attempts run alongside other transactions;
	// later ones run alone.
	pgTxShared = 3
	// txLockKey is the advisory lock that write transactions hold shared,
	// and a transaction that keeps losing holds exclusively.
	txLockKey = 0x61637266
)

// pgTx runs fn in a serializable transaction, again (after a short,
// jittered, growing pause) while the transaction fails for a reason that a
// retry can cure. Serializable transactions that touch the same rows
// (a registry's usage, a shared blob's GC queue entry) fail often under
// load, and a long one (a GC batch) can lose to short ones again and
// again: after pgTxShared attempts, fn runs with every other write
// transaction of every node kept out, which it cannot lose.
func (s *Store) pgTx(ctx context.Context, fn func(q meta.Queries) error) error {
	for attempt := 1; ; attempt++ {
		err := s.pgTxOnce(ctx, fn, attempt > pgTxShared)
		if err == nil || attempt == pgTxAttempts || !pgRetryable(err) || ctx.Err() != nil {
			return err
		}
		d := time.Millisecond << min(attempt-1, 6)
		t := time.NewTimer(d + rand.N(d))
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
	}
}

func (s *Store) pgTxOnce(ctx context.Context, fn func(q meta.Queries) error, alone bool) error {
	var db interface {
		BeginTx(ctx context.Context, opts *sql.TxOptions) (*sql.Tx, error)
	} = s.w
	if alone {
		// The exclusive lock is taken before the transaction starts: a
		// serializable transaction's snapshot dates from its first
		// statement, and must show every write that committed while it waited.
		conn, err := s.w.Conn(ctx)
		if err != nil {
			return fmt.Errorf("postgres: begin: %w", err)
		}
		defer conn.Close()
		if _, err := conn.ExecContext(ctx, fmt.Sprintf(`SELECT pg_advisory_lock(%d)`, txLockKey)); err != nil {
			discard(conn) // it may hold the lock all the same
			return fmt.Errorf("postgres: begin: %w", err)
		}
		defer func() {
			if _, err := conn.ExecContext(context.WithoutCancel(ctx), fmt.Sprintf(`SELECT pg_advisory_unlock(%d)`, txLockKey)); err != nil {
				discard(conn)
			}
		}()
		db = conn
	}
	tx, err := db.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelSerializable})
	if err != nil {
		return fmt.Errorf("postgres: begin: %w", err)
	}
	if !alone {
		if _, err := tx.ExecContext(ctx, fmt.Sprintf(`SELECT pg_advisory_xact_lock_shared(%d)`, txLockKey)); err != nil {
			_ = tx.Rollback()
			return fmt.Errorf("postgres: begin: %w", err)
		}
	}
	if meta.IsRelaxed(ctx) {
		if _, err := tx.ExecContext(ctx, `SET LOCAL synchronous_commit = off`); err != nil {
			_ = tx.Rollback()
			return fmt.Errorf("postgres: begin: %w", err)
		}
	}
	if err := fn(&queries{db: pgExecer{tx}, d: dialectPostgres}); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("postgres: commit: %w", err)
	}
	return nil
}

// discard closes conn's session instead of returning it to the pool.
func discard(conn *sql.Conn) {
	_ = conn.Raw(func(any) error { return driver.ErrBadConn })
}

// pgRetryable reports whether a transaction that failed with err may
// succeed when run again: a serialization failure (40001) or a deadlock
// (40P01). A transaction aborted by an earlier statement whose error fn
// did not return (25P02, or a commit that rolled back) is retried too: a
// serialization failure is what a read can meet there, and the retries are
// bounded.
func pgRetryable(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "40001", "40P01", "25P02":
			return true
		}
	}
	return errors.Is(err, pgx.ErrTxCommitRollback)
}
