package mgmt

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/acre-project/acre/internal/auth"
	"github.com/acre-project/acre/internal/meta"
)

// TestEndpointSequence checks the one sequence every endpoint runs, with
// access that needs no store (any caller, or a feature that is off):
// the body is decoded strictly into In (none reads no body), the answer
// is written with the endpoint's status (none: the status alone; written:
// nothing more), and every error goes through writeError.
func TestEndpointSequence(t *testing.T) {
	h := New(nil, nil, nil, nil, slog.New(slog.DiscardHandler))
	type in struct {
		Name string `json:"name"`
	}
	echo := func(_ *req, v in) (map[string]string, error) { return map[string]string{"name": v.Name}, nil }
	tests := []struct {
		name     string
		fn       handler
		body     string
		status   int
		wantBody string // a substring; "" wants an empty body
	}{
		{"decoded and written", created(h, anyCaller(), echo), `{"name":"x"}`, http.StatusCreated, `"name": "x"`},
		{"empty body is the zero input", ok(h, anyCaller(), echo), ``, http.StatusOK, `"name": ""`},
		{"unknown field", ok(h, anyCaller(), echo), `{"nmae":"x"}`, http.StatusBadRequest, `"code": "BadRequest"`},
		{"malformed JSON", ok(h, anyCaller(), echo), `{`, http.StatusBadRequest, `invalid JSON body`},
		{"no content", noContent(h, anyCaller(), func(*req, none) error { return nil }), `{"ignored": true}`, http.StatusNoContent, ``},
		{"written by the call", ok(h, anyCaller(), func(q *req, _ none) (written, error) {
			q.w.WriteHeader(http.StatusTeapot)
			return written{}, nil
		}), ``, http.StatusTeapot, ``},
		{"not found", ok(h, anyCaller(), func(*req, none) (any, error) { return nil, meta.ErrNotFound }), ``, http.StatusNotFound, `"code": "NotFound"`},
		{"internal error", ok(h, anyCaller(), func(*req, none) (any, error) { return nil, errors.New("disk on fire") }), ``,
			http.StatusInternalServerError, `"code": "InternalError"`},
		{"web apps off", ok(h, webApp(auth.ManageRead), func(*req, none) (any, error) { panic("called") }), ``, http.StatusNotFound, `web apps are off`},
		{"Key Vault off", ok(h, vault(auth.ManageRead), func(*req, none) (any, error) { panic("called") }), ``, http.StatusNotFound, `Key Vault is off`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			r := httptest.NewRequest(http.MethodPost, "/api/v1/x", strings.NewReader(tt.body))
			if err := tt.fn(rec, r, &meta.Principal{Name: "someone"}); err != nil {
				h.writeError(rec, r, err)
			}
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d; body %s", rec.Code, tt.status, rec.Body)
			}
			if tt.wantBody == "" {
				if rec.Body.Len() != 0 {
					t.Fatalf("body %q, want none", rec.Body)
				}
				return
			}
			if !strings.Contains(rec.Body.String(), tt.wantBody) {
				t.Fatalf("body %s, want %s in it", rec.Body, tt.wantBody)
			}
			if !json.Valid(rec.Body.Bytes()) {
				t.Fatalf("body %s is not JSON", rec.Body)
			}
		})
	}
}
