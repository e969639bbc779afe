package sqlstore

import (
	"context"
	"database/sql"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/acre-project/acre/internal/meta"
)

// Bounds of the resolution cache: entries, and manifest bytes held.
const (
	resolveCacheEntries = 4096
	resolveCacheBytes   = 8 << 20
)

// resolveCache keeps ResolveManifest answers of the SQLite store, the hot
// read of every manifest HEAD and GET. It is exact rather than timed: the
// process that opened a SQLite database is its only writer, every write
// transaction that changes a row a resolution reads bumps gen once it has
// committed (or rolled back), and an answer is kept only when gen did not
// move while it was read. So an acknowledged write is visible to the next
// read. PostgreSQL stores, shared by several nodes, have no cache.
type resolveCache struct {
	gen atomic.Uint64

	mu      sync.Mutex
	mapGen  uint64 // the gen the entries were read under
	entries map[resolveKey]*resolved
	bytes   int
}

type resolveKey struct {
	registryID  int64
	repo, ref   string
	withContent bool
}

// resolved is one cached answer; callers get copies of the structs (the
// manifest's Content and Annotations are shared and must not be changed).
type resolved struct {
	r meta.Repository
	t *meta.Tag
	m meta.Manifest
}

func newResolveCache() *resolveCache {
	return &resolveCache{entries: map[resolveKey]*resolved{}}
}

// invalidate drops every answer; a write transaction calls it after it ends.
func (c *resolveCache) invalidate() { c.gen.Add(1) }

// syncGen empties the map if gen moved since it was filled; c.mu is held.
func (c *resolveCache) syncGen() uint64 {
	g := c.gen.Load()
	if g != c.mapGen {
		clear(c.entries)
		c.mapGen, c.bytes = g, 0
	}
	return g
}

func (c *resolveCache) get(k resolveKey) (*meta.Repository, *meta.Tag, *meta.Manifest, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.syncGen()
	e := c.entries[k]
	if e == nil {
		return nil, nil, nil, false
	}
	r, m := e.r, e.m
	var t *meta.Tag
	if e.t != nil {
		tc := *e.t
		t = &tc
	}
	return &r, t, &m, true
}

// put keeps an answer read while gen was g.
func (c *resolveCache) put(k resolveKey, g uint64, r *meta.Repository, t *meta.Tag, m *meta.Manifest) {
	size := len(m.Content) + len(k.repo) + len(k.ref) + 512
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.syncGen() != g || size > resolveCacheBytes/64 {
		return
	}
	if old := c.entries[k]; old != nil {
		c.bytes -= len(old.m.Content) + len(k.repo) + len(k.ref) + 512
	}
	for victim, e := range c.entries { // map order is random: random eviction
		if len(c.entries) < resolveCacheEntries && c.bytes+size <= resolveCacheBytes {
			break
		}
		delete(c.entries, victim)
		c.bytes -= len(e.m.Content) + len(victim.repo) + len(victim.ref) + 512
	}
	e := &resolved{r: *r, m: *m}
	if t != nil {
		tc := *t
		e.t = &tc
	}
	c.entries[k] = e
	c.bytes += size
}

// cachedResolve answers from the cache or reads through q and keeps the answer.
func (c *resolveCache) resolve(ctx context.Context, q *queries, registryID int64, repo, ref string, withContent bool) (*meta.Repository, *meta.Tag, *meta.Manifest, error) {
	k := resolveKey{registryID, repo, ref, withContent}
	if r, t, m, ok := c.get(k); ok {
		return r, t, m, nil
	}
	g := c.gen.Load()
	r, t, m, err := q.resolveManifest(ctx, registryID, repo, ref, withContent)
	if err == nil && m != nil {
		c.put(k, g, r, t, m)
	}
	return r, t, m, err
}

// writeTracker is the execer of a SQLite write transaction: it notes
// whether any statement may change what ResolveManifest reads. Reads,
// audit log appends and last-pull times do not.
type writeTracker struct {
	db    execer
	dirty *atomic.Bool
}

func (w writeTracker) note(q string) {
	if !w.dirty.Load() && changesResolution(q) {
		w.dirty.Store(true)
	}
}

func (w writeTracker) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	w.note(q)
	return w.db.ExecContext(ctx, q, args...)
}

func (w writeTracker) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	w.note(q)
	return w.db.QueryContext(ctx, q, args...)
}

func (w writeTracker) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	w.note(q)
	return w.db.QueryRowContext(ctx, q, args...)
}

// changesResolution reports whether statement q may change a row that
// ResolveManifest reads (anything but a plain SELECT and the statements
// known to touch other rows or columns only).
func changesResolution(q string) bool {
	q = strings.TrimSpace(q)
	if len(q) >= 6 && strings.EqualFold(q[:6], "SELECT") {
		return false
	}
	for _, harmless := range []string{
		"INSERT INTO audit_log ",
		"UPDATE manifests SET last_pulled_at = ",
		"UPDATE tags SET last_pulled_at = ",
	} {
		if strings.HasPrefix(q, harmless) {
			return false
		}
	}
	return true
}
