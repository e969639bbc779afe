package server

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/acre-project/acre/internal/config"
	"github.com/acre-project/acre/internal/metrics"
	"github.com/acre-project/acre/internal/registry"
)

func TestWithRequest(t *testing.T) {
	var logBuf bytes.Buffer
	log := NewLogger(&logBuf, "json", "debug")
	var seen registry.RequestInfo
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = registry.RequestInfoFrom(r.Context())
		w.WriteHeader(http.StatusTeapot)
		_, _ = w.Write([]byte("short and stout"))
	})
	tests := []struct {
		name   string
		id     string
		wantID func(string) bool
	}{
		{"client id echoed", "abc-123", func(s string) bool { return s == "abc-123" }},
		{"missing id generated", "", func(s string) bool { return len(s) == 36 }},
		{"overlong id replaced", strings.Repeat("x", 129), func(s string) bool { return len(s) == 36 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			logBuf.Reset()
			r := httptest.NewRequest(http.MethodGet, "/v2/x", nil)
			r.Header.Set("User-Agent", "test-agent")
			if tt.id != "" {
				r.Header.Set("X-Request-Id", tt.id)
			}
			rec := httptest.NewRecorder()
			withRequest(log, metrics.New(nil, nil), nil, ok).ServeHTTP(rec, r)
			id := rec.Header().Get("X-Request-Id")
			if !tt.wantID(id) {
				t.Fatalf("X-Request-Id = %q", id)
			}
			if seen.ID != id || seen.Method != http.MethodGet || seen.UserAgent != "test-agent" || seen.Host != "example.com" {
				t.Fatalf("request info in the context = %+v", seen)
			}
			var line map[string]any
			if err := json.Unmarshal(logBuf.Bytes(), &line); err != nil {
				t.Fatalf("access log %q: %v", logBuf.Bytes(), err)
			}
			if line["request_id"] != id || line["status"] != float64(http.StatusTeapot) || line["bytes_out"] != float64(15) {
				t.Fatalf("access log line = %v", line)
			}
		})
	}
}

func TestWithRequestPanic(t *testing.T) {
	var logBuf bytes.Buffer
	log := NewLogger(&logBuf, "text", "info")
	boom := http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("kaboom") })
	for _, method := range []string{http.MethodGet, http.MethodHead} {
		rec := httptest.NewRecorder()
		withRequest(log, metrics.New(nil, nil), nil, boom).ServeHTTP(rec, httptest.NewRequest(method, "/v2/", nil))
		if rec.Code != http.StatusInternalServerError {
			t.Fatalf("%s: status = %d, want 500", method, rec.Code)
		}
		if method == http.MethodGet && !strings.Contains(rec.Body.String(), `"UNKNOWN"`) {
			t.Fatalf("body = %q", rec.Body.String())
		}
		if strings.Contains(rec.Body.String(), "kaboom") {
			t.Fatal("the panic value leaked to the client")
		}
	}
	if !strings.Contains(logBuf.String(), "kaboom") {
		t.Fatalf("panic not logged: %q", logBuf.String())
	}
	// A panic after the answer started does not write a second status.
	late := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusOK)
		panic("late")
	})
	rec := httptest.NewRecorder()
	withRequest(log, metrics.New(nil, nil), nil, late).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	if rec.Code != http.StatusOK || rec.Body.Len() != 0 {
		t.Fatalf("late panic = %d %q", rec.Code, rec.Body.String())
	}
	// http.ErrAbortHandler is re-raised for net/http to handle.
	func() {
		defer func() {
			if p := recover(); p != http.ErrAbortHandler {
				t.Fatalf("recovered %v, want http.ErrAbortHandler", p)
			}
		}()
		abort := http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic(http.ErrAbortHandler) })
		withRequest(log, metrics.New(nil, nil), nil, abort).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil))
	}()
}

func TestHandlerRoutes(t *testing.T) {
	cfg := config.Default()
	cfg.Data = filepath.Join(t.TempDir(), "data")
	cfg.Auth.Enabled = false
	cfg.Storage.SQLite.Synchronous = "normal"
	srv, err := New(t.Context(), cfg, slog.New(slog.DiscardHandler), "", "")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	h := srv.Handler()
	tests := []struct {
		method, path string
		status       int
		body         string // substring
		json         bool
	}{
		{"GET", "/healthz", 200, "ok", false},
		{"GET", "/readyz", 200, "ready", false},
		{"GET", "/v2/", 200, "{}", true},
		{"GET", "/", 404, `"UNSUPPORTED"`, true},
		{"GET", "/v3/", 404, `"UNSUPPORTED"`, true},
		{"GET", "/v2x", 404, `"UNSUPPORTED"`, true},
		{"GET", "/../v2/", 404, `"UNSUPPORTED"`, true},
		{"HEAD", "/nope", 404, "", false},
		{"GET", "/v2/nope/tags/list", 404, `"NAME_UNKNOWN"`, true},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			r := httptest.NewRequest(tt.method, "/", nil)
			r.URL.Path = tt.path
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			if rec.Code != tt.status || !strings.Contains(rec.Body.String(), tt.body) {
				t.Fatalf("= %d %q, want %d containing %q", rec.Code, rec.Body.String(), tt.status, tt.body)
			}
			if tt.json && !json.Valid(rec.Body.Bytes()) {
				t.Fatalf("body %q is not JSON", rec.Body.String())
			}
			if tt.method == "HEAD" && rec.Body.Len() != 0 {
				t.Fatalf("HEAD body %q", rec.Body.String())
			}
			if rec.Header().Get("X-Request-Id") == "" {
				t.Fatal("no X-Request-Id")
			}
		})
	}
}
