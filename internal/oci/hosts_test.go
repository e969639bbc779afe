package oci

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"testing"

	"github.com/acre-project/acre/internal/errcode"

	"github.com/acre-project/acre/internal/blob/fs"
	"github.com/acre-project/acre/internal/meta"
	"github.com/acre-project/acre/internal/meta/sqlstore"
	"github.com/acre-project/acre/internal/registry"
	"github.com/opencontainers/go-digest"
)

func TestHostRouting(t *testing.T) {
	e := newEnv(t)
	d := e.pushImage("acre.localhost", "shared", "v1", "default")
	od := e.pushImage("other.localhost:5000", "shared", "v1", "other")
	tests := []struct {
		host string
		want digest.Digest
	}{
		{"acre.localhost", d},
		{"ACRE.LocalHost", d},
		{"acre.localhost:5000", d},
		{"unknown.example.com", d}, // falls to the default registry
		{"127.0.0.1:5000", d},
		{"[::1]:5000", d},
		{"", d},
		{"other.localhost", od},
		{"OTHER.localhost:443", od},
	}
	for _, tt := range tests {
		t.Run(tt.host, func(t *testing.T) {
			rec := e.do(req{method: http.MethodHead, target: "/v2/shared/manifests/v1", host: tt.host})
			if tt.host == "" {
				hr := httptest.NewRequest(http.MethodHead, "/v2/shared/manifests/v1", nil)
				hr.Host = ""
				rec = httptest.NewRecorder()
				e.h.ServeHTTP(rec, hr)
			}
			wantStatus(t, rec, http.StatusOK)
			if got := rec.Header().Get("Docker-Content-Digest"); got != tt.want.String() {
				t.Fatalf("Host %q served %s, want %s", tt.host, got, tt.want)
			}
		})
	}
	// Each registry's catalog holds only its own repositories.
	e.pushImage("other.localhost", "only-other", "v1", "x")
	if got := decodeList(t, e.do(req{target: "/v2/_catalog", host: "other.localhost"}), "repositories"); !slices.Equal(got, []string{"only-other", "shared"}) {
		t.Fatalf("other catalog = %q", got)
	}
	if got := decodeList(t, e.do(req{target: "/v2/_catalog", host: "elsewhere"}), "repositories"); !slices.Equal(got, []string{"shared"}) {
		t.Fatalf("default catalog = %q", got)
	}
}

func TestNoDefaultRegistry(t *testing.T) {
	dir := t.TempDir()
	blobs, err := fs.New(filepath.Join(dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := sqlstore.OpenSQLite(t.Context(), filepath.Join(dir, "meta.db"), sqlstore.Options{Synchronous: "normal"})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	svc := registry.New(registry.Options{Meta: meta.Narrow(m, func(q meta.Queries) registry.Store { return q }), Blobs: blobs, Uploads: blobs})
	if _, err := svc.EnsureRegistry(t.Context(), "only", "only.localhost", "Standard"); err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, h: New(svc, nil, nil, slog.New(slog.DiscardHandler)), dir: dir}
	wantStatus(t, e.do(req{target: "/v2/", host: "only.localhost"}), http.StatusOK)
	wantError(t, "GET", e.do(req{target: "/v2/", host: "unknown.example.com"}), 404, errcode.NameUnknown)
	wantError(t, "HEAD", e.do(req{method: "HEAD", target: "/v2/x/manifests/v1", host: "unknown.example.com"}), 404, errcode.NameUnknown)
}
