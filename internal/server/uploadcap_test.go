package server

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/acre-project/acre/internal/config"
	"github.com/opencontainers/go-digest"
)

// TestUploadSessionCaps checks that upload sessions holding bytes are
// capped per identity (across registries) and per registry with 429
// TOOMANYREQUESTS, that a cancelled, committed or abandoned (cleaned up)
// session frees its place, and that sessions without bytes cost nothing.
func TestUploadSessionCaps(t *testing.T) {
	s := newTestServer(t, func(c *config.Config) {
		c.Limits.MaxUploadsPerIdentity, c.Limits.MaxUploadsPerRegistry = 3, 5
		c.Registries = []config.Registry{{Name: "beta"}}
	})
	users := map[string]cred{}
	for _, u := range []string{"pusher-a", "pusher-b"} {
		s.api(http.MethodPost, "/api/v1/identities", map[string]string{"name": u, "password": "password-of-" + u}, nil)
		s.api(http.MethodPost, "/api/v1/roleAssignments", map[string]string{"assignee": u, "role": "AcrPush", "scope": "/"}, nil)
		users[u] = cred{user: u, pass: "password-of-" + u}
	}
	a, b := users["pusher-a"], users["pusher-b"]
	// start opens a session and sends its first byte ("a"), which stores
	// it; it answers the first refusal or the stored session's location.
	start := func(c cred, host string) (int, string) {
		t.Helper()
		resp, body := s.doHost(host, "POST", "/v2/app/blobs/uploads/", c, nil)
		if resp.StatusCode != http.StatusAccepted {
			return resp.StatusCode, ""
		}
		resp, body = s.doHost(host, "PATCH", resp.Header.Get("Location"), c, []byte("a"))
		if resp.StatusCode == http.StatusTooManyRequests &&
			(!strings.Contains(string(body), `"TOOMANYREQUESTS"`) || resp.Header.Get("Retry-After") == "") {
			t.Fatalf("429 without the OCI error or Retry-After: %v %s", resp.Header, body)
		}
		return resp.StatusCode, resp.Header.Get("Location")
	}
	want := func(what string, got, want int) {
		t.Helper()
		if got != want {
			t.Fatalf("%s: %d, want %d", what, got, want)
		}
	}
	// openN opens n sessions as c, each of which must be accepted.
	openN := func(what string, c cred, n int) (locs []string) {
		t.Helper()
		for range n {
			st, loc := start(c, "")
			want(what, st, 202)
			locs = append(locs, loc)
		}
		return locs
	}
	open := openN("a's sessions", a, 3)
	for range 10 { // past both caps, sessions without bytes still open
		if resp, _ := s.do("POST", "/v2/app/blobs/uploads/", a, nil); resp.StatusCode != http.StatusAccepted {
			t.Fatalf("a session without bytes: %d, want 202", resp.StatusCode)
		}
	}
	st, _ := start(a, "")
	want("a's 4th session (identity cap)", st, 429)
	st, _ = start(a, "beta.localhost")
	want("a's 4th session in another registry (the identity cap is server-wide)", st, 429)
	openN("b's sessions", b, 2)
	st, _ = start(b, "")
	want("b's 3rd session (registry cap: 5 open)", st, 429)
	st, _ = start(b, "beta.localhost")
	want("b's session in another registry", st, 202)

	// Cancelling one frees its place.
	if resp, _ := s.do("DELETE", open[0], a, nil); resp.StatusCode != 204 {
		t.Fatalf("cancel: %d", resp.StatusCode)
	}
	st, loc := start(a, "")
	want("a's session after a cancel", st, 202)
	// So does committing one.
	blob := []byte("a committed blob") // its "a" is already there
	if resp, body := s.do("PUT", loc+"?digest="+digest.FromBytes(blob).String(), a, blob[1:]); resp.StatusCode != 201 {
		t.Fatalf("commit: %d %s", resp.StatusCode, body)
	}
	st, _ = start(a, "")
	want("a's session after a commit", st, 202)

	// Abandoned sessions, once removed as idle, free theirs.
	if _, err := s.srv.life.CleanUploads(t.Context(), time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	openN("a's sessions after the cleanup", a, 3)
	openN("b's sessions after the cleanup", b, 2)
	st, _ = start(b, "")
	want("b's session past the registry cap again", st, 429)
}
