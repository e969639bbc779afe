package server

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/acre-project/acre/internal/config"
)

func (s *testServer) tokenFor(c cred, service, scope string) (int, string) {
	s.t.Helper()
	resp, b := s.do(http.MethodGet, "/oauth2/token?service="+url.QueryEscape(service)+"&scope="+url.QueryEscape(scope), c, nil)
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	_ = json.Unmarshal(b, &tok)
	return resp.StatusCode, tok.AccessToken
}

func (s *testServer) form(path string, v url.Values) (int, map[string]string) {
	s.t.Helper()
	resp, b := s.do(http.MethodPost, path, cred{}, []byte(v.Encode()), "Content-Type", "application/x-www-form-urlencoded")
	out := map[string]string{}
	_ = json.Unmarshal(b, &out)
	return resp.StatusCode, out
}

// TestChallenge checks the 401 that starts the token flow.
func TestChallenge(t *testing.T) {
	s := newTestServer(t, nil)
	tests := []struct {
		method, path, want string
	}{
		{"GET", "/v2/", `Bearer realm="` + s.ts.URL + `/oauth2/token",service="acre.localhost"`},
		{"GET", "/v2/a/b/tags/list", `,scope="repository:a/b:pull"`},
		{"HEAD", "/v2/a/manifests/v1", `,scope="repository:a:pull"`},
		{"POST", "/v2/a/blobs/uploads/", `,scope="repository:a:pull,push"`},
		{"DELETE", "/v2/a/manifests/v1", `,scope="repository:a:delete"`},
		{"GET", "/v2/_catalog", `,scope="registry:catalog:*"`},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			resp, body := s.do(tt.method, tt.path, cred{}, nil)
			h := resp.Header.Get("WWW-Authenticate")
			if resp.StatusCode != 401 || !strings.Contains(h, tt.want) || !strings.Contains(h, `service="acre.localhost"`) {
				t.Fatalf("%d %q, want 401 with %q", resp.StatusCode, h, tt.want)
			}
			if tt.method != "HEAD" && !strings.Contains(string(body), `"UNAUTHORIZED"`) {
				t.Fatalf("body %s", body)
			}
		})
	}
}

// TestTokenFlows covers ACR's flows: Basic on /oauth2/token, the identity
// token (the CLI's session) exchanged for a refresh token, the refresh token for
// access tokens and as a Docker password, and the denied cases.
func TestTokenFlows(t *testing.T) {
	s := newTestServer(t, func(c *config.Config) { c.Registries = []config.Registry{{Name: "other"}} })
	owner := cred{user: "owner", pass: ownerPass}
	if st := s.push(owner, "app", "v1", newImage("v1", nil)); st != 201 {
		t.Fatalf("push: %d", st)
	}
	identity, err := sessionToken(t.Context(), s.ts, "owner", ownerPass)
	if err != nil {
		t.Fatal(err)
	}
	// The identity token carries no access.
	if resp, _ := s.do("GET", "/v2/app/manifests/v1", cred{bearer: identity}, nil); resp.StatusCode != 401 {
		t.Fatalf("identity token used for a pull: %d", resp.StatusCode)
	}
	_, noScope := s.tokenFor(owner, "acre.localhost", "")
	st, ex := s.form("/oauth2/exchange", url.Values{"grant_type": {"access_token"}, "service": {"acre.localhost"}, "access_token": {identity}})
	refresh := ex["refresh_token"]
	if st != 200 || refresh == "" {
		t.Fatalf("exchange: %d %v", st, ex)
	}
	st, at := s.form("/oauth2/token", url.Values{"grant_type": {"refresh_token"}, "service": {"acre.localhost"},
		"scope": {"repository:app:pull"}, "refresh_token": {refresh}})
	if st != 200 || at["access_token"] == "" {
		t.Fatalf("refresh grant: %d %v", st, at)
	}
	if resp, _ := s.do("GET", "/v2/app/manifests/v1", cred{bearer: at["access_token"]}, nil); resp.StatusCode != 200 {
		t.Fatalf("pull with refreshed token: %d", resp.StatusCode)
	}
	// A token that lacks a scope gets a fresh challenge, never 403.
	resp, _ := s.do("DELETE", "/v2/app/manifests/v1", cred{bearer: at["access_token"]}, nil)
	if resp.StatusCode != 401 || !strings.Contains(resp.Header.Get("WWW-Authenticate"), `scope="repository:app:delete"`) {
		t.Fatalf("token without delete scope: %d %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
	// The refresh token works as a password with the all-zero user name.
	zero := cred{user: "00000000-0000-0000-0000-000000000000", pass: refresh}
	if resp, _ := s.do("GET", "/v2/app/manifests/v1", zero, nil); resp.StatusCode != 200 {
		t.Fatalf("refresh token as Basic password: %d", resp.StatusCode)
	}
	st, pw := s.form("/oauth2/token", url.Values{"grant_type": {"password"}, "service": {"acre.localhost"},
		"scope": {"repository:app:pull"}, "username": {"owner"}, "password": {ownerPass}})
	if st != 200 || pw["access_token"] == "" {
		t.Fatalf("password grant: %d", st)
	}

	denied := []struct {
		name string
		do   func() int
	}{
		{"token of another registry (Host escalation)", func() int {
			_, tok := s.tokenFor(owner, "other.localhost", "repository:app:pull")
			resp, _ := s.do("GET", "/v2/app/manifests/v1", cred{bearer: tok}, nil) // routed to acre
			return resp.StatusCode
		}},
		{"access token where a refresh token is wanted", func() int {
			st, _ := s.form("/oauth2/token", url.Values{"grant_type": {"refresh_token"}, "service": {"acre.localhost"},
				"scope": {"repository:app:pull"}, "refresh_token": {at["access_token"]}})
			return st
		}},
		{"tampered token", func() int {
			resp, _ := s.do("GET", "/v2/app/manifests/v1", cred{bearer: at["access_token"][:len(at["access_token"])-4] + "AAAA"}, nil)
			return resp.StatusCode
		}},
		{"wrong password grant", func() int {
			st, _ := s.form("/oauth2/token", url.Values{"grant_type": {"password"}, "service": {"acre.localhost"}, "username": {"owner"}, "password": {"bad"}})
			return st
		}},
		{"access token exchanged for a refresh token", func() int {
			st, _ := s.form("/oauth2/exchange", url.Values{"grant_type": {"access_token"}, "service": {"acre.localhost"}, "access_token": {noScope}})
			return st
		}},
		{"scoped access token exchanged for a refresh token", func() int {
			st, _ := s.form("/oauth2/exchange", url.Values{"grant_type": {"access_token"}, "service": {"acre.localhost"}, "access_token": {at["access_token"]}})
			return st
		}},
		{"refresh token exchanged for a refresh token", func() int {
			st, _ := s.form("/oauth2/exchange", url.Values{"grant_type": {"access_token"}, "service": {"acre.localhost"}, "access_token": {refresh}})
			return st
		}},
		{"garbage exchange", func() int {
			st, _ := s.form("/oauth2/exchange", url.Values{"grant_type": {"access_token"}, "service": {"acre.localhost"}, "access_token": {"x.y.z"}})
			return st
		}},
		{"anonymous exchange", func() int {
			_, anon := s.tokenFor(cred{}, "acre.localhost", "repository:app:pull")
			st, _ := s.form("/oauth2/exchange", url.Values{"grant_type": {"access_token"}, "service": {"acre.localhost"}, "access_token": {anon}})
			return st
		}},
		{"anonymous token has no pull", func() int {
			_, anon := s.tokenFor(cred{}, "acre.localhost", "repository:app:pull")
			resp, _ := s.do("GET", "/v2/app/manifests/v1", cred{bearer: anon}, nil)
			return resp.StatusCode
		}},
	}
	for _, d := range denied {
		t.Run(d.name, func(t *testing.T) {
			if got := d.do(); got != 401 {
				t.Fatalf("got %d, want 401", got)
			}
		})
	}
}

// TestAdminUserAndAnonymousPull checks the registry settings take effect at once.
func TestAdminUserAndAnonymousPull(t *testing.T) {
	s := newTestServer(t, nil)
	owner := cred{user: "owner", pass: ownerPass}
	if st := s.push(owner, "app", "v1", newImage("v1", nil)); st != 201 {
		t.Fatalf("push: %d", st)
	}
	var creds struct {
		Passwords []struct{ Name, Value string } `json:"passwords"`
	}
	s.api(http.MethodPost, "/api/v1/registries/acre/credentials/renew", map[string]string{}, &creds)
	admin := cred{user: "acre", pass: creds.Passwords[0].Value}
	admin2 := cred{user: "acre", pass: creds.Passwords[1].Value}
	pull := func(c cred) int {
		resp, _ := s.do("GET", "/v2/app/manifests/v1", c, nil)
		return resp.StatusCode
	}
	if got := pull(admin); got != 401 {
		t.Fatalf("admin user while disabled (the default): %d", got)
	}
	s.api(http.MethodPatch, "/api/v1/registries/acre", map[string]bool{"adminUserEnabled": true}, nil)
	if pull(admin) != 200 || pull(admin2) != 200 {
		t.Fatal("admin user enabled: pull refused")
	}
	_, tok := s.tokenFor(admin, "acre.localhost", "repository:app:pull")
	s.api(http.MethodPost, "/api/v1/registries/acre/credentials/renew", map[string]string{"name": "password"}, nil)
	if pull(admin) != 401 || pull(admin2) != 200 {
		t.Fatal("renewing password must stop the old one and keep password2")
	}
	s.api(http.MethodPatch, "/api/v1/registries/acre", map[string]bool{"adminUserEnabled": false}, nil)
	if got := pull(admin2); got != 401 {
		t.Fatalf("admin user after disabling: %d", got)
	}
	if got := pull(cred{bearer: tok}); got != 401 {
		t.Fatalf("admin user's token after disabling: %d", got)
	}

	if got := pull(cred{}); got != 401 {
		t.Fatalf("anonymous pull while off: %d", got)
	}
	s.api(http.MethodPatch, "/api/v1/registries/acre", map[string]bool{"anonymousPullEnabled": true}, nil)
	_, anon := s.tokenFor(cred{}, "acre.localhost", "repository:app:pull,push")
	if got := pull(cred{bearer: anon}); got != 200 {
		t.Fatalf("anonymous pull while on: %d", got)
	}
	if st := s.push(cred{bearer: anon}, "app", "v2", newImage("v2", nil)); st != 401 {
		t.Fatalf("anonymous push: %d", st)
	}
	if resp, _ := s.do("DELETE", "/v2/app/manifests/v1", cred{bearer: anon}, nil); resp.StatusCode != 401 {
		t.Fatalf("anonymous delete: %d", resp.StatusCode)
	}
	_, anonCatalog := s.tokenFor(cred{}, "acre.localhost", "registry:catalog:*")
	if resp, _ := s.do("GET", "/v2/_catalog", cred{bearer: anonCatalog}, nil); resp.StatusCode != 200 {
		t.Fatalf("anonymous catalog with anonymous pull on (ACR's clients list): %d", resp.StatusCode)
	}
}

// TestBootstrapAndSecrets checks the first owner, the hashed storage of
// secrets and the throttling of failed logins.
func TestBootstrapAndSecrets(t *testing.T) {
	dir := t.TempDir()
	s := newTestServer(t, func(c *config.Config) { c.Data = dir })
	if b := s.srv.Bootstrapped(); !b.Created || b.User != "owner" || b.Password != "" {
		t.Fatalf("bootstrap with given credentials: %+v", b)
	}
	db, err := os.ReadFile(filepath.Join(dir, "meta.db"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(db), ownerPass) {
		t.Fatal("a password is stored in clear")
	}
	// A generated owner password is written to a file only its owner reads.
	dir2 := t.TempDir()
	cfg := config.Default()
	cfg.Data = dir2
	srv, err := New(t.Context(), cfg, slog.New(slog.DiscardHandler), "", "")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	b := srv.Bootstrapped()
	var resp *http.Response
	fi, err := os.Stat(filepath.Join(dir2, "bootstrap-owner.txt"))
	if err != nil || fi.Mode().Perm() != 0o600 || b.Password == "" {
		t.Fatalf("bootstrap file: %v %v %+v", fi, err, b)
	}

	s.api(http.MethodPost, "/api/v1/identities", map[string]string{"name": "auditor", "password": "auditor-password"}, nil)
	s.api(http.MethodPost, "/api/v1/roleAssignments", map[string]string{"assignee": "auditor", "role": "Reader", "scope": "/"}, nil)
	// Throttling: after repeated failures, even the right password waits.
	for range 6 {
		s.do("GET", "/v2/_catalog", cred{user: "owner", pass: "wrong"}, nil)
	}
	resp, _ = s.do("GET", "/v2/_catalog", cred{user: "owner", pass: ownerPass}, nil)
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("after failures: %d %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	var audit []struct {
		Category, Identity string
		Result             string `json:"resultType"`
	}
	resp, body := s.do(http.MethodGet, "/api/v1/registries/acre/audit?category=login", cred{user: "auditor", pass: "auditor-password"}, nil)
	if err := json.Unmarshal(body, &audit); err != nil || resp.StatusCode != 200 {
		t.Fatalf("audit: %d %s", resp.StatusCode, body)
	}
	failed := 0
	for _, e := range audit {
		if e.Identity == "owner" && e.Result == "Failed" {
			failed++
		}
	}
	if failed < 5 {
		t.Fatalf("audit log has %d failed logins: %+v", failed, audit)
	}
}

// TestKeyRotation checks that rotating keys keeps tokens in date valid.
func TestKeyRotation(t *testing.T) {
	s := newTestServer(t, nil)
	owner := cred{user: "owner", pass: ownerPass}
	if st := s.push(owner, "app", "v1", newImage("v1", nil)); st != 201 {
		t.Fatalf("push: %d", st)
	}
	_, before := s.tokenFor(owner, "acre.localhost", "repository:app:pull")
	s.api(http.MethodPost, "/api/v1/signingKeys/rotate", nil, nil)
	_, after := s.tokenFor(owner, "acre.localhost", "repository:app:pull")
	if strings.Split(before, ".")[0] == strings.Split(after, ".")[0] {
		t.Fatal("rotation did not change the signing key")
	}
	for _, tok := range []string{before, after} {
		if resp, _ := s.do("GET", "/v2/app/manifests/v1", cred{bearer: tok}, nil); resp.StatusCode != 200 {
			t.Fatalf("token after rotation: %d", resp.StatusCode)
		}
	}
}
