package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// copyTables lists every table in an order that satisfies foreign keys;
// tables with an id column (whose sequence PostgreSQL must move on) say so.
var copyTables = []struct {
	name  string
	hasID bool
}{
	{"registries", true}, {"repositories", true}, {"blobs", false}, {"blob_links", false}, {"manifests", true},
	{"manifest_refs", false}, {"tags", false}, {"uploads", false}, {"events", true}, {"principals", true},
	{"credentials", false}, {"role_assignments", true}, {"scope_maps", false}, {"signing_keys", false},
	{"audit_log", true}, {"webhooks", true}, {"webhook_deliveries", true}, {"gc_queue", false},
	{"registry_usage", false}, {"retention_policies", false}, {"purge_schedules", true},
}

// CopyAll copies every row of src into dst, whose tables must be empty
// (a freshly migrated store), keeping ids, and returns the rows copied per
// table. It is how a registry moves from SQLite to PostgreSQL.
func CopyAll(ctx context.Context, src, dst *Store) (map[string]int64, error) {
	var n int64
	if err := dst.w.QueryRowContext(ctx, `SELECT COUNT(*) FROM registries`).Scan(&n); err != nil {
		return nil, err
	}
	if n > 0 {
		return nil, errors.New("the destination already holds registries: copy only into an empty store")
	}
	out := map[string]int64{}
	tx, err := dst.w.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	ins := dst.d.wrap(tx)
	for _, t := range copyTables {
		rows, err := src.r.QueryContext(ctx, `SELECT * FROM `+t.name)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", t.name, err)
		}
		cols, err := rows.Columns()
		if err != nil {
			rows.Close()
			return nil, err
		}
		q := `INSERT INTO ` + t.name + ` (` + strings.Join(cols, ", ") + `) VALUES (` +
			strings.TrimSuffix(strings.Repeat("?, ", len(cols)), ", ") + `)`
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				rows.Close()
				return nil, err
			}
			if _, err := ins.ExecContext(ctx, q, vals...); err != nil {
				rows.Close()
				return nil, fmt.Errorf("write %s: %w", t.name, err)
			}
			out[t.name]++
		}
		if err := rows.Close(); err != nil {
			return nil, err
		}
		if t.hasID && dst.d == dialectPostgres {
			// The sequence starts past every id the source handed out,
			// deleted ones included, so that none is handed out again.
			var seq int64
			if src.d == dialectSQLite {
				if err := src.r.QueryRowContext(ctx, `SELECT COALESCE((SELECT seq FROM sqlite_sequence WHERE name = ?), 0)`,
					t.name).Scan(&seq); err != nil {
					return nil, fmt.Errorf("sequence of %s: %w", t.name, err)
				}
			}
			if _, err := tx.ExecContext(ctx, `SELECT setval(pg_get_serial_sequence('`+t.name+`', 'id'),
				GREATEST(COALESCE((SELECT MAX(id) FROM `+t.name+`), 0), $1) + 1, false)`, seq); err != nil {
				return nil, fmt.Errorf("sequence of %s: %w", t.name, err)
			}
		}
	}
	return out, tx.Commit()
}

// Counts returns the rows of every table, to compare two stores.
func Counts(ctx context.Context, s *Store) (map[string]int64, error) {
	out := map[string]int64{}
	for _, t := range copyTables {
		var n int64
		if err := s.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+t.name).Scan(&n); err != nil {
			return nil, err
		}
		out[t.name] = n
	}
	return out, nil
}

// BlobDigests calls fn with every recorded blob.
func BlobDigests(ctx context.Context, s *Store, fn func(digest string, size int64) error) error {
	rows, err := s.r.QueryContext(ctx, `SELECT digest, size FROM blobs ORDER BY digest`)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var d string
		var size int64
		if err := rows.Scan(&d, &size); err != nil {
			return err
		}
		if err := fn(d, size); err != nil {
			return err
		}
	}
	return rows.Err()
}
