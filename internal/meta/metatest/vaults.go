package metatest

import (
	"context"
	"testing"

	"github.com/acre-project/acre/internal/meta"
)

// testVaultSealing: secrets written unsealed are listed until sealed, once
// (a second seal of the same version finds nothing), and read back sealed.
func testVaultSealing(t *testing.T, s meta.Store) {
	ctx := context.Background()
	v := &meta.Vault{Name: "kv", CreatedAt: at(0)}
	tx(t, s, func(q meta.Queries) error { return q.CreateVault(ctx, v) })
	for i, x := range []meta.VaultSecret{{Name: "old", Version: "1", Value: "plain"},
		{Name: "new", Version: "1", Value: "sealed-bytes", Sealed: true}} {
		x.VaultID, x.CreatedAt = v.ID, at(i)
		tx(t, s, func(q meta.Queries) error { return q.PutVaultSecret(ctx, &x) })
	}
	plain, err := s.Read().PlainVaultSecrets(ctx, 10)
	ok(t, "plain secrets", err)
	if len(plain) != 1 || plain[0].Name != "old" || plain[0].Value != "plain" || plain[0].Sealed {
		t.Fatalf("plain secrets: %+v", plain)
	}
	tx(t, s, func(q meta.Queries) error { return q.SealVaultSecret(ctx, v.ID, "old", "1", "now-sealed") })
	err = s.Tx(ctx, func(q meta.Queries) error { return q.SealVaultSecret(ctx, v.ID, "old", "1", "twice") })
	wantErr(t, "seal a sealed secret", err, meta.ErrNotFound)
	if plain, _ := s.Read().PlainVaultSecrets(ctx, 10); len(plain) != 0 {
		t.Errorf("plain secrets after sealing: %+v", plain)
	}
	got, err := s.Read().GetVaultSecret(ctx, v.ID, "old", "")
	ok(t, "get", err)
	if got.Value != "now-sealed" || !got.Sealed {
		t.Errorf("sealed secret reads back as %+v", got)
	}
}

// testSealKeyCheck: one check value, stored once.
func testSealKeyCheck(t *testing.T, s meta.Store) {
	ctx := context.Background()
	_, err := s.Read().KeyCheck(ctx)
	wantErr(t, "check before any", err, meta.ErrNotFound)
	tx(t, s, func(q meta.Queries) error { return q.PutKeyCheck(ctx, "sealed-1") })
	err = s.Tx(ctx, func(q meta.Queries) error { return q.PutKeyCheck(ctx, "sealed-2") })
	wantErr(t, "a second check", err, meta.ErrConflict)
	if v, err := s.Read().KeyCheck(ctx); err != nil || v != "sealed-1" {
		t.Errorf("check: %q %v", v, err)
	}
}
