package server

import (
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/acre-project/acre/internal/config"
)

// TestSecretsAtRestModes checks that the data directory ends up 0700 and
// the metadata files (they hold the signing keys) and the generated owner
// password 0600, on a fresh directory and on one left with wide modes.
func TestSecretsAtRestModes(t *testing.T) {
	for _, tt := range []struct {
		name    string
		prepare func(t *testing.T, dir string)
	}{
		{"fresh", func(*testing.T, string) {}},
		{"wide modes left before", func(t *testing.T, dir string) {
			must := func(err error) {
				if err != nil {
					t.Fatal(err)
				}
			}
			must(os.Chmod(dir, 0o755))
			for _, f := range []string{"meta.db", "meta.db-wal", "meta.db-shm", "bootstrap-owner.txt"} {
				must(os.WriteFile(filepath.Join(dir, f), nil, 0o644))
				must(os.Chmod(filepath.Join(dir, f), 0o644)) // whatever the umask
			}
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "data")
			if err := os.Mkdir(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			tt.prepare(t, dir)
			cfg := config.Default()
			cfg.Data = dir
			srv, err := New(t.Context(), cfg, slog.New(slog.DiscardHandler), "", "") // a generated password
			if err != nil {
				t.Fatal(err)
			}
			defer srv.Close()
			if srv.Bootstrapped().Password == "" {
				t.Fatal("no password generated")
			}
			// A write, so that the WAL and shared memory exist.
			if _, err := srv.svc.CreateRegistry(t.Context(), "other", ""); err != nil {
				t.Fatal(err)
			}
			want := map[string]os.FileMode{"": 0o700, "meta.db": 0o600, "meta.db-wal": 0o600, "meta.db-shm": 0o600, "bootstrap-owner.txt": 0o600}
			for f, mode := range want {
				fi, err := os.Stat(filepath.Join(dir, f))
				if err != nil {
					t.Fatal(err)
				}
				if fi.Mode().Perm() != mode {
					t.Errorf("%s/%s: mode %v, want %v", filepath.Base(dir), f, fi.Mode().Perm(), mode)
				}
			}
		})
	}
}
