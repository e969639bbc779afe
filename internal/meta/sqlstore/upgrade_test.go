package sqlstore

import (
	"database/sql"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/acre-project/acre/internal/meta"
	"github.com/opencontainers/go-digest"
)

// migrationsBefore returns the migrations of dir numbered below v.
func migrationsBefore(t *testing.T, dir fs.FS, v string) fstest.MapFS {
	t.Helper()
	out := fstest.MapFS{}
	names, _ := fs.Glob(dir, "*.sql")
	for _, n := range names {
		if n < v {
			b, err := fs.ReadFile(dir, n)
			if err != nil {
				t.Fatal(err)
			}
			out[n] = &fstest.MapFile{Data: b}
		}
	}
	return out
}

// TestUpgradeKeepsIdentities upgrades a database made before principals
// had uids and ids that are never reused: every registry, identity,
// credential, role assignment and repository is kept, foreign keys still
// hold, every principal gets its own uid, and from then on no id is reused.
func TestUpgradeKeepsIdentities(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "meta.db")
	old, err := sql.Open("sqlite", "file:"+path+"?_pragma=foreign_keys(1)&_pragma=journal_mode(WAL)")
	if err != nil {
		t.Fatal(err)
	}
	old.SetMaxOpenConns(1)
	if err := migrate(ctx, old, dialectSQLite, migrationsBefore(t, sqliteMigrations, "0008")); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`INSERT INTO registries (id, name, login_server, sku, created_at, updated_at, anonymous_pull) VALUES (1, 'acre', 'acre.localhost', 'Standard', 1, 1, 1)`,
		`INSERT INTO repositories (id, registry_id, name, created_at, updated_at) VALUES (1, 1, 'app', 1, 1)`,
		`INSERT INTO principals (id, kind, name, registry_id, created_at) VALUES (1, 'user', 'owner', 0, 1), (2, 'token', 'ci-token', 1, 1)`,
		`INSERT INTO credentials (principal_id, name, hash, created_at) VALUES (1, 'password', 'h1', 1), (2, 'password1', 'h2', 1)`,
		`INSERT INTO role_assignments (id, principal_id, role, registry_id, repository, created_at) VALUES (1, 1, 'Owner', 0, '', 1)`,
	} {
		if _, err := old.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	old.Close()

	s, err := OpenSQLite(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	q := s.Read()
	reg, err := q.GetRegistry(ctx, "acre")
	if err != nil || !reg.Settings.AnonymousPull {
		t.Fatalf("registry after upgrade: %+v, %v", reg, err)
	}
	if _, err := q.GetRepository(ctx, 1, "app"); err != nil {
		t.Fatalf("repository after upgrade: %v", err)
	}
	uids := map[string]bool{}
	for id, creds := range map[int64]int{1: 1, 2: 1} {
		p, err := q.GetPrincipal(ctx, id)
		if err != nil || len(p.UID) != 32 || uids[p.UID] {
			t.Fatalf("principal %d after upgrade: %+v, %v", id, p, err)
		}
		uids[p.UID] = true
		if cs, err := q.ListCredentials(ctx, id); err != nil || len(cs) != creds {
			t.Fatalf("credentials of %d: %v, %v", id, cs, err)
		}
	}
	if as, err := q.ListRoleAssignments(ctx, 1); err != nil || len(as) != 1 {
		t.Fatalf("role assignments after upgrade: %v, %v", as, err)
	}
	// Foreign keys hold: no credential for a missing principal; a deleted
	// principal takes its credentials along.
	err = s.Tx(ctx, func(q meta.Queries) error {
		return q.PutCredential(ctx, &meta.Credential{PrincipalID: 99, Name: "x", Hash: "x", CreatedAt: reg.CreatedAt})
	})
	if err == nil || !strings.Contains(err.Error(), "FOREIGN KEY") {
		t.Fatalf("credential of a missing principal: %v", err)
	}
	var next *meta.Principal
	if err := s.Tx(ctx, func(q meta.Queries) error {
		if err := q.DeletePrincipal(ctx, 2); err != nil {
			return err
		}
		next = &meta.Principal{Kind: meta.KindUser, Name: "newcomer", Enabled: true, CreatedAt: reg.CreatedAt}
		return q.CreatePrincipal(ctx, next)
	}); err != nil {
		t.Fatal(err)
	}
	if next.ID == 2 {
		t.Fatal("the deleted principal's id was handed out again")
	}
	if cs, _ := q.ListCredentials(ctx, 2); len(cs) != 0 {
		t.Fatalf("credentials outlived their principal: %v", cs)
	}
	if err := s.Tx(ctx, func(q meta.Queries) error { return q.DeleteRegistry(ctx, 1) }); err != nil {
		t.Fatal(err)
	}
	r2 := &meta.Registry{Name: "beta", LoginServer: "beta.localhost", SKU: "Standard", CreatedAt: reg.CreatedAt, UpdatedAt: reg.CreatedAt}
	if err := s.Tx(ctx, func(q meta.Queries) error { return q.CreateRegistry(ctx, r2) }); err != nil || r2.ID == 1 {
		t.Fatalf("new registry: id %d, %v (the deleted one's id is never handed out again)", r2.ID, err)
	}
}

// testUpgradeFillsRefRepositories upgrades a database made before
// manifest_refs recorded their manifest's repository (migration 0030):
// every reference gets its manifest's repository, so the link check that
// now reads only manifest_refs answers as before, per repository.
func testUpgradeFillsRefRepositories(t *testing.T, d dialect, dir fs.FS, old *sql.DB, open func(t *testing.T) *Store) {
	ctx := t.Context()
	if err := migrate(ctx, old, d, migrationsBefore(t, dir, "0030")); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`INSERT INTO registries (id, name, login_server, sku, created_at, updated_at) VALUES (1, 'acre', 'acre.localhost', 'Standard', 1, 1)`,
		`INSERT INTO repositories (id, registry_id, name, created_at, updated_at) VALUES (1, 1, 'a', 1, 1), (2, 1, 'b', 1, 1)`,
		`INSERT INTO manifests (id, repository_id, digest, media_type, artifact_type, config_media_type, subject, size,
			image_size, annotations, architecture, os, content, created_at, updated_at)
			VALUES (1, 1, 'sha256:m1', 'x', '', '', '', 1, 1, '', '', '', '', 1, 1), (2, 2, 'sha256:m2', 'x', '', '', '', 1, 1, '', '', '', '', 1, 1)`,
		`INSERT INTO manifest_refs (manifest_id, digest, kind) VALUES (1, 'sha256:shared', 0), (2, 'sha256:shared', 0), (2, 'sha256:only-b', 0)`,
	} {
		if _, err := d.wrap(old).ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	old.Close()
	s := open(t)
	defer s.Close()
	for _, c := range []struct {
		repo int64
		d    string
		want bool
	}{{1, "sha256:shared", true}, {2, "sha256:shared", true}, {1, "sha256:only-b", false}, {2, "sha256:only-b", true}} {
		got, err := s.Read().LinkReferenced(ctx, c.repo, digest.Digest(c.d))
		if err != nil || got != c.want {
			t.Errorf("LinkReferenced(%d, %s) after upgrade = %v, %v; want %v", c.repo, c.d, got, err, c.want)
		}
	}
}

func TestUpgradeFillsRefRepositories(t *testing.T) {
	path := filepath.Join(t.TempDir(), "meta.db")
	old, err := sql.Open("sqlite", "file:"+path+"?_pragma=foreign_keys(1)&_pragma=journal_mode(WAL)")
	if err != nil {
		t.Fatal(err)
	}
	old.SetMaxOpenConns(1)
	testUpgradeFillsRefRepositories(t, dialectSQLite, sqliteMigrations, old, func(t *testing.T) *Store {
		s, err := OpenSQLite(t.Context(), path, Options{})
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}
