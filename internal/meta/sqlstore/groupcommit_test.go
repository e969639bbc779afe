package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/acre-project/acre/internal/meta"
)

func createRegistry(ctx context.Context, q meta.Queries, name string) error {
	now := time.Now()
	return q.CreateRegistry(ctx, &meta.Registry{Name: name, LoginServer: name + ".example.com", SKU: "Standard", CreatedAt: now, UpdatedAt: now})
}

// TestGroupCommit queues transactions while the writer is busy, so that
// they share one commit, and checks that each keeps its own outcome: a
// failing one is rolled back alone, a panicking one panics in its caller,
// the others commit, and the store is durable-by-default (full).
func TestGroupCommit(t *testing.T) {
	s := openFull(t)
	ctx := t.Context()
	release, started := make(chan struct{}), make(chan struct{})
	var busy sync.WaitGroup
	busy.Go(func() {
		if err := s.Tx(ctx, func(q meta.Queries) error {
			close(started)
			<-release
			return createRegistry(ctx, q, "first")
		}); err != nil {
			t.Errorf("first: %v", err)
		}
	})
	<-started
	defer busy.Wait()
	var closeOnce sync.Once
	defer closeOnce.Do(func() { close(release) })
	const n = 24
	errs := make([]error, n)
	panics := make([]any, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			defer func() { panics[i] = recover() }()
			errs[i] = s.Tx(ctx, func(q meta.Queries) error {
				if err := createRegistry(ctx, q, fmt.Sprintf("r%02d", i)); err != nil {
					return err
				}
				switch i % 6 {
				case 1:
					return errors.New("refused")
				case 2:
					panic("boom")
				}
				return nil
			})
		})
	}
	for deadline := time.Now().Add(time.Minute); len(s.gw.reqs) < n; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d transactions queued", len(s.gw.reqs), n)
		}
	}
	before := s.gw.commits.Load()
	closeOnce.Do(func() { close(release) })
	busy.Wait()
	wg.Wait()
	if got := s.gw.commits.Load() - before; got != 2 {
		t.Errorf("%d commits for the busy transaction and %d queued ones, want 2", got, n)
	}
	for i := range n {
		_, err := s.Read().GetRegistry(ctx, fmt.Sprintf("r%02d", i))
		switch i % 6 {
		case 1:
			if errs[i] == nil || err == nil {
				t.Errorf("r%02d: Tx = %v, registry read = %v; want the error and no registry", i, errs[i], err)
			}
		case 2:
			if panics[i] != "boom" || err == nil {
				t.Errorf("r%02d: panic %v, registry read = %v; want the panic and no registry", i, panics[i], err)
			}
		default:
			if errs[i] != nil || err != nil {
				t.Errorf("r%02d: Tx = %v, registry read = %v", i, errs[i], err)
			}
		}
	}
}

// TestGroupCommitCancelled checks that a transaction whose caller gave up
// before the writer reached it does not run, and that Tx after Close fails.
func TestGroupCommitCancelled(t *testing.T) {
	s, err := OpenSQLite(t.Context(), filepath.Join(t.TempDir(), "meta.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	release, started := make(chan struct{}), make(chan struct{})
	var busy sync.WaitGroup
	busy.Go(func() { _ = s.Tx(t.Context(), func(meta.Queries) error { close(started); <-release; return nil }) })
	<-started
	ctx, cancel := context.WithCancel(t.Context())
	ran := false
	done := make(chan error)
	go func() { done <- s.Tx(ctx, func(meta.Queries) error { ran = true; return nil }) }()
	for deadline := time.Now().Add(time.Minute); len(s.gw.reqs) < 1; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			close(release)
			t.Fatal("transaction not queued")
		}
	}
	cancel()
	close(release)
	if err := <-done; !errors.Is(err, context.Canceled) || ran {
		t.Fatalf("cancelled Tx = %v (ran %v), want context.Canceled without running", err, ran)
	}
	busy.Wait()
	s.Close()
	if err := s.Tx(t.Context(), func(meta.Queries) error { return nil }); err == nil {
		t.Fatal("Tx after Close succeeded")
	}
}

// TestGroupCommitRelaxed queues relaxed and durable transactions while the
// writer is busy: they share one commit, made without a sync (the writer's
// connection is at synchronous=NORMAL), and every one of them is visible
// once answered.
func TestGroupCommitRelaxed(t *testing.T) {
	s := openFull(t)
	ctx := t.Context()
	release := holdWriter(t, s)
	defer release()
	const n = 8
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			c := ctx
			if i%2 == 0 {
				c = meta.Relaxed(ctx)
			}
			errs[i] = s.Tx(c, func(q meta.Queries) error { return createRegistry(c, q, fmt.Sprintf("r%d", i)) })
		})
	}
	for deadline := time.Now().Add(time.Minute); len(s.gw.reqs) < n; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d transactions queued", len(s.gw.reqs), n)
		}
	}
	before := s.gw.commits.Load()
	release()
	wg.Wait()
	if got := s.gw.commits.Load() - before; got != 2 {
		t.Errorf("%d commits for the busy transaction and the queued ones; want 2", got)
	}
	for i := range n {
		if _, err := s.Read().GetRegistry(ctx, fmt.Sprintf("r%d", i)); errs[i] != nil || err != nil {
			t.Errorf("r%d: Tx = %v, read = %v", i, errs[i], err)
		}
	}
	var level int
	if err := s.w.QueryRowContext(ctx, "PRAGMA synchronous").Scan(&level); err != nil || level != 1 {
		t.Errorf("writer synchronous = %d, %v; want 1 (NORMAL: the syncer syncs)", level, err)
	}
}

// TestDurableWaitsForWALSync holds the WAL syncer: a relaxed transaction
// is answered, a durable one only after a sync that started after its
// commit; both are visible to reads as soon as committed.
func TestDurableWaitsForWALSync(t *testing.T) {
	s := openFull(t)
	ctx := t.Context()
	hold, syncing := make(chan struct{}), make(chan struct{}, 8)
	s.gw.syncer.beforeSync = func() { syncing <- struct{}{}; <-hold }
	durable := make(chan error, 1)
	go func() {
		durable <- s.Tx(ctx, func(q meta.Queries) error { return createRegistry(ctx, q, "durable") })
	}()
	<-syncing // the durable commit is made; its sync waits
	if _, err := s.Read().GetRegistry(ctx, "durable"); err != nil {
		t.Errorf("read of the committed, not yet synced transaction: %v", err)
	}
	rc := meta.Relaxed(ctx)
	if err := s.Tx(rc, func(q meta.Queries) error { return createRegistry(rc, q, "relaxed") }); err != nil {
		t.Fatalf("relaxed Tx while a sync is held: %v", err)
	}
	select {
	case err := <-durable:
		t.Fatalf("durable Tx answered (%v) before the WAL sync", err)
	default:
	}
	if n := s.gw.syncer.syncs.Load(); n != 0 {
		t.Errorf("%d syncs completed while the first is held", n)
	}
	close(hold)
	if err := <-durable; err != nil {
		t.Fatalf("durable Tx: %v", err)
	}
	if n := s.gw.syncer.syncs.Load(); n < 1 {
		t.Errorf("durable Tx answered after %d completed syncs; want at least 1", n)
	}
}

// TestSyncerClose closes a store with durable transactions in flight:
// each is answered (committed and synced, or refused), none is left
// waiting.
func TestSyncerClose(t *testing.T) {
	s, err := OpenSQLite(t.Context(), filepath.Join(t.TempDir(), "meta.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			err := s.Tx(ctx, func(q meta.Queries) error { return createRegistry(ctx, q, fmt.Sprintf("c%d", i)) })
			if err != nil && !errors.Is(err, errClosed) {
				t.Errorf("Tx %d: %v", i, err)
			}
		})
	}
	if err := s.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	wg.Wait()
	if err := s.Tx(ctx, func(meta.Queries) error { return nil }); !errors.Is(err, errClosed) {
		t.Errorf("Tx after Close = %v, want errClosed", err)
	}
}

// holdWriter keeps s's writer busy with a transaction until the returned
// release is called (more calls are no-ops); release waits for it to end.
func holdWriter(t *testing.T, s *Store) (release func()) {
	t.Helper()
	ch, started := make(chan struct{}), make(chan struct{})
	var busy sync.WaitGroup
	busy.Go(func() {
		_ = s.Tx(t.Context(), func(meta.Queries) error { close(started); <-ch; return nil })
	})
	<-started
	var once sync.Once
	return func() { once.Do(func() { close(ch) }); busy.Wait() }
}

// TestWriterPreparesStatements checks that the writer's queries are
// prepared after their first transaction and give the same answers after.
func TestWriterPreparesStatements(t *testing.T) {
	s := openFull(t)
	ctx := t.Context()
	for i := range 3 {
		err := s.Tx(ctx, func(q meta.Queries) error {
			if err := createRegistry(ctx, q, fmt.Sprint("r", i)); err != nil {
				return err
			}
			r, err := q.GetRegistry(ctx, fmt.Sprint("r", i))
			if err == nil && r.Name != fmt.Sprint("r", i) {
				err = fmt.Errorf("GetRegistry in the transaction = %q", r.Name)
			}
			return err
		})
		if err != nil {
			t.Fatalf("transaction %d: %v", i, err)
		}
	}
	s.gw.stmts.mu.Lock()
	n := len(s.gw.stmts.stmts)
	s.gw.stmts.mu.Unlock()
	if n == 0 {
		t.Error("no statement prepared on the writer")
	}
}

// openFull opens a SQLite store at its default (synchronous=FULL), closed when t ends.
func openFull(t *testing.T) *Store {
	t.Helper()
	s, err := OpenSQLite(t.Context(), filepath.Join(t.TempDir(), "meta.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestCheckpointerRuns checks that commits are checkpointed by the
// checkpointer, off the writer, and that what was written is whole after
// the store is closed and opened again.
func TestCheckpointerRuns(t *testing.T) {
	dir := t.TempDir()
	s := openTemp(t, dir)
	ctx := t.Context()
	reg := &meta.Registry{Name: "ckpt", LoginServer: "ckpt.localhost", SKU: "Basic"}
	if err := s.Tx(ctx, func(q meta.Queries) error { return q.CreateRegistry(ctx, reg) }); err != nil {
		t.Fatal(err)
	}
	for i := range 50 {
		if err := s.Tx(ctx, func(q meta.Queries) error {
			_, err := q.EnsureRepository(ctx, reg.ID, fmt.Sprintf("repo-%d", i))
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	for deadline := time.Now().Add(time.Minute); s.ck.runs.Load() == 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no checkpoint within a minute of 50 commits")
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openTemp(t, dir)
	defer s.Close()
	var n int
	if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM repositories WHERE registry_id = ?`, reg.ID).Scan(&n); err != nil || n != 50 {
		t.Fatalf("after reopening: %d repositories (%v), want 50", n, err)
	}
}
