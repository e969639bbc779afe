package server

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/acre-project/acre/internal/meta"
	"github.com/acre-project/acre/internal/meta/sqlstore"
	"github.com/acre-project/acre/internal/seal"
)

// TestCheckSealKey: the first key is recorded; the same key passes again;
// another key (a node given a fresh key file) is refused with a message
// that says what to do.
func TestCheckSealKey(t *testing.T) {
	dir := t.TempDir()
	m, err := sqlstore.OpenSQLite(t.Context(), filepath.Join(dir, "meta.db"), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	v := meta.Narrow(m, func(q meta.Queries) meta.SealKeyCheck { return q })
	first, err1 := seal.LoadOrCreate(filepath.Join(dir, "a.key"))
	other, err2 := seal.LoadOrCreate(filepath.Join(dir, "b.key"))
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	for i := 0; i < 2; i++ {
		if err := checkSealKey(t.Context(), v, first, "a.key"); err != nil {
			t.Fatalf("start %d with the first key: %v", i, err)
		}
	}
	err = checkSealKey(t.Context(), v, other, "b.key")
	if err == nil || !strings.Contains(err.Error(), "b.key is not the key") || !strings.Contains(err.Error(), "secret_key_file") {
		t.Errorf("another key: %v", err)
	}
}
