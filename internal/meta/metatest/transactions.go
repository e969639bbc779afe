package metatest

import (
	"errors"
	"fmt"
	"testing"

	"github.com/acre-project/acre/internal/meta"
	"github.com/opencontainers/go-digest"
)

func checkEvent(t *testing.T, got, want meta.Event) {
	t.Helper()
	if got.ID != want.ID || got.RegistryID != want.RegistryID || got.Action != want.Action || got.Repository != want.Repository ||
		got.Tag != want.Tag || got.Digest != want.Digest || got.MediaType != want.MediaType || got.Size != want.Size ||
		string(got.Payload) != string(want.Payload) {
		t.Errorf("event =\n\t%+v\nwant\n\t%+v", got, want)
	}
	sameTime(t, "event CreatedAt", got.CreatedAt, want.CreatedAt)
}

func testOutbox(t *testing.T, s meta.Store) {
	ctx := t.Context()
	list := func(after int64, n int) []meta.Event {
		t.Helper()
		es, err := s.Read().ListEvents(ctx, after, n)
		ok(t, "ListEvents", err)
		return es
	}
	if es := list(0, 10); len(es) != 0 {
		t.Fatalf("new store has %d events", len(es))
	}
	var all []meta.Event
	for batch := range 3 {
		tx(t, s, func(q meta.Queries) error {
			for i := range 2 {
				k := batch*2 + i
				e := meta.Event{RegistryID: int64(1 + k%2), Action: []string{"push", "delete"}[k%2], Repository: fmt.Sprintf("repo%d", k),
					Digest: digest.FromString(fmt.Sprint(k)), MediaType: "application/vnd.oci.image.manifest.v1+json",
					Size: int64(100 + k), Payload: []byte(fmt.Sprintf(`{"n":%d}`, k)), CreatedAt: at(k)}
				if k%2 == 0 {
					e.Tag = fmt.Sprintf("v%d", k)
				}
				if err := q.AppendEvent(ctx, &e); err != nil {
					return err
				}
				if len(all) > 0 && e.ID <= all[len(all)-1].ID {
					return fmt.Errorf("event ID %d after %d", e.ID, all[len(all)-1].ID)
				}
				all = append(all, e)
			}
			return nil
		})
	}
	got := list(0, 100)
	if len(got) != len(all) {
		t.Fatalf("ListEvents = %d events, want %d", len(got), len(all))
	}
	for i := range all {
		checkEvent(t, got[i], all[i])
	}
	tests := []struct {
		after int64
		n     int
		want  []meta.Event
	}{
		{0, 2, all[:2]},
		{all[0].ID, 3, all[1:4]},
		{all[3].ID, 100, all[4:]},
		{all[len(all)-1].ID, 100, nil},
		{all[len(all)-1].ID + 1000, 100, nil},
	}
	for _, tt := range tests {
		got := list(tt.after, tt.n)
		if len(got) != len(tt.want) {
			t.Fatalf("ListEvents(%d, %d) = %d events, want %d", tt.after, tt.n, len(got), len(tt.want))
		}
		for i := range got {
			checkEvent(t, got[i], tt.want[i])
		}
	}
}

var errBoom = errors.New("boom")

func testTxRollback(t *testing.T, s meta.Store) {
	ctx := t.Context()
	d := digest.FromString("layer")
	var m *meta.Manifest
	err := s.Tx(ctx, func(q meta.Queries) error {
		reg := &meta.Registry{Name: "ghost", LoginServer: "ghost.example.com", SKU: "Standard", CreatedAt: at(0), UpdatedAt: at(0)}
		if err := q.CreateRegistry(ctx, reg); err != nil {
			return err
		}
		repo, err := q.EnsureRepository(ctx, reg.ID, "app")
		if err != nil {
			return err
		}
		if _, err := q.PutBlob(ctx, d, 5, at(0)); err != nil {
			return err
		}
		if err := q.LinkBlob(ctx, repo.ID, d, at(0)); err != nil {
			return err
		}
		m = newManifest(repo.ID, "ghost")
		if _, err := q.PutManifest(ctx, m); err != nil {
			return err
		}
		if err := q.PutTag(ctx, repo.ID, "latest", m.ID, at(0)); err != nil {
			return err
		}
		if err := q.CreateUpload(ctx, &meta.Upload{ID: "ghost-upload", RegistryID: reg.ID, Repository: "app", CreatedAt: at(0)}); err != nil {
			return err
		}
		if err := q.AppendEvent(ctx, &meta.Event{RegistryID: reg.ID, Action: "push", Repository: "app", Digest: m.Digest, Payload: []byte("{}"), CreatedAt: at(0)}); err != nil {
			return err
		}
		// Everything is visible inside the transaction.
		if _, err := q.GetTag(ctx, repo.ID, "latest"); err != nil {
			return fmt.Errorf("inside the transaction: %w", err)
		}
		return fmt.Errorf("wrapped: %w", errBoom)
	})
	wantErr(t, "Tx", err, errBoom)

	r := s.Read()
	_, err = r.GetRegistry(ctx, "ghost")
	wantErr(t, "GetRegistry after rollback", err, meta.ErrNotFound)
	_, err = r.RegistryByLoginServer(ctx, "ghost.example.com")
	wantErr(t, "RegistryByLoginServer after rollback", err, meta.ErrNotFound)
	if rs, err := r.ListRegistries(ctx, meta.Page{N: 10}); err != nil || len(rs) != 0 {
		t.Fatalf("ListRegistries after rollback = %v, %v", rs, err)
	}
	_, err = r.GetUpload(ctx, "ghost-upload")
	wantErr(t, "GetUpload after rollback", err, meta.ErrNotFound)
	if es, err := r.ListEvents(ctx, 0, 10); err != nil || len(es) != 0 {
		t.Fatalf("ListEvents after rollback = %v, %v", es, err)
	}
	_, err = r.GetManifest(ctx, m.RepositoryID, m.Digest, false)
	wantErr(t, "GetManifest after rollback", err, meta.ErrNotFound)

	// The same rows can be created afterwards: nothing half-exists.
	reg := mkRegistry(t, s, "ghost")
	repo := mkRepo(t, s, reg.ID, "app")
	mkManifest(t, s, repo.ID, "ghost")
	tx(t, s, func(q meta.Queries) error {
		return q.CreateUpload(ctx, &meta.Upload{ID: "ghost-upload", RegistryID: reg.ID, Repository: "app", CreatedAt: at(0)})
	})
}

func testTxRollbackKeepsExisting(t *testing.T, s meta.Store) {
	ctx := t.Context()
	reg := mkRegistry(t, s, "alpha")
	repo := mkRepo(t, s, reg.ID, "app")
	d := digest.FromString("layer")
	tx(t, s, func(q meta.Queries) error {
		if _, err := q.PutBlob(ctx, d, 5, at(0)); err != nil {
			return err
		}
		return q.LinkBlob(ctx, repo.ID, d, at(0))
	})
	m1 := mkManifest(t, s, repo.ID, "one")
	m2 := mkManifest(t, s, repo.ID, "two")
	putTag(t, s, repo.ID, "latest", m1, at(1))
	putTag(t, s, repo.ID, "keep", m2, at(1))
	tx(t, s, func(q meta.Queries) error {
		return q.CreateUpload(ctx, &meta.Upload{ID: "u1", RegistryID: reg.ID, Repository: "app", CreatedAt: at(0)})
	})

	tests := []struct {
		name string
		fn   func(q meta.Queries) error
	}{
		{"changes then error", func(q meta.Queries) error {
			if err := q.PutTag(ctx, repo.ID, "latest", m2.ID, at(9)); err != nil {
				return err
			}
			if err := q.DeleteTag(ctx, repo.ID, "keep"); err != nil {
				return err
			}
			if err := q.UnlinkBlob(ctx, repo.ID, d); err != nil {
				return err
			}
			if err := q.DeleteUpload(ctx, "u1"); err != nil {
				return err
			}
			if err := q.TouchRepository(ctx, repo.ID, at(9)); err != nil {
				return err
			}
			return errBoom
		}},
		{"delete manifest then error", func(q meta.Queries) error {
			if err := q.DeleteManifest(ctx, repo.ID, m1.Digest); err != nil {
				return err
			}
			return errBoom
		}},
		{"store error after a write", func(q meta.Queries) error {
			if err := q.PutTag(ctx, repo.ID, "new", m1.ID, at(9)); err != nil {
				return err
			}
			return q.CreateRegistry(ctx, &meta.Registry{Name: "alpha", LoginServer: "x.example.com", SKU: "Standard", CreatedAt: at(0), UpdatedAt: at(0)})
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := s.Tx(ctx, tt.fn); err == nil {
				t.Fatal("Tx succeeded")
			}
			r := s.Read()
			if tg, err := r.GetTag(ctx, repo.ID, "latest"); err != nil || tg.ManifestID != m1.ID {
				t.Errorf("tag latest = %+v, %v; want manifest %d", tg, err, m1.ID)
			}
			if _, err := r.GetTag(ctx, repo.ID, "keep"); err != nil {
				t.Errorf("tag keep: %v", err)
			}
			_, err := r.GetTag(ctx, repo.ID, "new")
			wantErr(t, "GetTag(new)", err, meta.ErrNotFound)
			if _, err := r.GetManifest(ctx, repo.ID, m1.Digest, false); err != nil {
				t.Errorf("manifest one: %v", err)
			}
			if _, err := r.LinkedBlob(ctx, repo.ID, d); err != nil {
				t.Errorf("blob link: %v", err)
			}
			if _, err := r.GetUpload(ctx, "u1"); err != nil {
				t.Errorf("upload: %v", err)
			}
			if got, err := r.GetRepository(ctx, reg.ID, "app"); err != nil || got.UpdatedAt.Equal(at(9)) {
				t.Errorf("repository = %+v, %v; the touch was not rolled back", got, err)
			}
		})
	}
}
