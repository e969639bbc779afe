package metatest

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/acre-project/acre/internal/meta"
	"github.com/opencontainers/go-digest"
)

// Transaction modes: isolation, read views that refuse writes, relaxed
// commits, and concurrent transactions.

func testTxIsolation(t *testing.T, s meta.Store) {
	ctx := t.Context()
	tx(t, s, func(q meta.Queries) error {
		r := &meta.Registry{Name: "pending", LoginServer: "pending.example.com", SKU: "Standard", CreatedAt: at(0), UpdatedAt: at(0)}
		if err := q.CreateRegistry(ctx, r); err != nil {
			return err
		}
		if _, err := s.Read().GetRegistry(ctx, "pending"); !errors.Is(err, meta.ErrNotFound) {
			return fmt.Errorf("a read outside the transaction saw its uncommitted registry (err = %v)", err)
		}
		return nil
	})
	if _, err := s.Read().GetRegistry(ctx, "pending"); err != nil {
		t.Fatalf("committed registry not visible: %v", err)
	}
}

func testReadRefusesWrites(t *testing.T, s meta.Store) {
	ctx := t.Context()
	reg := mkRegistry(t, s, "alpha")
	repo := mkRepo(t, s, reg.ID, "app")
	d := digest.FromString("linked")
	d2 := digest.FromString("recorded")
	tx(t, s, func(q meta.Queries) error {
		for _, x := range []digest.Digest{d, d2} {
			if _, err := q.PutBlob(ctx, x, 6, at(0)); err != nil {
				return err
			}
		}
		return q.LinkBlob(ctx, repo.ID, d, at(0))
	})
	m := mkManifest(t, s, repo.ID, "m")
	putTag(t, s, repo.ID, "latest", m, at(0))
	tx(t, s, func(q meta.Queries) error {
		return q.CreateUpload(ctx, &meta.Upload{ID: "u1", RegistryID: reg.ID, Repository: "app", CreatedAt: at(0)})
	})
	m2 := newManifest(repo.ID, "m2")
	r := s.Read()
	tests := []struct {
		name  string
		write func() error
		check func() error // nil when the write had no effect
	}{
		{"CreateRegistry", func() error {
			return r.CreateRegistry(ctx, &meta.Registry{Name: "new", LoginServer: "new.example.com", SKU: "Standard", CreatedAt: at(0), UpdatedAt: at(0)})
		}, func() error { return absent(r.GetRegistry(ctx, "new")) }},
		{"EnsureRepository", func() error { _, err := r.EnsureRepository(ctx, reg.ID, "new"); return err },
			func() error { return absent(r.GetRepository(ctx, reg.ID, "new")) }},
		{"TouchRepository", func() error { return r.TouchRepository(ctx, repo.ID, at(999)) }, func() error {
			got, err := r.GetRepository(ctx, reg.ID, "app")
			if err == nil && got.UpdatedAt.Equal(at(999)) {
				return errors.New("repository touched")
			}
			return err
		}},
		{"PutBlob", func() error { _, err := r.PutBlob(ctx, digest.FromString("new"), 3, at(0)); return err }, nil},
		{"LinkBlob", func() error { return r.LinkBlob(ctx, repo.ID, d2, at(0)) },
			func() error { _, err := r.LinkedBlob(ctx, repo.ID, d2); return absentErr(err) }},
		{"UnlinkBlob", func() error { return r.UnlinkBlob(ctx, repo.ID, d) },
			func() error { _, err := r.LinkedBlob(ctx, repo.ID, d); return err }},
		{"PutManifest", func() error { _, err := r.PutManifest(ctx, m2); return err },
			func() error { return absent(r.GetManifest(ctx, repo.ID, m2.Digest, false)) }},
		{"DeleteManifest", func() error { return r.DeleteManifest(ctx, repo.ID, m.Digest) },
			func() error { _, err := r.GetManifest(ctx, repo.ID, m.Digest, false); return err }},
		{"PutTag new", func() error { return r.PutTag(ctx, repo.ID, "new", m.ID, at(0)) },
			func() error { return absent(r.GetTag(ctx, repo.ID, "new")) }},
		{"DeleteTag", func() error { return r.DeleteTag(ctx, repo.ID, "latest") },
			func() error { _, err := r.GetTag(ctx, repo.ID, "latest"); return err }},
		{"CreateUpload", func() error {
			return r.CreateUpload(ctx, &meta.Upload{ID: "u2", RegistryID: reg.ID, Repository: "app", CreatedAt: at(0)})
		}, func() error { return absent(r.GetUpload(ctx, "u2")) }},
		{"DeleteUpload", func() error { return r.DeleteUpload(ctx, "u1") },
			func() error { _, err := r.GetUpload(ctx, "u1"); return err }},
		{"AppendEvent", func() error {
			return r.AppendEvent(ctx, &meta.Event{RegistryID: reg.ID, Action: "push", Repository: "app", Payload: []byte("{}"), CreatedAt: at(0)})
		}, func() error {
			es, err := r.ListEvents(ctx, 0, 10)
			if err == nil && len(es) != 0 {
				return fmt.Errorf("%d events written", len(es))
			}
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.write(); err == nil {
				t.Errorf("%s through Read() succeeded", tt.name)
			}
			if tt.check != nil {
				if err := tt.check(); err != nil {
					t.Errorf("%s through Read() had an effect: %v", tt.name, err)
				}
			}
		})
	}
}

// absent turns "found" into an error and ErrNotFound into nil.
func absent[T any](_ T, err error) error { return absentErr(err) }

func absentErr(err error) error {
	switch {
	case errors.Is(err, meta.ErrNotFound):
		return nil
	case err == nil:
		return errors.New("the row exists")
	}
	return err
}

// testRelaxedTx runs relaxed transactions (meta.Relaxed) beside durable
// ones: each commits or rolls back as a plain Tx does and reads see it.
func testRelaxedTx(t *testing.T, s meta.Store) {
	ctx := t.Context()
	reg := mkRegistry(t, s, "alpha")
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			c := ctx
			if i%2 == 0 {
				c = meta.Relaxed(ctx)
			}
			errs[i] = s.Tx(c, func(q meta.Queries) error {
				if err := q.CreateUpload(c, &meta.Upload{ID: fmt.Sprint("u", i), RegistryID: reg.ID, Repository: "r", CreatedAt: at(i)}); err != nil {
					return err
				}
				if i%4 == 2 {
					return errBoom
				}
				return nil
			})
		})
	}
	wg.Wait()
	for i := range n {
		_, err := s.Read().GetUpload(ctx, fmt.Sprint("u", i))
		if i%4 == 2 {
			if !errors.Is(errs[i], errBoom) || !errors.Is(err, meta.ErrNotFound) {
				t.Errorf("tx %d: Tx = %v, upload read = %v; want refused and not found", i, errs[i], err)
			}
			continue
		}
		if errs[i] != nil || err != nil {
			t.Errorf("tx %d (relaxed %v): Tx = %v, upload read = %v", i, i%2 == 0, errs[i], err)
		}
	}
}

func testConcurrentTx(t *testing.T, s meta.Store) {
	ctx := t.Context()
	reg := mkRegistry(t, s, "alpha")
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	repoIDs := make([]int64, n)
	created := make([]bool, n)
	manifestIDs := make([]int64, n)
	for i := range n {
		wg.Go(func() {
			errs[i] = s.Tx(ctx, func(q meta.Queries) error {
				repo, err := q.EnsureRepository(ctx, reg.ID, "shared")
				if err != nil {
					return err
				}
				repoIDs[i] = repo.ID
				m := newManifest(repo.ID, "same")
				if created[i], err = q.PutManifest(ctx, m); err != nil {
					return err
				}
				manifestIDs[i] = m.ID
				own := newManifest(repo.ID, fmt.Sprint("own", i))
				if _, err := q.PutManifest(ctx, own); err != nil {
					return err
				}
				return q.PutTag(ctx, repo.ID, fmt.Sprint("t", i), own.ID, at(i))
			})
			// Reads run alongside the writers.
			if _, err := s.Read().ListTags(ctx, 1, meta.Page{N: 10}); err != nil && errs[i] == nil {
				errs[i] = err
			}
		})
	}
	wg.Wait()
	creates := 0
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("goroutine %d: %v", i, errs[i])
		}
		if repoIDs[i] != repoIDs[0] || manifestIDs[i] != manifestIDs[0] {
			t.Fatalf("goroutine %d saw repository %d manifest %d; goroutine 0 saw %d, %d", i, repoIDs[i], manifestIDs[i], repoIDs[0], manifestIDs[0])
		}
		if created[i] {
			creates++
		}
	}
	if creates != 1 {
		t.Fatalf("%d transactions created the same manifest, want 1", creates)
	}
	if tags := listTags(t, s, repoIDs[0], meta.Page{N: 100}); len(tags) != n {
		t.Fatalf("ListTags = %q, want %d tags", tags, n)
	}
}
