package server

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/acre-project/acre/internal/config"
)

// TestMetricsNeedReader (issue 10, item 8): /metrics on the main listener
// names registries and their sizes, so it answers only a signed-in
// identity with Reader (or more) at server scope; on its own metrics.addr
// it stays open, the operator's choice.
func TestMetricsNeedReader(t *testing.T) {
	s := newTestServer(t, nil)
	for _, u := range []struct{ name, role, scope string }{
		{"nobody", "", ""}, {"reg-reader", "Reader", "/registries/acre"}, {"puller", "AcrPull", "/"}, {"auditor", "Reader", "/"},
	} {
		s.api(http.MethodPost, "/api/v1/identities", map[string]string{"name": u.name, "password": u.name + "-password"}, nil)
		if u.role != "" {
			s.api(http.MethodPost, "/api/v1/roleAssignments", map[string]string{"assignee": u.name, "role": u.role, "scope": u.scope}, nil)
		}
	}
	basic := func(name string) cred { return cred{user: name, pass: name + "-password"} }
	tests := []struct {
		name string
		c    cred
		want int
	}{
		{"anonymous", cred{}, http.StatusUnauthorized},
		{"wrong password", cred{user: "auditor", pass: "wrong"}, http.StatusUnauthorized},
		{"no role", basic("nobody"), http.StatusForbidden},
		{"Reader of one registry only", basic("reg-reader"), http.StatusForbidden},
		{"AcrPull at server scope (data plane only)", basic("puller"), http.StatusForbidden},
		{"Reader at server scope", basic("auditor"), http.StatusOK},
		{"Reader's session token", cred{bearer: s.session("auditor", "auditor-password")}, http.StatusOK},
		{"owner", cred{user: "owner", pass: ownerPass}, http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, b := s.do(http.MethodGet, "/metrics", tt.c, nil)
			if resp.StatusCode != tt.want {
				t.Fatalf("%d %s, want %d", resp.StatusCode, b, tt.want)
			}
			if leaked := strings.Contains(string(b), "acre_registry_storage_bytes"); leaked != (tt.want == http.StatusOK) {
				t.Fatalf("registry figures shown: %v", leaked)
			}
		})
	}

	t.Run("own listener stays open", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close() // metrics.addr takes an address; this one was just free
		cfg := config.Default()
		cfg.Data = t.TempDir()
		cfg.Metrics.Addr = addr
		ctx, cancel := context.WithCancel(t.Context())
		srv, err := New(ctx, cfg, slog.New(slog.DiscardHandler), "owner", ownerPass)
		if err != nil {
			t.Fatal(err)
		}
		main, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- srv.Serve(ctx, main) }()
		defer func() { cancel(); <-done; srv.Close() }()
		var code int
		if !within(30*time.Second, func() bool {
			resp, err := http.Get("http://" + addr + "/metrics")
			if err != nil {
				return false
			}
			resp.Body.Close()
			code = resp.StatusCode
			return true
		}) || code != http.StatusOK {
			t.Fatalf("metrics.addr without credentials: %d", code)
		}
		resp, err := http.Get("http://" + main.Addr().String() + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Fatalf("/metrics on the main listener with metrics.addr set: %d, want 404", resp.StatusCode)
		}
	})
}
