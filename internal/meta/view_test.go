package meta_test

import (
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/acre-project/acre/internal/meta"
	"github.com/acre-project/acre/internal/meta/sqlstore"
)

// registryStore is a consumer's view with two aggregates; Within narrows
// it to one.
type registryStore interface {
	meta.Registries
	meta.Audit
}

// TestViews checks that a View made by Narrow, and one made from it by
// Within, read and write the store they wrap: a transaction whose
// function fails leaves nothing, one that succeeds is seen by Read.
func TestViews(t *testing.T) {
	s, err := sqlstore.OpenSQLite(t.Context(), filepath.Join(t.TempDir(), "meta.db"), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	wide := meta.Narrow(s, func(q meta.Queries) registryStore { return q })
	views := []struct {
		name string
		v    meta.View[meta.Registries]
	}{
		{"narrow", meta.Narrow(s, func(q meta.Queries) meta.Registries { return q })},
		{"within", meta.Within(wide, func(q registryStore) meta.Registries { return q })},
	}
	for _, tt := range views {
		t.Run(tt.name, func(t *testing.T) {
			ctx := t.Context()
			if err := tt.v.Ping(ctx); err != nil {
				t.Fatalf("Ping: %v", err)
			}
			failed := errors.New("changed my mind")
			err := tt.v.Tx(ctx, func(q meta.Registries) error {
				r := &meta.Registry{Name: tt.name + "-dropped", LoginServer: tt.name + "-dropped.localhost", SKU: "Basic",
					CreatedAt: time.Now(), UpdatedAt: time.Now()}
				if err := q.CreateRegistry(ctx, r); err != nil {
					return err
				}
				return failed
			})
			if !errors.Is(err, failed) {
				t.Fatalf("Tx = %v, want the function's error", err)
			}
			if _, err := tt.v.Read().GetRegistry(ctx, tt.name+"-dropped"); !errors.Is(err, meta.ErrNotFound) {
				t.Fatalf("a registry created in a failed transaction: GetRegistry = %v, want ErrNotFound", err)
			}
			err = tt.v.Tx(ctx, func(q meta.Registries) error {
				return q.CreateRegistry(ctx, &meta.Registry{Name: tt.name, LoginServer: tt.name + ".localhost", SKU: "Basic",
					CreatedAt: time.Now(), UpdatedAt: time.Now()})
			})
			if err != nil {
				t.Fatalf("Tx: %v", err)
			}
			if r, err := tt.v.Read().GetRegistry(ctx, tt.name); err != nil || r.LoginServer != tt.name+".localhost" {
				t.Fatalf("GetRegistry = %+v, %v", r, err)
			}
		})
	}
}
