package sqlstore

import (
	"bytes"
	"fmt"
	"maps"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/acre-project/acre/internal/meta"
	"github.com/opencontainers/go-digest"
)

// testCopyAll copies a SQLite store holding one digest referenced from two
// repositories, a task with its base, cursor, run and run log, a vault
// with a sealed secret and a role, the seal key check, and a web app on its
// plan into dst (a fresh store). It checks that every table's rows arrived,
// that each reference kept its repository (the link check answers per
// repository on dst), that the rest reads back the same with the same ids,
// and that dst hands out new ids past the copied ones.
func testCopyAll(t *testing.T, dst *Store) {
	ctx := t.Context()
	src := openTemp(t, t.TempDir())
	defer src.Close()
	at := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	shared, onlyB := digest.FromString("shared"), digest.FromString("only-b")
	repos := map[string]int64{}
	err := src.Tx(ctx, func(q meta.Queries) error {
		reg := &meta.Registry{Name: "acre", LoginServer: "acre.localhost", SKU: "Standard", CreatedAt: at, UpdatedAt: at}
		if err := q.CreateRegistry(ctx, reg); err != nil {
			return err
		}
		for i, name := range []string{"a", "b"} {
			r, err := q.EnsureRepository(ctx, reg.ID, name)
			if err != nil {
				return err
			}
			repos[name] = r.ID
			m := benchManifest(r.ID, name, at)
			m.Refs = []meta.Ref{{Digest: shared}}
			if i == 1 {
				m.Refs = append(m.Refs, meta.Ref{Digest: onlyB})
			}
			if _, err := q.PutManifest(ctx, m); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	f := seedCopyFixture(t, src, at)
	copied, err := CopyAll(ctx, src, dst)
	if err != nil {
		t.Fatalf("CopyAll: %v", err)
	}
	tables, err := CopyTables(ctx, src)
	if err != nil {
		t.Fatal(err)
	}
	want, err := Counts(ctx, src, tables)
	if err != nil {
		t.Fatal(err)
	}
	for _, tb := range []string{"tasks", "task_bases", "task_cursors", "task_runs", "task_run_logs", "key_vaults",
		"key_vault_secrets", "key_vault_roles", "seal_key_check", "appservice_plans", "webapps"} {
		if want[tb] == 0 || copied[tb] != want[tb] {
			t.Errorf("table %s: %d rows at the source, %d copied", tb, want[tb], copied[tb])
		}
	}
	got, err := Counts(ctx, dst, tables)
	if err != nil || !maps.Equal(got, want) || copied["manifest_refs"] != 3 {
		t.Fatalf("after CopyAll: dst counts %v (%v), src %v, copied %v", got, err, want, copied)
	}
	for _, c := range []struct {
		repo string
		d    digest.Digest
		want bool
	}{{"a", shared, true}, {"b", shared, true}, {"a", onlyB, false}, {"b", onlyB, true}} {
		if ok, err := dst.Read().LinkReferenced(ctx, repos[c.repo], c.d); err != nil || ok != c.want {
			t.Errorf("copied LinkReferenced(%s, %s) = %v, %v; want %v", c.repo, c.d, ok, err, c.want)
		}
	}
	err = dst.Tx(ctx, func(q meta.Queries) error {
		m := benchManifest(repos["a"], "after", at)
		m.Refs = []meta.Ref{{Digest: onlyB}}
		if created, err := q.PutManifest(ctx, m); err != nil || !created {
			return fmt.Errorf("PutManifest after copying: %v, %v", created, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := dst.Read().LinkReferenced(ctx, repos["a"], onlyB); err != nil || !ok {
		t.Errorf("LinkReferenced after a push to the copy = %v, %v", ok, err)
	}
	f.check(t, dst)
}

// copyFixture is what seedCopyFixture stored, to compare a copy with.
type copyFixture struct {
	task   meta.Task
	run    meta.Run
	secret meta.VaultSecret
	vault  meta.Vault
	app    meta.WebApp
	plan   meta.AppPlan
}

// seedCopyFixture stores, in s (whose registry exists), a row in each table
// of tasks, runs, Key Vault and web apps.
func seedCopyFixture(t *testing.T, s *Store, at time.Time) *copyFixture {
	t.Helper()
	ctx := t.Context()
	f := &copyFixture{}
	err := s.Tx(ctx, func(q meta.Queries) error {
		reg, err := q.GetRegistry(ctx, "acre")
		if err != nil {
			return err
		}
		f.task = meta.Task{RegistryID: reg.ID, Name: "nightly", Spec: []byte(`{"steps":"build"}`), Enabled: true,
			NextTimerAt: at.Add(time.Hour), CreatedAt: at, UpdatedAt: at}
		if err := q.PutTask(ctx, &f.task); err != nil {
			return err
		}
		if err := q.SetTaskBases(ctx, f.task.ID, []meta.TaskBase{{TaskID: f.task.ID, Ref: "acre.localhost/base:1", Digest: "sha256:ab"}}); err != nil {
			return err
		}
		if ok, err := q.SetTaskCursor(ctx, "base-images", 0, 7); err != nil || !ok {
			return fmt.Errorf("SetTaskCursor: %v, %v", ok, err)
		}
		f.run = meta.Run{RegistryID: reg.ID, TaskID: f.task.ID, TaskName: f.task.Name, Trigger: "Manual",
			Spec: []byte(`{"run":1}`), State: meta.RunQueued, CreatedAt: at}
		if err := q.CreateRun(ctx, &f.run); err != nil {
			return err
		}
		if err := q.AppendRunLog(ctx, f.run.ID, 1, []byte("step 1 of 1\n")); err != nil {
			return err
		}
		p := &meta.Principal{Kind: "user", Name: "reader", Enabled: true, CreatedAt: at}
		if err := q.CreatePrincipal(ctx, p); err != nil {
			return err
		}
		f.vault = meta.Vault{Name: "kv", CreatedAt: at}
		if err := q.CreateVault(ctx, &f.vault); err != nil {
			return err
		}
		f.secret = meta.VaultSecret{VaultID: f.vault.ID, Name: "db-password", Version: "v1",
			Value: "sealed:v1:opaque", Sealed: true, CreatedAt: at}
		if err := q.PutVaultSecret(ctx, &f.secret); err != nil {
			return err
		}
		if err := q.CreateVaultRole(ctx, &meta.VaultRole{VaultID: f.vault.ID, PrincipalID: p.ID,
			Role: "Key Vault Secrets User", CreatedAt: at}); err != nil {
			return err
		}
		if err := q.PutKeyCheck(ctx, "sealed:check"); err != nil {
			return err
		}
		f.plan = meta.AppPlan{Name: "plan", SKU: "B1", Workers: 2, CreatedAt: at}
		if err := q.CreatePlan(ctx, &f.plan); err != nil {
			return err
		}
		f.app = meta.WebApp{Name: "web", PlanID: f.plan.ID, Config: []byte(`{"image":"acre.localhost/web:1"}`),
			Status: []byte(`{"state":"Running"}`), CreatedAt: at, UpdatedAt: at}
		return q.CreateWebApp(ctx, &f.app)
	})
	if err != nil {
		t.Fatalf("seed tasks, vault, web app: %v", err)
	}
	return f
}

// check reads f back from dst, a copy, and has dst create one more of each
// kind: its id must be past the copied one.
func (f *copyFixture) check(t *testing.T, dst *Store) {
	t.Helper()
	ctx := t.Context()
	q := dst.Read()
	if got, err := q.GetTaskByID(ctx, f.task.ID); err != nil || got.Name != f.task.Name || !bytes.Equal(got.Spec, f.task.Spec) ||
		!got.Enabled || !got.NextTimerAt.Equal(f.task.NextTimerAt) {
		t.Errorf("copied task = %+v, %v; want %+v", got, err, f.task)
	}
	if got, err := q.ListTaskBases(ctx); err != nil || len(got) != 1 || got[0].TaskID != f.task.ID {
		t.Errorf("copied task bases = %+v, %v", got, err)
	}
	if got, err := q.TaskCursor(ctx, "base-images"); err != nil || got != 7 {
		t.Errorf("copied task cursor = %d, %v; want 7", got, err)
	}
	if got, err := q.GetRun(ctx, f.run.ID); err != nil || got.TaskID != f.task.ID || got.State != meta.RunQueued ||
		!bytes.Equal(got.Spec, f.run.Spec) {
		t.Errorf("copied run = %+v, %v; want %+v", got, err, f.run)
	}
	if got, err := q.RunLog(ctx, f.run.ID, 0); err != nil || len(got) != 1 || string(got[0].Data) != "step 1 of 1\n" {
		t.Errorf("copied run log = %+v, %v", got, err)
	}
	if got, err := q.GetVaultSecret(ctx, f.vault.ID, "db-password", ""); err != nil || !got.Sealed ||
		got.Value != f.secret.Value || got.Version != "v1" {
		t.Errorf("copied secret = %+v, %v; want %+v (still sealed)", got, err, f.secret)
	}
	if got, err := q.KeyCheck(ctx); err != nil || got != "sealed:check" {
		t.Errorf("copied seal key check = %q, %v", got, err)
	}
	if got, err := q.GetWebApp(ctx, "web"); err != nil || got.ID != f.app.ID || got.PlanID != f.plan.ID ||
		!bytes.Equal(got.Config, f.app.Config) || !bytes.Equal(got.Status, f.app.Status) {
		t.Errorf("copied web app = %+v, %v; want %+v", got, err, f.app)
	}
	err := dst.Tx(ctx, func(q meta.Queries) error {
		task := meta.Task{RegistryID: f.task.RegistryID, Name: "next", Spec: []byte(`{}`), CreatedAt: f.task.CreatedAt, UpdatedAt: f.task.CreatedAt}
		if err := q.PutTask(ctx, &task); err != nil || task.ID <= f.task.ID {
			return fmt.Errorf("new task: id %d after copied %d: %v", task.ID, f.task.ID, err)
		}
		run := f.run
		run.ID = 0
		if err := q.CreateRun(ctx, &run); err != nil || run.ID <= f.run.ID {
			return fmt.Errorf("new run: id %d after copied %d: %v", run.ID, f.run.ID, err)
		}
		v := meta.Vault{Name: "kv2", CreatedAt: f.vault.CreatedAt}
		if err := q.CreateVault(ctx, &v); err != nil || v.ID <= f.vault.ID {
			return fmt.Errorf("new vault: id %d after copied %d: %v", v.ID, f.vault.ID, err)
		}
		p := meta.AppPlan{Name: "plan2", SKU: "B1", Workers: 1, CreatedAt: f.plan.CreatedAt}
		if err := q.CreatePlan(ctx, &p); err != nil || p.ID <= f.plan.ID {
			return fmt.Errorf("new plan: id %d after copied %d: %v", p.ID, f.plan.ID, err)
		}
		a := meta.WebApp{Name: "web2", PlanID: p.ID, Config: []byte(`{}`), CreatedAt: f.app.CreatedAt, UpdatedAt: f.app.CreatedAt}
		if err := q.CreateWebApp(ctx, &a); err != nil || a.ID <= f.app.ID {
			return fmt.Errorf("new web app: id %d after copied %d: %v", a.ID, f.app.ID, err)
		}
		return nil
	})
	if err != nil {
		t.Errorf("after the copy: %v", err)
	}
}

// TestCopyTablesCoverSchema checks that CopyAll copies every table of the
// SQLite schema but those notCopied lists (each with its reason), and that
// PostgreSQL's schema has each of them.
func TestCopyTablesCoverSchema(t *testing.T) {
	ctx := t.Context()
	s := openTemp(t, t.TempDir())
	defer s.Close()
	schema, err := scanStrings(s.r.QueryContext(ctx, `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`))
	if err != nil {
		t.Fatal(err)
	}
	copied, err := CopyTables(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	var missing []string
	for _, n := range schema {
		if _, skip := notCopied[n]; !skip && !slices.Contains(copied, n) {
			missing = append(missing, n)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("acre migrate does not copy tables %v: copy them, or list them in notCopied with the reason", missing)
	}
	for n, why := range notCopied {
		if !slices.Contains(schema, n) || why == "" {
			t.Errorf("notCopied names %q (%q), which the SQLite schema does not have or gives no reason for", n, why)
		}
	}
	for i, n := range copied {
		deps, err := foreignTables(ctx, s, n)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range deps {
			if slices.Index(copied, d) > i {
				t.Errorf("%s is copied before %s, which its foreign key references", n, d)
			}
		}
	}
}

func TestOrderByDepsCycle(t *testing.T) {
	if _, err := orderByDeps([]string{"a", "b"}, map[string][]string{"a": {"b"}, "b": {"a"}}); err == nil {
		t.Fatal("orderByDeps accepted a cycle")
	}
	got, err := orderByDeps([]string{"a", "b", "c"}, map[string][]string{"a": {"c"}, "b": {"x"}})
	if err != nil || !slices.Equal(got, []string{"b", "c", "a"}) {
		t.Fatalf("orderByDeps = %v, %v; want [b c a]", got, err)
	}
}

func TestCopyAll(t *testing.T) {
	dst := openTemp(t, t.TempDir())
	defer dst.Close()
	testCopyAll(t, dst)
}
