package sqlstore

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
)

//go:embed migrations
var migrationFiles embed.FS

// One directory per dialect, with the same file names (a test checks).
var (
	sqliteMigrations   = mustSub(migrationFiles, "migrations/sqlite")
	postgresMigrations = mustSub(migrationFiles, "migrations/postgres")
)

func mustSub(f fs.FS, dir string) fs.FS {
	s, err := fs.Sub(f, dir)
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	return s
}

// migrationDB is what migrate needs: a *sql.DB, or a *sql.Conn holding a lock.
type migrationDB interface {
	ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
	BeginTx(ctx context.Context, opts *sql.TxOptions) (*sql.Tx, error)
}

// migrate applies, in order and each in its own transaction, the numbered
// NNNN_name.sql files of dir (d.migrations() but in tests) that the
// database has not applied yet (by version, so a file merged with a lower
// number still runs).
func migrate(ctx context.Context, db migrationDB, d dialect, dir fs.FS) error {
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY)`); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	applied := map[int]bool{}
	rows, err := db.QueryContext(ctx, `SELECT version FROM schema_migrations`)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			rows.Close()
			return fmt.Errorf("migrate: %w", err)
		}
		applied[v] = true
	}
	rows.Close()
	names, err := fs.Glob(dir, "*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	for _, name := range names {
		v, err := strconv.Atoi(strings.SplitN(name, "_", 2)[0])
		if err != nil {
			return fmt.Errorf("migrate: bad file name %q", name)
		}
		if applied[v] {
			continue
		}
		body, err := fs.ReadFile(dir, name)
		if err != nil {
			return err
		}
		if err := applyMigration(ctx, db, d, name, v, string(body)); err != nil {
			return err
		}
	}
	return nil
}

// foreignKeysOff, as a migration's first line, has an SQLite migration run
// with foreign keys off (SQLite's way to rebuild a table that others
// reference) and checked after: dropping the old table must cascade nowhere.
const foreignKeysOff = "-- foreign_keys: off"

// applyMigration runs one migration and records its version, in one transaction.
func applyMigration(ctx context.Context, db migrationDB, d dialect, name string, v int, body string) error {
	if d == dialectSQLite && strings.HasPrefix(body, foreignKeysOff) {
		sdb, ok := db.(*sql.DB)
		if !ok {
			return fmt.Errorf("migrate %s: needs its own connection", name)
		}
		conn, err := sdb.Conn(ctx)
		if err != nil {
			return err
		}
		defer conn.Close()
		if _, err := conn.ExecContext(ctx, `PRAGMA foreign_keys = OFF`); err != nil {
			return fmt.Errorf("migrate %s: %w", name, err)
		}
		defer func() { _, _ = conn.ExecContext(context.WithoutCancel(ctx), `PRAGMA foreign_keys = ON`) }()
		db = conn
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }() // after Commit it does nothing
	if _, err := tx.ExecContext(ctx, body); err != nil {
		return fmt.Errorf("migrate %s: %w", name, err)
	}
	if strings.HasPrefix(body, foreignKeysOff) && d == dialectSQLite {
		rows, err := tx.QueryContext(ctx, `PRAGMA foreign_key_check`)
		if err != nil {
			return fmt.Errorf("migrate %s: %w", name, err)
		}
		bad := rows.Next()
		rows.Close()
		if bad {
			return fmt.Errorf("migrate %s: foreign keys no longer hold", name)
		}
	}
	if _, err := d.wrap(tx).ExecContext(ctx, `INSERT INTO schema_migrations (version) VALUES (?)`, v); err != nil {
		return fmt.Errorf("migrate %s: %w", name, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("migrate %s: %w", name, err)
	}
	return nil
}
