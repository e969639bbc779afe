package sqlstore

import (
	"context"
	"database/sql"
	"io/fs"
	"strconv"
	"strings"
	"sync"
)

// dialect is the SQL engine behind a Store. The queries are written once,
// for SQLite: `?` placeholders, 0/1 INTEGER booleans, Unix-nanosecond
// INTEGER times. For PostgreSQL, wrap rewrites the placeholders to $1..$n
// and the boolean arguments to 0/1; the few snippets that differ come from
// the dialect's methods.
type dialect int

const (
	dialectSQLite dialect = iota
	dialectPostgres
)

// greatest is the function returning the larger of its two arguments.
func (d dialect) greatest() string {
	if d == dialectPostgres {
		return "GREATEST"
	}
	return "MAX"
}

// migrations is the dialect's migration directory.
func (d dialect) migrations() fs.FS {
	if d == dialectPostgres {
		return postgresMigrations
	}
	return sqliteMigrations
}

// wrap adapts an execer to the dialect.
func (d dialect) wrap(db execer) execer {
	if d == dialectPostgres {
		return pgExecer{db}
	}
	return db
}

// pgExecer runs SQLite-style queries on PostgreSQL.
type pgExecer struct{ db execer }

func (e pgExecer) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return e.db.ExecContext(ctx, pgRebind(q), pgArgs(args)...)
}

func (e pgExecer) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return e.db.QueryContext(ctx, pgRebind(q), pgArgs(args)...)
}

func (e pgExecer) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	return e.db.QueryRowContext(ctx, pgRebind(q), pgArgs(args)...)
}

// pgArgs turns bool arguments into 0/1: PostgreSQL's INTEGER columns
// refuse booleans. The slice is copied only when it holds one.
func pgArgs(args []any) []any {
	for i, a := range args {
		if _, ok := a.(bool); !ok {
			continue
		}
		out := make([]any, len(args))
		copy(out, args)
		for j := i; j < len(out); j++ {
			if b, ok := out[j].(bool); ok {
				out[j] = boolInt(b)
			}
		}
		return out
	}
	return args
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// rebound caches pgRebind per distinct query text. The queries are a fixed
// set (list queries vary only in their optional filters and batch sizes);
// maxRebound is a guard.
var rebound = struct {
	sync.RWMutex
	m map[string]string
}{m: map[string]string{}}

const maxRebound = 2048

// pgRebind rewrites the `?` placeholders of q to $1..$n, leaving string
// literals, quoted identifiers and comments alone.
func pgRebind(q string) string {
	rebound.RLock()
	out, ok := rebound.m[q]
	rebound.RUnlock()
	if ok {
		return out
	}
	out = rebind(q)
	rebound.Lock()
	if len(rebound.m) < maxRebound {
		rebound.m[q] = out
	}
	rebound.Unlock()
	return out
}

func rebind(q string) string {
	if !strings.Contains(q, "?") {
		return q
	}
	var b strings.Builder
	b.Grow(len(q) + 16)
	n := 0
	for i := 0; i < len(q); i++ {
		c := q[i]
		switch {
		case c == '?':
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		case c == '\'' || c == '"':
			// Copy through the closing quote; a doubled quote is an escaped one
			// and simply closes and reopens.
			j := strings.IndexByte(q[i+1:], c)
			if j < 0 {
				b.WriteString(q[i:])
				return b.String()
			}
			b.WriteString(q[i : i+j+2])
			i += j + 1
			continue
		case c == '-' && i+1 < len(q) && q[i+1] == '-':
			j := strings.IndexByte(q[i:], '\n')
			if j < 0 {
				b.WriteString(q[i:])
				return b.String()
			}
			b.WriteString(q[i : i+j+1])
			i += j
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}
