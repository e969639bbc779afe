package keyvault

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/acre-project/acre/internal/meta"
	"github.com/acre-project/acre/internal/meta/sqlstore"
	"github.com/acre-project/acre/internal/seal"
)

func newService(t *testing.T) (*Service, meta.Store, string) {
	t.Helper()
	dir := t.TempDir()
	box, kerr := seal.LoadOrCreate(filepath.Join(dir, "secret.key"))
	m, err := sqlstore.OpenSQLite(t.Context(), filepath.Join(dir, "meta.db"), sqlstore.Options{})
	if err = errors.Join(kerr, err); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return New(narrow(m), "localhost", box), m, dir
}

// TestSecretsSealedAtRest: a secret's value is sealed in its row (its
// bytes are nowhere in the SQLite files) and reads back whole; a value
// stored in plain text before sealing is sealed by SealPlain and still
// reads back.
func TestSecretsSealedAtRest(t *testing.T) {
	s, m, dir := newService(t)
	ctx := t.Context()
	const value = "kv-secret-bytes-0123456789"
	if _, err := s.CreateVault(ctx, "kv1"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetSecret(ctx, "kv1", "db", value); err != nil {
		t.Fatal(err)
	}
	got, err := s.Secret(ctx, "kv1", "db", "")
	if err != nil || got.Value != value {
		t.Fatalf("secret reads back as %q, %v", got.Value, err)
	}
	v, _ := m.Read().GetVault(ctx, "kv1")
	row, err := m.Read().GetVaultSecret(ctx, v.ID, "db", "")
	if err != nil || !row.Sealed || strings.Contains(row.Value, value) {
		t.Fatalf("stored row: %+v %v", row, err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "meta.db*"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte(value)) {
			t.Errorf("%s holds the secret's bytes", filepath.Base(f))
		}
	}

	// A row from before sealing: plain, then sealed on start.
	old := &meta.VaultSecret{VaultID: v.ID, Name: "legacy", Version: "v0", Value: "legacy-plain-value", CreatedAt: time.Now()}
	if err := m.Tx(ctx, func(q meta.Queries) error { return q.PutVaultSecret(ctx, old) }); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Secret(ctx, "kv1", "legacy", ""); err != nil || got.Value != "legacy-plain-value" {
		t.Fatalf("plain row before sealing: %q %v", got.Value, err)
	}
	if n, err := s.SealPlain(ctx); err != nil || n != 1 {
		t.Fatalf("SealPlain: %d %v", n, err)
	}
	row, _ = m.Read().GetVaultSecret(ctx, v.ID, "legacy", "")
	if !row.Sealed || strings.Contains(row.Value, "legacy-plain-value") {
		t.Errorf("legacy row after SealPlain: %+v", row)
	}
	if got, err := s.Secret(ctx, "kv1", "legacy", ""); err != nil || got.Value != "legacy-plain-value" {
		t.Errorf("legacy row reads back as %q %v", got.Value, err)
	}
	if n, err := s.SealPlain(ctx); err != nil || n != 0 {
		t.Errorf("second SealPlain: %d %v", n, err)
	}
	// Under another key the value does not open, and says why.
	other, _ := seal.LoadOrCreate(filepath.Join(t.TempDir(), "other.key"))
	if _, err := New(narrow(m), "localhost", other).Secret(ctx, "kv1", "db", ""); !errors.Is(err, seal.ErrWrongKey) {
		t.Errorf("another key: %v", err)
	}
}

// TestResolveNeedsRole: Resolve reads a secret only for an identity with
// Key Vault Secrets User on its vault (or every vault).
func TestResolveNeedsRole(t *testing.T) {
	s, m, _ := newService(t)
	ctx := t.Context()
	if _, err := s.CreateVault(ctx, "kv2"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetSecret(ctx, "kv2", "tok", "role-gated"); err != nil {
		t.Fatal(err)
	}
	p := &meta.Principal{Kind: meta.KindUser, Name: "builder", Enabled: true, CreatedAt: time.Now()}
	if err := m.Tx(ctx, func(q meta.Queries) error { return q.CreatePrincipal(ctx, p) }); err != nil {
		t.Fatal(err)
	}
	ref, err := s.ParseSecretURL("https://kv2.vault.localhost/secrets/tok")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Resolve(ctx, p.ID, ref); !errors.Is(err, ErrDenied) || !strings.Contains(err.Error(), RoleSecretsUser) {
		t.Errorf("without the role: %v", err)
	}
	if _, err := s.Assign(ctx, "builder", "/vaults/kv2"); err != nil {
		t.Fatal(err)
	}
	if v, err := s.Resolve(ctx, p.ID, ref); err != nil || v != "role-gated" {
		t.Errorf("with the role: %q %v", v, err)
	}
}

func TestParseSecretURL(t *testing.T) {
	s := New(nil, "acre.example", nil)
	for _, tc := range []struct {
		in   string
		want Reference
		bad  string
	}{
		{in: "https://kv.vault.acre.example/secrets/db", want: Reference{Vault: "kv", Secret: "db"}},
		{in: "https://KV.vault.acre.example:8443/secrets/db/v2", want: Reference{Vault: "kv", Secret: "db", Version: "v2"}},
		{in: "https://kv.vault.azure.net/secrets/db", bad: "not a vault of this server"},
		{in: "https://kv.vault.acre.example/keys/db", bad: "want https://"},
		{in: "https://kv.vault.acre.example/secrets/", bad: "want https://"},
		{in: "ftp://kv.vault.acre.example/secrets/db", bad: "not a URL"},
		{in: "kv/db", bad: "not a URL"},
	} {
		got, err := s.ParseSecretURL(tc.in)
		if tc.bad != "" {
			if err == nil || !strings.Contains(err.Error(), tc.bad) {
				t.Errorf("ParseSecretURL(%q): %v, want an error with %q", tc.in, err, tc.bad)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseSecretURL(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
}

func narrow(m meta.Store) meta.View[Store] {
	return meta.Narrow(m, func(q meta.Queries) Store { return q })
}
