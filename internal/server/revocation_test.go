package server

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/acre-project/acre/internal/config"
)

// These tests are the security suite's identity half (issue 10, items 1
// and 2): ids that are never reissued, and revocation that holds at once
// for sessions and refresh tokens and within a minute for access tokens,
// on every node.

// twoNodes runs two acre servers on one data directory, as two nodes
// sharing their metadata.
func twoNodes(t *testing.T, change func(c *config.Config)) (a, b *testServer) {
	t.Helper()
	dir := t.TempDir()
	both := func(c *config.Config) {
		c.Data = dir
		if change != nil {
			change(c)
		}
	}
	return newTestServer(t, both), newTestServer(t, both)
}

// session signs in to the management API; "" when refused.
func (s *testServer) session(user, pass string) string {
	s.t.Helper()
	tok, err := sessionToken(s.t.Context(), s.ts, user, pass)
	if err != nil {
		return ""
	}
	return tok
}

// exchange turns an identity token into a refresh token; "" when refused.
func (s *testServer) exchange(identity string) string {
	s.t.Helper()
	_, out := s.form("/oauth2/exchange", url.Values{"grant_type": {"access_token"}, "service": {"acre.localhost"}, "access_token": {identity}})
	return out["refresh_token"]
}

// refreshed uses a refresh token for scope; "" when refused.
func (s *testServer) refreshed(refresh, scope string) string {
	s.t.Helper()
	_, out := s.form("/oauth2/token", url.Values{"grant_type": {"refresh_token"}, "service": {"acre.localhost"},
		"scope": {scope}, "refresh_token": {refresh}})
	return out["access_token"]
}

// status answers a GET of path with c.
func (s *testServer) status(path string, c cred) int {
	s.t.Helper()
	resp, _ := s.do(http.MethodGet, path, c, nil)
	return resp.StatusCode
}

// within waits up to d for cond, polling.
func within(d time.Duration, cond func() bool) bool {
	for end := time.Now().Add(d); ; time.Sleep(100 * time.Millisecond) {
		if cond() {
			return true
		}
		if time.Now().After(end) {
			return false
		}
	}
}

const manifestPath = "/v2/app/manifests/v1"

// TestDeletedIdentityTokensNeverActAsNewcomer: an intern's session and
// refresh token stop with the intern, and never act as an identity
// created after (on SQLite, it used to get the intern's id).
func TestDeletedIdentityTokensNeverActAsNewcomer(t *testing.T) {
	s := newTestServer(t, nil)
	owner := cred{user: "owner", pass: ownerPass}
	if st := s.push(owner, "app", "v1", newImage("v1", nil)); st != 201 {
		t.Fatalf("push: %d", st)
	}
	s.api(http.MethodPost, "/api/v1/identities", map[string]string{"name": "intern", "password": "intern-password"}, nil)
	s.api(http.MethodPost, "/api/v1/roleAssignments", map[string]string{"assignee": "intern", "role": "AcrPull", "scope": "/registries/acre"}, nil)
	session := s.session("intern", "intern-password")
	refresh := s.exchange(session)
	if session == "" || refresh == "" || s.status("/api/v1/whoami", cred{bearer: session}) != 200 {
		t.Fatal("intern could not sign in")
	}
	s.api(http.MethodDelete, "/api/v1/identities/intern", nil, nil)
	s.api(http.MethodPost, "/api/v1/identities", map[string]string{"name": "boss", "password": "boss-password-1"}, nil)
	s.api(http.MethodPost, "/api/v1/roleAssignments", map[string]string{"assignee": "boss", "role": "Owner", "scope": "/"}, nil)
	if st := s.status("/api/v1/whoami", cred{bearer: session}); st != 401 {
		t.Fatalf("the deleted intern's session: %d, want 401", st)
	}
	if st := s.status("/api/v1/identities", cred{bearer: session}); st != 401 {
		t.Fatalf("the deleted intern's session listing identities: %d, want 401", st)
	}
	if tok := s.refreshed(refresh, "repository:app:pull,push,delete"); tok != "" {
		t.Fatal("the deleted intern's refresh token still gives access tokens")
	}
	if st := s.status(manifestPath, cred{user: "00000000-0000-0000-0000-000000000000", pass: refresh}); st != 401 {
		t.Fatalf("the deleted intern's refresh token as a password: %d, want 401", st)
	}
}

// revocationCase is one way to take access away, with who loses what.
type revocationCase struct {
	name string
	// setup creates the identity and returns its credentials: a user's
	// name and password, or a token's (then it has no session).
	setup  func(t *testing.T, s *testServer) cred
	revoke func(t *testing.T, s *testServer)
	// keepsSession: sessions and refresh tokens survive (they read grants
	// anew), but new access tokens no longer grant the pull.
	keepsSession bool
	token        bool // a registry token: no session, refresh from /oauth2/token
	anonymous    bool
}

func userWith(role, scope string) func(t *testing.T, s *testServer) cred {
	return func(t *testing.T, s *testServer) cred {
		s.api(http.MethodPost, "/api/v1/identities", map[string]string{"name": "dev", "password": "dev-password-1"}, nil)
		s.api(http.MethodPost, "/api/v1/roleAssignments", map[string]string{"assignee": "dev", "role": role, "scope": scope}, nil)
		return cred{user: "dev", pass: "dev-password-1"}
	}
}

func ciToken(t *testing.T, s *testServer) cred {
	var tok struct {
		Credentials struct {
			Passwords []struct{ Value string } `json:"passwords"`
		} `json:"credentials"`
	}
	s.api(http.MethodPut, "/api/v1/registries/acre/scopeMaps/pull-only", map[string]any{"actions": []string{"repositories/app/content/read"}}, nil)
	s.api(http.MethodPost, "/api/v1/registries/acre/tokens", map[string]string{"name": "ci-token", "scopeMap": "pull-only"}, &tok)
	return cred{user: "ci-token", pass: tok.Credentials.Passwords[0].Value}
}

var revocationCases = []revocationCase{
	{name: "delete identity", setup: userWith("AcrPull", "/registries/acre"), revoke: func(t *testing.T, s *testServer) {
		s.api(http.MethodDelete, "/api/v1/identities/dev", nil, nil)
	}},
	{name: "reset password", setup: userWith("AcrPull", "/registries/acre"), revoke: func(t *testing.T, s *testServer) {
		s.api(http.MethodPost, "/api/v1/identities/dev/reset", map[string]string{}, nil)
	}},
	{name: "remove role assignment", setup: userWith("AcrPull", "/registries/acre"), keepsSession: true, revoke: func(t *testing.T, s *testServer) {
		var as []struct{ ID int64 }
		s.api(http.MethodGet, "/api/v1/roleAssignments?assignee=dev", nil, &as)
		for _, a := range as {
			s.api(http.MethodDelete, "/api/v1/roleAssignments/"+itoa(a.ID), nil, nil)
		}
	}},
	{name: "renew token password", setup: ciToken, token: true, revoke: func(t *testing.T, s *testServer) {
		s.api(http.MethodPost, "/api/v1/registries/acre/tokens/ci-token/credentials/generate", map[string]string{"name": "password1"}, nil)
	}},
	{name: "disable token", setup: ciToken, token: true, revoke: func(t *testing.T, s *testServer) {
		s.api(http.MethodPatch, "/api/v1/registries/acre/tokens/ci-token", map[string]string{"status": "disabled"}, nil)
	}},
	{name: "narrow scope map", setup: ciToken, token: true, keepsSession: true, revoke: func(t *testing.T, s *testServer) {
		s.api(http.MethodPut, "/api/v1/registries/acre/scopeMaps/pull-only", map[string]any{"actions": []string{"repositories/other/content/read"}}, nil)
	}},
	{name: "renew admin password", token: true, setup: func(t *testing.T, s *testServer) cred {
		var creds struct {
			Passwords []struct{ Value string } `json:"passwords"`
		}
		s.api(http.MethodPatch, "/api/v1/registries/acre", map[string]bool{"adminUserEnabled": true}, nil)
		s.api(http.MethodPost, "/api/v1/registries/acre/credentials/renew", map[string]string{}, &creds)
		return cred{user: "acre", pass: creds.Passwords[1].Value}
	}, revoke: func(t *testing.T, s *testServer) {
		s.api(http.MethodPost, "/api/v1/registries/acre/credentials/renew", map[string]string{"name": "password"}, nil)
	}},
	{name: "anonymous pull off", anonymous: true, setup: func(t *testing.T, s *testServer) cred {
		s.api(http.MethodPatch, "/api/v1/registries/acre", map[string]bool{"anonymousPullEnabled": true}, nil)
		return cred{}
	}, revoke: func(t *testing.T, s *testServer) {
		s.api(http.MethodPatch, "/api/v1/registries/acre", map[string]bool{"anonymousPullEnabled": false}, nil)
	}},
}

// TestRevocation takes access away in each way on node a and checks that
// sessions and refresh tokens stop at once there and within the cache
// time on node b, and access tokens (already verified and cached on both)
// within 60 s on both, while what was not revoked keeps working.
func TestRevocation(t *testing.T) {
	for _, tc := range revocationCases {
		t.Run(tc.name, func(t *testing.T) {
			a, b := twoNodes(t, nil)
			owner := cred{user: "owner", pass: ownerPass}
			if st := a.push(owner, "app", "v1", newImage("v1", nil)); st != 201 {
				t.Fatalf("push: %d", st)
			}
			c := tc.setup(t, a)
			var session, refresh, access string
			switch {
			case tc.anonymous:
				_, access = a.tokenFor(cred{}, "acre.localhost", "repository:app:pull")
			case tc.token:
				resp, body := a.do(http.MethodGet, "/oauth2/token?service=acre.localhost&access_type=offline&scope=repository:app:pull", c, nil)
				refresh = jsonField(body, "refresh_token")
				access = jsonField(body, "access_token")
				if resp.StatusCode != 200 || refresh == "" {
					t.Fatalf("token sign-in: %d %s", resp.StatusCode, body)
				}
			default:
				session = a.session(c.user, c.pass)
				refresh = a.exchange(session)
				access = a.refreshed(refresh, "repository:app:pull")
			}
			for _, n := range []*testServer{a, b} { // works, and is cached, on both nodes
				if st := n.status(manifestPath, cred{bearer: access}); st != 200 {
					t.Fatalf("access token before revocation: %d", st)
				}
				if refresh != "" && n.refreshed(refresh, "repository:app:pull") == "" {
					t.Fatal("refresh token refused before revocation")
				}
			}
			tc.revoke(t, a)

			dead := func(n *testServer) bool {
				if n.status(manifestPath, cred{bearer: access}) != 401 {
					return false
				}
				if refresh == "" {
					return true
				}
				fresh := n.refreshed(refresh, "repository:app:pull")
				if tc.keepsSession {
					// A refresh never grants more than the principal holds now.
					return fresh != "" && n.status(manifestPath, cred{bearer: fresh}) == 401
				}
				return fresh == "" && (session == "" || n.status("/api/v1/whoami", cred{bearer: session}) == 401)
			}
			if !dead(a) {
				t.Fatal("on the node that revoked: still honoured right after")
			}
			if !within(60*time.Second, func() bool { return dead(b) }) {
				t.Fatal("on the other node: still honoured after 60 s")
			}
			if tc.keepsSession && session != "" && b.status("/api/v1/whoami", cred{bearer: session}) != 200 {
				t.Fatal("removing a role ended the session")
			}
			// The owner's own tokens are untouched.
			if st := b.status(manifestPath, owner); st != 200 {
				t.Fatalf("owner after the revocation: %d", st)
			}
		})
	}
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }

// jsonField returns a string field of a JSON object, "" when absent.
func jsonField(body []byte, name string) string {
	var m map[string]any
	_ = json.Unmarshal(body, &m)
	s, _ := m[name].(string)
	return s
}
