package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// notCopied names the tables of the SQLite schema that CopyAll leaves
// behind, each with the reason. Every other table is copied: the list of
// tables comes from the source's schema, so a table a migration adds is
// copied without anyone remembering to list it.
var notCopied = map[string]string{
	"schema_migrations": "the destination records the migrations it applied itself, in its own dialect",
	"blob_contents":     "blobs kept inline are copied into the destination's blob store, with every other blob",
}

// CopyTables returns the tables CopyAll copies from src (a SQLite store):
// every table of its schema but those in notCopied, ordered so that each
// comes after the tables its foreign keys reference.
func CopyTables(ctx context.Context, src *Store) ([]string, error) {
	if src.d != dialectSQLite {
		return nil, errors.New("copy: the source must be a SQLite store")
	}
	all, err := scanStrings(src.r.QueryContext(ctx,
		`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\_%' ESCAPE '\' ORDER BY name`))
	if err != nil {
		return nil, fmt.Errorf("copy: list tables: %w", err)
	}
	var names []string
	for _, n := range all {
		if _, skip := notCopied[n]; !skip {
			names = append(names, n)
		}
	}
	deps := map[string][]string{}
	for _, n := range names {
		if deps[n], err = foreignTables(ctx, src, n); err != nil {
			return nil, err
		}
	}
	return orderByDeps(names, deps)
}

// foreignTables lists the tables that table's foreign keys reference, in a SQLite store.
func foreignTables(ctx context.Context, s *Store, table string) ([]string, error) {
	refs, err := scanStrings(s.r.QueryContext(ctx, `SELECT DISTINCT "table" FROM pragma_foreign_key_list(?)`, table))
	if err != nil {
		return nil, fmt.Errorf("copy: foreign keys of %s: %w", table, err)
	}
	return slices.DeleteFunc(refs, func(r string) bool { return r == table }), nil
}

// orderByDeps orders names (sorted) so that each follows the names it
// depends on, keeping the sorted order where dependencies allow.
func orderByDeps(names []string, deps map[string][]string) ([]string, error) {
	placed := map[string]bool{}
	var out []string
	for len(out) < len(names) {
		progress := false
		for _, n := range names {
			if placed[n] || slices.ContainsFunc(deps[n], func(d string) bool {
				return !placed[d] && slices.Contains(names, d)
			}) {
				continue
			}
			placed[n], progress = true, true
			out = append(out, n)
		}
		if !progress {
			var left []string
			for _, n := range names {
				if !placed[n] {
					left = append(left, n)
				}
			}
			return nil, fmt.Errorf("copy: the foreign keys of tables %v form a cycle", left)
		}
	}
	return out, nil
}

// CopyAll copies every row of src (a SQLite store) into dst, whose tables
// must be empty (a freshly migrated store), keeping ids and moving dst's
// identity sequences past them, and returns the rows copied per table (every
// table of CopyTables, zero included). Values stay as stored: sealed secrets
// stay sealed, so dst's nodes need the key file src's server used. It is how
// a registry moves from SQLite to PostgreSQL; it copies in one transaction.
func CopyAll(ctx context.Context, src, dst *Store) (map[string]int64, error) {
	tables, err := CopyTables(ctx, src)
	if err != nil {
		return nil, err
	}
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
	for _, t := range tables {
		if out[t], err = copyTable(ctx, src, ins, t); err != nil {
			return nil, err
		}
		if dst.d != dialectPostgres {
			continue
		}
		// Each identity sequence starts past every id the source handed
		// out, deleted ones included, so that none is handed out again.
		var seq int64
		if err := src.r.QueryRowContext(ctx, `SELECT COALESCE((SELECT seq FROM sqlite_sequence WHERE name = ?), 0)`,
			t).Scan(&seq); err != nil {
			return nil, fmt.Errorf("sequence of %s: %w", t, err)
		}
		idCols, err := identityColumns(ctx, ins, t)
		if err != nil {
			return nil, err
		}
		for _, c := range idCols {
			if _, err := tx.ExecContext(ctx, `SELECT setval(pg_get_serial_sequence($1, $2),
				GREATEST(COALESCE((SELECT MAX(`+c+`) FROM `+t+`), 0), $3) + 1, false)`, t, c, seq); err != nil {
				return nil, fmt.Errorf("sequence of %s.%s: %w", t, c, err)
			}
		}
	}
	return out, tx.Commit()
}

// copyTable inserts every row of table t of src through ins.
func copyTable(ctx context.Context, src *Store, ins execer, t string) (int64, error) {
	rows, err := src.r.QueryContext(ctx, `SELECT * FROM `+t)
	if err != nil {
		return 0, fmt.Errorf("read %s: %w", t, err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return 0, err
	}
	q := `INSERT INTO ` + t + ` (` + strings.Join(cols, ", ") + `) VALUES (` +
		strings.TrimSuffix(strings.Repeat("?, ", len(cols)), ", ") + `)`
	var n int64
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return n, err
		}
		if _, err := ins.ExecContext(ctx, q, vals...); err != nil {
			return n, fmt.Errorf("write %s: %w", t, err)
		}
		n++
	}
	return n, rows.Err()
}

// identityColumns lists the identity (or serial) columns of a PostgreSQL table.
func identityColumns(ctx context.Context, q execer, table string) ([]string, error) {
	cols, err := scanStrings(q.QueryContext(ctx, `SELECT column_name FROM information_schema.columns
		WHERE table_schema = current_schema() AND table_name = ?
		  AND (is_identity = 'YES' OR column_default LIKE 'nextval(%')`, table))
	if err != nil {
		return nil, fmt.Errorf("identity columns of %s: %w", table, err)
	}
	return cols, nil
}

// Counts returns the rows of each of tables in s, to compare two stores.
func Counts(ctx context.Context, s *Store, tables []string) (map[string]int64, error) {
	out := map[string]int64{}
	for _, t := range tables {
		var n int64
		if err := s.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+t).Scan(&n); err != nil {
			return nil, fmt.Errorf("count %s: %w", t, err)
		}
		out[t] = n
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
