package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"io/fs"
	"path/filepath"
	"testing"
	"testing/fstest"
	"time"

	"github.com/acre-project/acre/internal/meta"
	"github.com/acre-project/acre/internal/meta/metatest"
	"github.com/opencontainers/go-digest"
)

// attrStore adds metatest.AttributeSetter to a Store with plain SQL.
type attrStore struct{ *Store }

func (s attrStore) SetRepositoryAttributes(ctx context.Context, id int64, a meta.Attributes) error {
	_, err := s.d.wrap(s.w).ExecContext(ctx, `UPDATE repositories SET delete_enabled = ?, write_enabled = ?, read_enabled = ?,
		list_enabled = ? WHERE id = ?`, a.DeleteEnabled, a.WriteEnabled, a.ReadEnabled, a.ListEnabled, id)
	s.dropCache()
	return err
}

func (s attrStore) SetTagAttributes(ctx context.Context, repoID int64, tag string, a meta.Attributes) error {
	_, err := s.d.wrap(s.w).ExecContext(ctx, `UPDATE tags SET delete_enabled = ?, write_enabled = ?, read_enabled = ?,
		list_enabled = ? WHERE repository_id = ? AND name = ?`, a.DeleteEnabled, a.WriteEnabled, a.ReadEnabled, a.ListEnabled, repoID, tag)
	s.dropCache()
	return err
}

// dropCache forgets cached resolutions after a write outside Tx.
func (s attrStore) dropCache() {
	if s.cache != nil {
		s.cache.invalidate()
	}
}

func openTemp(t *testing.T, dir string) *Store {
	t.Helper()
	// "normal" keeps the suite fast; durability is not under test here.
	s, err := OpenSQLite(context.Background(), filepath.Join(dir, "meta.db"), Options{Synchronous: "normal"})
	if err != nil {
		t.Fatalf("OpenSQLite: %v", err)
	}
	return s
}

func TestConformance(t *testing.T) {
	metatest.Run(t, func(t *testing.T) meta.Store { return attrStore{openTemp(t, t.TempDir())} })
}

func TestOpenOptions(t *testing.T) {
	for _, tt := range []struct {
		sync string
		ok   bool
	}{{"", true}, {"full", true}, {"normal", true}, {"off", false}, {"FULL", false}, {"normal; DROP TABLE x", false}} {
		t.Run(tt.sync, func(t *testing.T) {
			s, err := OpenSQLite(t.Context(), filepath.Join(t.TempDir(), "meta.db"), Options{Synchronous: tt.sync})
			if err == nil {
				s.Close()
			}
			if (err == nil) != tt.ok {
				t.Fatalf("OpenSQLite(synchronous=%q) = %v, want ok=%v", tt.sync, err, tt.ok)
			}
		})
	}
}

// TestPathsNeedingEscapes opens databases whose paths hold characters that
// mean something in a URI.
func TestPathsNeedingEscapes(t *testing.T) {
	for _, name := range []string{"with space", "q?mark", "hash#dir", "pct%41", "amp&x=y", "semi;colon"} {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), name)
			s, err := OpenSQLite(t.Context(), filepath.Join(dir+".db"), Options{})
			if err != nil {
				t.Fatalf("OpenSQLite: %v", err)
			}
			defer s.Close()
			reg := &meta.Registry{Name: "r", LoginServer: "r.example.com", SKU: "Standard", CreatedAt: time.Now(), UpdatedAt: time.Now()}
			if err := s.Tx(t.Context(), func(q meta.Queries) error { return q.CreateRegistry(t.Context(), reg) }); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Read().GetRegistry(t.Context(), "r"); err != nil {
				t.Fatalf("read back through the read pool: %v", err)
			}
			matches, _ := filepath.Glob(filepath.Join(filepath.Dir(dir), "*"))
			found := false
			for _, m := range matches {
				if m == dir+".db" {
					found = true
				}
			}
			if !found {
				t.Fatalf("database not created at %q; directory holds %q", dir+".db", matches)
			}
		})
	}
}

func TestReopenKeepsData(t *testing.T) {
	dir := t.TempDir()
	testReopenKeepsData(t, func(t *testing.T) *Store { return openTemp(t, dir) })
}

// testReopenKeepsData writes, closes and reopens (with open, which opens the
// same database each time) twice.
func testReopenKeepsData(t *testing.T, open func(t *testing.T) *Store) {
	ctx := t.Context()
	s := open(t)
	created := time.Date(2024, 1, 2, 3, 4, 5, 6000, time.UTC)
	reg := &meta.Registry{Name: "keep", LoginServer: "keep.example.com", SKU: "Premium", CreatedAt: created, UpdatedAt: created}
	d := digest.FromString("layer")
	var m *meta.Manifest
	err := s.Tx(ctx, func(q meta.Queries) error {
		if err := q.CreateRegistry(ctx, reg); err != nil {
			return err
		}
		repo, err := q.EnsureRepository(ctx, reg.ID, "app")
		if err != nil {
			return err
		}
		if _, err := q.PutBlob(ctx, d, 5, created); err != nil {
			return err
		}
		if err := q.LinkBlob(ctx, repo.ID, d, created); err != nil {
			return err
		}
		m = &meta.Manifest{RepositoryID: repo.ID, Digest: digest.FromString("{}"), MediaType: "application/vnd.oci.image.manifest.v1+json",
			Size: 2, Content: []byte("{}"), Refs: []meta.Ref{{Digest: d}}, CreatedAt: created, UpdatedAt: created}
		if _, err := q.PutManifest(ctx, m); err != nil {
			return err
		}
		if err := q.PutTag(ctx, repo.ID, "latest", m.ID, created); err != nil {
			return err
		}
		return q.AppendEvent(ctx, &meta.Event{RegistryID: reg.ID, Action: "push", Repository: "app", Digest: m.Digest, Payload: []byte(`{}`), CreatedAt: created})
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	for i := range 2 {
		s := open(t)
		r := s.Read()
		got, err := r.GetRegistry(ctx, "keep")
		if err != nil || got.ID != reg.ID || got.SKU != "Premium" || !got.CreatedAt.Equal(created) {
			t.Fatalf("reopen %d: GetRegistry = %+v, %v", i, got, err)
		}
		repo, err := r.GetRepository(ctx, reg.ID, "app")
		if err != nil {
			t.Fatalf("reopen %d: GetRepository: %v", i, err)
		}
		if n, err := r.LinkedBlob(ctx, repo.ID, d); err != nil || n != 5 {
			t.Fatalf("reopen %d: LinkedBlob = %d, %v", i, n, err)
		}
		tg, err := r.GetTag(ctx, repo.ID, "latest")
		if err != nil || tg.Digest != m.Digest {
			t.Fatalf("reopen %d: GetTag = %+v, %v", i, tg, err)
		}
		gm, err := r.GetManifest(ctx, repo.ID, m.Digest, true)
		if err != nil || string(gm.Content) != "{}" {
			t.Fatalf("reopen %d: GetManifest = %+v, %v", i, gm, err)
		}
		if es, err := r.ListEvents(ctx, 0, 10); err != nil || len(es) != 1 {
			t.Fatalf("reopen %d: ListEvents = %v, %v", i, es, err)
		}
		// Writes keep working after a reopen, and IDs are not reused.
		var other meta.Registry
		err = s.Tx(ctx, func(q meta.Queries) error {
			other = meta.Registry{Name: "other" + string(rune('a'+i)), LoginServer: "other" + string(rune('a'+i)) + ".example.com", SKU: "Basic", CreatedAt: created, UpdatedAt: created}
			return q.CreateRegistry(ctx, &other)
		})
		if err != nil || other.ID == reg.ID {
			t.Fatalf("reopen %d: CreateRegistry = ID %d, %v", i, other.ID, err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

func migrationFileCount(t *testing.T) int {
	t.Helper()
	names, err := fs.Glob(sqliteMigrations, "*.sql")
	if err != nil || len(names) == 0 {
		t.Fatalf("embedded migrations: %v, %v", names, err)
	}
	return len(names)
}

func appliedVersions(t *testing.T, s *Store) []int {
	t.Helper()
	rows, err := s.r.QueryContext(t.Context(), `SELECT version FROM schema_migrations ORDER BY version`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []int
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		out = append(out, v)
	}
	return out
}

func TestMigrationsIdempotent(t *testing.T) {
	dir := t.TempDir()
	testMigrationsIdempotent(t, func(t *testing.T) *Store { return openTemp(t, dir) })
}

// testMigrationsIdempotent opens the same database (with open) three times.
func testMigrationsIdempotent(t *testing.T, open func(t *testing.T) *Store) {
	want := migrationFileCount(t)
	for i := range 3 {
		s := open(t)
		if v := appliedVersions(t, s); len(v) != want {
			t.Fatalf("open %d: applied versions %v, want %d of them", i, v, want)
		}
		// Running the migrations again by hand changes nothing either.
		if err := migrate(t.Context(), s.w, s.d, s.d.migrations()); err != nil {
			t.Fatalf("open %d: migrate again: %v", i, err)
		}
		if v := appliedVersions(t, s); len(v) != want {
			t.Fatalf("open %d: after a second migrate, versions %v", i, v)
		}
		s.Close()
	}
}

func TestMigrate(t *testing.T) {
	testMigrate(t, func(t *testing.T) *Store { return openTemp(t, t.TempDir()) })
}

// testMigrate runs migrate on test directories, each case on a fresh store.
func testMigrate(t *testing.T, fresh func(t *testing.T) *Store) {
	ctx := t.Context()
	tests := []struct {
		name     string
		steps    []fstest.MapFS // applied in turn to the same database
		wantErr  bool           // from the last step
		versions []int
		tables   []string // must exist at the end
		absent   []string // must not exist at the end
	}{
		{
			name: "in order",
			steps: []fstest.MapFS{{
				"0002_b.sql": {Data: []byte(`CREATE TABLE b (x INTEGER REFERENCES a(x));`)},
				"0001_a.sql": {Data: []byte(`CREATE TABLE a (x INTEGER PRIMARY KEY);`)},
				"README.md":  {Data: []byte(`not a migration`)},
			}},
			versions: []int{1, 2},
			tables:   []string{"a", "b"},
		},
		{
			name: "only new ones on a later run",
			steps: []fstest.MapFS{
				{"0001_a.sql": {Data: []byte(`CREATE TABLE a (x INTEGER);`)}},
				{
					"0001_a.sql": {Data: []byte(`CREATE TABLE a (x INTEGER);`)},
					"0002_b.sql": {Data: []byte(`CREATE TABLE b (x INTEGER);`)},
				},
			},
			versions: []int{1, 2},
			tables:   []string{"a", "b"},
		},
		{
			name: "a failing migration is rolled back whole",
			steps: []fstest.MapFS{{
				"0001_a.sql": {Data: []byte(`CREATE TABLE a (x INTEGER);`)},
				"0002_b.sql": {Data: []byte(`CREATE TABLE b (x INTEGER); CREATE TABLE broken (;`)},
			}},
			wantErr:  true,
			versions: []int{1},
			tables:   []string{"a"},
			absent:   []string{"b"},
		},
		{
			name:     "bad file name",
			steps:    []fstest.MapFS{{"first.sql": {Data: []byte(`CREATE TABLE a (x INTEGER);`)}}},
			wantErr:  true,
			versions: nil,
			absent:   []string{"a"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := fresh(t)
			defer s.Close()
			// A separate bookkeeping table would be cleaner, but migrate
			// uses schema_migrations; start from an empty one.
			if _, err := s.w.ExecContext(ctx, `DELETE FROM schema_migrations`); err != nil {
				t.Fatal(err)
			}
			var err error
			for _, step := range tt.steps {
				err = migrate(ctx, s.w, s.d, step)
			}
			if (err != nil) != tt.wantErr {
				t.Fatalf("migrate = %v, want error %v", err, tt.wantErr)
			}
			got := appliedVersions(t, s)
			if len(got) != len(tt.versions) {
				t.Fatalf("versions = %v, want %v", got, tt.versions)
			}
			for i := range got {
				if got[i] != tt.versions[i] {
					t.Fatalf("versions = %v, want %v", got, tt.versions)
				}
			}
			for _, tb := range tt.tables {
				if !tableExists(t, s, tb) {
					t.Errorf("table %s missing", tb)
				}
			}
			for _, tb := range tt.absent {
				if tableExists(t, s, tb) {
					t.Errorf("table %s exists", tb)
				}
			}
		})
	}
}

func tableExists(t *testing.T, s *Store, name string) bool {
	t.Helper()
	q := `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?`
	if s.d == dialectPostgres {
		q = `SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = ?`
	}
	var n int
	err := s.d.wrap(s.w).QueryRowContext(t.Context(), q, name).Scan(&n)
	if err != nil {
		t.Fatal(err)
	}
	return n == 1
}

func TestClosedStore(t *testing.T) { testClosedStore(t, openTemp(t, t.TempDir())) }

func testClosedStore(t *testing.T, s *Store) {
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Ping(t.Context()); err == nil {
		t.Error("Ping on a closed store succeeded")
	}
	err := s.Tx(t.Context(), func(meta.Queries) error { return nil })
	if err == nil {
		t.Error("Tx on a closed store succeeded")
	}
}

func TestTxCanceledContext(t *testing.T) { testTxCanceledContext(t, openTemp(t, t.TempDir())) }

func testTxCanceledContext(t *testing.T, s *Store) {
	defer s.Close()
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	called := false
	err := s.Tx(ctx, func(meta.Queries) error { called = true; return nil })
	if err == nil || called {
		t.Fatalf("Tx with a canceled context = %v (fn called: %v)", err, called)
	}
	if !errors.Is(err, context.Canceled) {
		t.Logf("Tx error does not wrap context.Canceled: %v", err)
	}
	// The store still works afterwards.
	if err := s.Tx(t.Context(), func(meta.Queries) error { return nil }); err != nil {
		t.Fatalf("Tx after a canceled one: %v", err)
	}
}

// TestConnectionPragmas checks the settings each SQLite connection opens
// with: the database in WAL mode, the writer's temporary files (statement
// journals) in memory, readers query-only.
func TestConnectionPragmas(t *testing.T) {
	s := openTemp(t, t.TempDir())
	defer s.Close()
	for _, tt := range []struct {
		name   string
		db     *sql.DB
		pragma string
		want   string
	}{
		{"writer journal", s.w, "journal_mode", "wal"},
		{"writer temp store", s.w, "temp_store", "2"},
		{"writer foreign keys", s.w, "foreign_keys", "1"},
		{"writer mmap", s.w, "mmap_size", "0"},
		{"reader journal", s.r, "journal_mode", "wal"},
		{"reader query only", s.r, "query_only", "1"},
		{"reader temp store", s.r, "temp_store", "0"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var got string
			if err := tt.db.QueryRow("PRAGMA " + tt.pragma).Scan(&got); err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("PRAGMA %s = %q, want %q", tt.pragma, got, tt.want)
			}
		})
	}
}
