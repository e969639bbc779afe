package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/acre-project/acre/internal/meta"
	"github.com/acre-project/acre/internal/meta/metatest"
	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
)

// TestMigrationDirsMatch checks that every SQLite migration has its
// PostgreSQL translation, under the same name, and nothing more.
func TestMigrationDirsMatch(t *testing.T) {
	names := func(dir fs.FS) []string {
		t.Helper()
		n, err := fs.Glob(dir, "*.sql")
		if err != nil {
			t.Fatal(err)
		}
		sort.Strings(n)
		return n
	}
	lite, pg := names(sqliteMigrations), names(postgresMigrations)
	if len(lite) == 0 || !slices.Equal(lite, pg) {
		t.Fatalf("migrations/sqlite holds %q\nmigrations/postgres holds %q\n(each SQLite migration needs a PostgreSQL translation of the same name)", lite, pg)
	}
}

func TestRebind(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{`SELECT 1`, `SELECT 1`},
		{`SELECT a FROM t WHERE b = ? AND c > ? LIMIT ?`, `SELECT a FROM t WHERE b = $1 AND c > $2 LIMIT $3`},
		{`WHERE (? = '' OR kind = ?)`, `WHERE ($1 = '' OR kind = $2)`},
		{`WHERE a = '?' AND b = ?`, `WHERE a = '?' AND b = $1`},
		{`WHERE a = 'it''s ?' AND b = ?`, `WHERE a = 'it''s ?' AND b = $1`},
		{`SELECT "odd?name" FROM t WHERE x = ?`, `SELECT "odd?name" FROM t WHERE x = $1`},
		{"-- what?\nSELECT ?", "-- what?\nSELECT $1"},
		{`VALUES (?, ?), (?, ?)`, `VALUES ($1, $2), ($3, $4)`},
		{`WHERE a = 'unterminated ?`, `WHERE a = 'unterminated ?`},
	} {
		if got := rebind(tt.in); got != tt.want {
			t.Errorf("rebind(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if got := pgRebind(tt.in); got != tt.want {
			t.Errorf("pgRebind(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestPGArgs(t *testing.T) {
	in := []any{int64(7), true, "x", false}
	got := pgArgs(in)
	want := []any{int64(7), int64(1), "x", int64(0)}
	if !slices.Equal(got, want) {
		t.Fatalf("pgArgs = %#v, want %#v", got, want)
	}
	if in[1] != true {
		t.Fatal("pgArgs changed its argument")
	}
	plain := []any{int64(1), "y"}
	if got := pgArgs(plain); &got[0] != &plain[0] {
		t.Fatal("pgArgs copied arguments without a bool")
	}
}

func TestPGRetryable(t *testing.T) {
	for _, tt := range []struct {
		err  error
		want bool
	}{
		{&pgconn.PgError{Code: "40001"}, true},
		{fmt.Errorf("postgres: commit: %w", &pgconn.PgError{Code: "40001"}), true},
		{fmt.Errorf("wrapped: %w", &pgconn.PgError{Code: "40P01"}), true},
		{&pgconn.PgError{Code: "25P02"}, true},
		{&pgconn.PgError{Code: "23505"}, false},
		{meta.ErrConflict, false},
		{errors.New("boom"), false},
		{context.Canceled, false},
	} {
		if got := pgRetryable(tt.err); got != tt.want {
			t.Errorf("pgRetryable(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}

// TestPostgres runs the conformance suite and the store's own tests on a
// real PostgreSQL server.
func TestPostgres(t *testing.T) {
	srv := startPostgres(t)

	t.Run("Conformance", func(t *testing.T) {
		metatest.Run(t, func(t *testing.T) meta.Store { return attrStore{srv.open(t, srv.newDB(t))} })
	})
	t.Run("ReopenKeepsData", func(t *testing.T) {
		dsn := srv.newDB(t)
		testReopenKeepsData(t, func(t *testing.T) *Store { return srv.open(t, dsn) })
	})
	t.Run("MigrationsIdempotent", func(t *testing.T) {
		dsn := srv.newDB(t)
		testMigrationsIdempotent(t, func(t *testing.T) *Store { return srv.open(t, dsn) })
	})
	t.Run("Migrate", func(t *testing.T) {
		testMigrate(t, func(t *testing.T) *Store { return srv.open(t, srv.newDB(t)) })
	})
	t.Run("UpgradeFillsRefRepositories", func(t *testing.T) {
		dsn := srv.newDB(t)
		old, err := sql.Open("pgx", dsn)
		if err != nil {
			t.Fatal(err)
		}
		testUpgradeFillsRefRepositories(t, dialectPostgres, postgresMigrations, old, func(t *testing.T) *Store { return srv.open(t, dsn) })
	})
	t.Run("CopyAll", func(t *testing.T) {
		dst := srv.open(t, srv.newDB(t))
		defer dst.Close()
		testCopyAll(t, dst)
	})
	t.Run("ClosedStore", func(t *testing.T) { testClosedStore(t, srv.open(t, srv.newDB(t))) })
	t.Run("TxCanceledContext", func(t *testing.T) { testTxCanceledContext(t, srv.open(t, srv.newDB(t))) })
	t.Run("ConcurrentOpen", func(t *testing.T) { testPGConcurrentOpen(t, srv) })
	t.Run("SerializableRetries", func(t *testing.T) { testPGSerializableRetries(t, srv) })
	t.Run("CollationIsBytes", func(t *testing.T) { testPGCollation(t, srv) })
	t.Run("AloneAttempt", func(t *testing.T) { testPGAlone(t, srv) })
	t.Run("BadDSN", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		if s, err := OpenPostgres(ctx, "postgres://acre@127.0.0.1:1/none?sslmode=disable&connect_timeout=5", Options{}); err == nil {
			s.Close()
			t.Fatal("OpenPostgres on a closed port succeeded")
		}
		if _, err := OpenPostgres(ctx, "postgres://%zz", Options{}); err == nil {
			t.Fatal("OpenPostgres with an unparsable DSN succeeded")
		}
	})
}

// testPGConcurrentOpen opens several stores on one new database at once, as
// nodes starting together do: each migration runs once.
func testPGConcurrentOpen(t *testing.T, srv *pgServer) {
	dsn := srv.newDB(t)
	const n = 4
	stores := make([]*Store, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { stores[i], errs[i] = OpenPostgres(t.Context(), dsn, Options{}) })
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("store %d: %v", i, errs[i])
		}
		defer stores[i].Close()
	}
	if v := appliedVersions(t, stores[0]); len(v) != migrationFileCount(t) {
		t.Fatalf("applied versions %v", v)
	}
}

// testPGSerializableRetries runs read-then-write transactions on one row
// from two stores (two nodes) at once: with serializable transactions and
// retries, no increment is lost.
func testPGSerializableRetries(t *testing.T, srv *pgServer) {
	ctx := t.Context()
	dsn := srv.newDB(t)
	nodes := []*Store{srv.open(t, dsn), srv.open(t, dsn)}
	for _, s := range nodes {
		defer s.Close()
	}
	reg := &meta.Registry{Name: "alpha", LoginServer: "alpha.example.com", SKU: "Standard", CreatedAt: time.Now(), UpdatedAt: time.Now()}
	err := nodes[0].Tx(ctx, func(q meta.Queries) error {
		if err := q.CreateRegistry(ctx, reg); err != nil {
			return err
		}
		return q.PutRetention(ctx, &meta.RetentionPolicy{RegistryID: reg.ID, EnabledAt: time.Now()})
	})
	if err != nil {
		t.Fatal(err)
	}
	const workers, each = 4, 10
	var calls atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := range workers {
		wg.Go(func() {
			s := nodes[w%len(nodes)]
			for range each {
				errs <- s.Tx(ctx, func(q meta.Queries) error {
					calls.Add(1)
					p, err := q.GetRetention(ctx, reg.ID)
					if err != nil {
						return err
					}
					time.Sleep(time.Millisecond) // widen the window between read and write
					p.Days++
					return q.PutRetention(ctx, p)
				})
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("Tx: %v", err)
		}
	}
	p, err := nodes[1].Read().GetRetention(ctx, reg.ID)
	if err != nil {
		t.Fatal(err)
	}
	if p.Days != workers*each {
		t.Fatalf("days = %d after %d increments", p.Days, workers*each)
	}
	t.Logf("%d transactions ran fn %d times", workers*each, calls.Load())
}

// testPGCollation checks that names list in byte order, as on SQLite,
// whatever the database's collation.
func testPGCollation(t *testing.T, srv *pgServer) {
	ctx := t.Context()
	s := srv.open(t, srv.newDB(t))
	defer s.Close()
	names := []string{"b", "B", "a-b", "a_b", "a/b", "ab", "A", "a.b", "a", "z9", "Z10"}
	err := s.Tx(ctx, func(q meta.Queries) error {
		for i, n := range names {
			r := &meta.Registry{Name: n, LoginServer: fmt.Sprintf("r%d.example.com", i), SKU: "Basic"}
			if err := q.CreateRegistry(ctx, r); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	regs, err := s.Read().ListRegistries(ctx, meta.Page{N: 100})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range regs {
		got = append(got, r.Name)
	}
	want := slices.Clone(names)
	sort.Strings(want)
	if !slices.Equal(got, want) {
		t.Fatalf("ListRegistries = %q, want %q", got, want)
	}
	// And paging by the last name agrees.
	page, err := s.Read().ListRegistries(ctx, meta.Page{Last: "a", N: 2})
	if err != nil || len(page) != 2 || page[0].Name != want[slices.Index(want, "a")+1] {
		t.Fatalf("ListRegistries(last=a) = %+v, %v", page, err)
	}
}

// testPGAlone checks the attempts that run alone: they wait for the
// exclusive lock, give it back when done or when they give up waiting, and
// other transactions go on afterwards.
func testPGAlone(t *testing.T, srv *pgServer) {
	ctx := t.Context()
	dsn := srv.newDB(t)
	s := srv.open(t, dsn)
	defer s.Close()
	mk := func(name string) func(q meta.Queries) error {
		return func(q meta.Queries) error {
			return q.CreateRegistry(ctx, &meta.Registry{Name: name, LoginServer: name + ".example.com", SKU: "Basic"})
		}
	}
	if err := s.pgTxOnce(ctx, mk("one"), true); err != nil {
		t.Fatalf("alone: %v", err)
	}
	if err := s.pgTxOnce(ctx, mk("one"), true); !errors.Is(err, meta.ErrConflict) {
		t.Fatalf("alone, taken name: %v, want ErrConflict", err)
	}

	// Another session holds the lock: an alone attempt waits until its
	// context ends, and leaves nothing locked behind.
	other, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	conn, err := other.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(ctx, fmt.Sprintf(`SELECT pg_advisory_lock(%d)`, txLockKey)); err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	err = s.pgTxOnce(short, mk("two"), true)
	cancel()
	if err == nil {
		t.Fatal("alone attempt ran while another session held the lock")
	}
	if _, err := conn.ExecContext(ctx, fmt.Sprintf(`SELECT pg_advisory_unlock(%d)`, txLockKey)); err != nil {
		t.Fatal(err)
	}
	conn.Close()
	bounded, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	for i, name := range []string{"two", "three", "four"} {
		if err := s.pgTxOnce(bounded, mk(name), i%2 == 0); err != nil {
			t.Fatalf("transaction %s after the lock was given back: %v", name, err)
		}
	}
	if err := s.Tx(bounded, mk("five")); err != nil {
		t.Fatal(err)
	}
}
