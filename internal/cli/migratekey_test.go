package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/acre-project/acre/internal/config"
	"github.com/acre-project/acre/internal/meta"
	"github.com/acre-project/acre/internal/meta/sqlstore"
)

func TestShareSealKey(t *testing.T) {
	key := bytes.Repeat([]byte{7}, 32)
	other := bytes.Repeat([]byte{8}, 32)
	for _, tt := range []struct {
		name       string
		srcKey     []byte // nil: no source key file
		keyCheck   bool   // the source stored its seal key check
		configured bool   // the destination's configuration names secret_key_file
		dstKey     []byte // nil: the configured file does not exist
		verifyOnly bool
		wantErr    string
		wantKey    string // "src", "dst" or ""
	}{
		{name: "never sealed"},
		{name: "sealed, key file missing", keyCheck: true, wantErr: "--from-key-file"},
		{name: "not configured", srcKey: key, keyCheck: true, wantKey: "src"},
		{name: "configured, missing", srcKey: key, keyCheck: true, configured: true, wantKey: "dst"},
		{name: "configured, same", srcKey: key, configured: true, dstKey: key, wantKey: "dst"},
		{name: "configured, other key", srcKey: key, configured: true, dstKey: other, wantErr: "is not the key"},
		{name: "verify, missing", srcKey: key, configured: true, verifyOnly: true, wantErr: "is missing"},
		{name: "bad source key", srcKey: []byte("short"), wantErr: "bytes"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx := t.Context()
			dir := t.TempDir()
			src, err := sqlstore.OpenSQLite(ctx, filepath.Join(dir, "meta.db"), sqlstore.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			if tt.keyCheck {
				if err := src.Tx(ctx, func(q meta.Queries) error { return q.PutKeyCheck(ctx, "sealed:check") }); err != nil {
					t.Fatal(err)
				}
			}
			srcKey := filepath.Join(dir, "secret.key")
			if tt.srcKey != nil {
				if err := os.WriteFile(srcKey, tt.srcKey, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			var cfg config.Config
			if tt.configured {
				cfg.SecretKeyFile = filepath.Join(dir, "shared", "secret.key")
			}
			if tt.dstKey != nil {
				if err := os.MkdirAll(filepath.Dir(cfg.SecretKeyFile), 0o700); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(cfg.SecretKeyFile, tt.dstKey, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			got, note, err := shareSealKey(ctx, src, cfg, srcKey, tt.verifyOnly)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("shareSealKey = %q, %v; want an error saying %q", got, err, tt.wantErr)
				}
				if tt.dstKey == nil && tt.configured {
					if _, err := os.Stat(cfg.SecretKeyFile); err == nil {
						t.Error("a failed shareSealKey wrote secret_key_file")
					}
				}
				return
			}
			want := map[string]string{"": "", "src": srcKey, "dst": cfg.SecretKeyFile}[tt.wantKey]
			if err != nil || got != want || (want != "" && !strings.Contains(note, want)) {
				t.Fatalf("shareSealKey = %q, %q, %v; want %q", got, note, err, want)
			}
			if tt.wantKey == "dst" {
				b, err := os.ReadFile(cfg.SecretKeyFile)
				fi, serr := os.Stat(cfg.SecretKeyFile)
				if err != nil || serr != nil || !bytes.Equal(b, key) || fi.Mode().Perm() != 0o600 {
					t.Fatalf("secret_key_file holds %x (%v, %v), want the source's key, mode 0600", b, err, serr)
				}
			}
		})
	}
}
