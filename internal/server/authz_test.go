package server

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
)

// op is one data-plane operation the matrix checks; it returns the status.
type op struct {
	name  string
	scope string // the Docker scope a client asks for it
	run   func(s *testServer, c cred) int
	// mount: a refusal is a 202 (the client uploads instead), not an error.
	mount bool
}

// TestAuthorizationMatrix checks every role and token kind against every
// operation, one by one: what ACR allows is allowed and everything else is
// denied (401 for anonymous and bearer callers, so clients restart the
// token flow; 403 for Basic callers), with Basic credentials and with
// tokens from the token flow.
func TestAuthorizationMatrix(t *testing.T) {
	s := newTestServer(t, nil)
	owner := cred{user: "owner", pass: ownerPass}
	base := newImage("base", nil)
	secret := newImage("secret", nil)
	if st := s.push(owner, "app/web", "v1", base); st != 201 {
		t.Fatalf("seed push: %d", st)
	}
	if st := s.push(owner, "secret/db", "v1", secret); st != 201 {
		t.Fatalf("seed push: %d", st)
	}

	// Identities: a user per role at registry scope, one at repository scope,
	// tokens with a user scope map and system scope maps, the admin user.
	users := map[string]string{"Reader": "", "AcrPull": "", "AcrPush": "", "AcrDelete": "", "AcrImageSigner": "", "Contributor": "", "Owner": ""}
	for role := range users {
		name := "u-" + strings.ToLower(role)
		s.api(http.MethodPost, "/api/v1/identities", map[string]string{"name": name, "password": "password-of-" + name}, nil)
		s.api(http.MethodPost, "/api/v1/roleAssignments", map[string]string{"assignee": name, "role": role, "scope": "/registries/acre"}, nil)
		users[role] = name
	}
	s.api(http.MethodPost, "/api/v1/identities", map[string]string{"name": "u-repopush", "password": "password-of-u-repopush"}, nil)
	s.api(http.MethodPost, "/api/v1/roleAssignments", map[string]string{"assignee": "u-repopush", "role": "AcrPush", "scope": "/registries/acre/repositories/app/web"}, nil)
	s.api(http.MethodPost, "/api/v1/identities", map[string]string{"name": "u-none", "password": "password-of-u-none"}, nil)
	s.api(http.MethodPut, "/api/v1/registries/acre/scopeMaps/app-reader", map[string]any{"actions": []string{"repositories/app/web/content/read", "repositories/app/web/metadata/read"}}, nil)
	token := func(name, scopeMap string) cred {
		var out struct {
			Credentials struct {
				Passwords []struct{ Value string } `json:"passwords"`
			} `json:"credentials"`
		}
		s.api(http.MethodPost, "/api/v1/registries/acre/tokens", map[string]string{"name": name, "scopeMap": scopeMap}, &out)
		return cred{user: name, pass: out.Credentials.Passwords[0].Value}
	}
	var admin struct {
		Passwords []struct{ Value string } `json:"passwords"`
	}
	s.api(http.MethodPatch, "/api/v1/registries/acre", map[string]bool{"adminUserEnabled": true}, nil)
	s.api(http.MethodPost, "/api/v1/registries/acre/credentials/renew", map[string]string{}, &admin)

	type who struct {
		name string
		c    cred
		ops  []string // the operations allowed
	}
	pw := func(u string) cred { return cred{user: u, pass: "password-of-" + u} }
	readOps := []string{"pull-manifest", "pull-blob", "list-tags", "catalog"}
	all := []string{"pull-manifest", "pull-blob", "list-tags", "catalog", "push", "mount-readable", "mount-other-repo",
		"delete-tag", "delete-manifest", "delete-blob", "push-signature"}
	whos := []who{
		{"anonymous", cred{}, nil},
		{"wrong password", cred{user: "nobody", pass: "nope"}, nil},
		{"no role", pw("u-none"), nil},
		{"Reader", pw(users["Reader"]), readOps},
		{"AcrPull", pw(users["AcrPull"]), readOps},
		{"AcrPush", pw(users["AcrPush"]), []string{"pull-manifest", "pull-blob", "list-tags", "catalog", "push", "mount-readable", "mount-other-repo", "push-signature"}},
		{"AcrDelete", pw(users["AcrDelete"]), []string{"list-tags", "catalog", "delete-tag", "delete-manifest", "delete-blob"}},
		{"AcrImageSigner", pw(users["AcrImageSigner"]), []string{"pull-manifest", "pull-blob", "list-tags", "catalog", "mount-readable", "mount-other-repo", "push-signature"}},
		{"Contributor", pw(users["Contributor"]), all},
		{"Owner", pw(users["Owner"]), all},
		{"AcrPush on app/web only", pw("u-repopush"), []string{"pull-manifest", "pull-blob", "list-tags", "catalog", "push", "mount-readable", "push-signature"}},
		{"token app-reader", token("tok-reader", "app-reader"), readOps},
		{"token _repositories_pull", token("tok-pull", "_repositories_pull"), readOps},
		{"token _repositories_push", token("tok-push", "_repositories_push"), []string{"pull-manifest", "pull-blob", "list-tags", "catalog", "push", "mount-readable", "mount-other-repo", "push-signature"}},
		{"token _repositories_admin", token("tok-admin", "_repositories_admin"), all},
		{"admin user", cred{user: "acre", pass: admin.Passwords[0].Value}, all},
	}

	n := 0
	for _, w := range whos {
		for _, mode := range []string{"basic", "bearer"} {
			for _, o := range matrixOps(base, secret) {
				n++
				name := w.name + "/" + mode + "/" + o.name
				t.Run(name, func(t *testing.T) {
					// Every case starts from the same seeded state.
					if st := s.push(owner, "app/web", "v1", base); st != 201 {
						t.Fatalf("reseed: %d", st)
					}
					c := w.c
					if mode == "bearer" && c.user != "" {
						c = s.bearer(c, o.scope)
						if c.bearer == "" {
							if len(w.ops) > 0 && w.name != "wrong password" {
								t.Fatalf("no token for %s", w.name)
							}
							return // the token endpoint refused: nothing further can be tried
						}
					}
					got := o.run(s, c)
					allowed := slices.Contains(w.ops, o.name)
					if o.mount && got == http.StatusAccepted {
						if allowed {
							t.Fatalf("%s may %s, but the mount fell back to an upload", w.name, o.name)
						}
						return
					}
					// A signer's token holds all it may have: pushing more is
					// refused for good (403), a new token would not help.
					signerPush := w.name == "AcrImageSigner" && o.name == "push" && got == http.StatusForbidden
					switch {
					case allowed && got >= 400:
						t.Fatalf("%s may %s, got %d", w.name, o.name, got)
					case !allowed && got < 400:
						t.Fatalf("%s may not %s, got %d", w.name, o.name, got)
					case !allowed && (c.bearer != "" || c.user == "") && got != http.StatusUnauthorized && !signerPush:
						t.Fatalf("%s denied %s with %d, want 401 (token flow)", w.name, o.name, got)
					case !allowed && c.user != "" && w.name != "wrong password" && got != http.StatusForbidden:
						t.Fatalf("%s (Basic) denied %s with %d, want 403", w.name, o.name, got)
					}
				})
			}
		}
	}
	t.Logf("%d identity x mode x operation cases", n)
}

// bearer runs the token flow for scope with c's credentials.
func (s *testServer) bearer(c cred, scope string) cred {
	s.t.Helper()
	resp, b := s.do(http.MethodGet, "/oauth2/token?service=acre.localhost&scope="+url.QueryEscape(scope), c, nil)
	if resp.StatusCode != 200 {
		return cred{}
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	_ = json.Unmarshal(b, &tok)
	return cred{bearer: tok.AccessToken}
}

func matrixOps(base, secret image) []op {
	var layer digest.Digest
	for d, b := range base.blobs {
		if strings.HasPrefix(string(b), "layer") {
			layer = d
		}
	}
	var secretLayer digest.Digest
	for d, b := range secret.blobs {
		if strings.HasPrefix(string(b), "layer") {
			secretLayer = d
		}
	}
	status := func(s *testServer, method, path string, c cred) int {
		resp, _ := s.do(method, path, c, nil)
		return resp.StatusCode
	}
	return []op{
		{"pull-manifest", "repository:app/web:pull", func(s *testServer, c cred) int {
			return status(s, http.MethodGet, "/v2/app/web/manifests/v1", c)
		}, false},
		{"pull-blob", "repository:app/web:pull", func(s *testServer, c cred) int {
			return status(s, http.MethodGet, "/v2/app/web/blobs/"+layer.String(), c)
		}, false},
		{"list-tags", "repository:app/web:metadata_read,pull", func(s *testServer, c cred) int {
			return status(s, http.MethodGet, "/v2/app/web/tags/list", c)
		}, false},
		{"catalog", "registry:catalog:*", func(s *testServer, c cred) int {
			resp, b := s.do(http.MethodGet, "/v2/_catalog", c, nil)
			if resp.StatusCode == 200 && strings.Contains(string(b), "secret/db") && c.user != "acre" && !strings.Contains(c.user, "owner") &&
				!strings.Contains(c.user, "contributor") && !strings.Contains(c.user, "admin") {
				return 0 // a repository the caller cannot read leaked into the catalog
			}
			return resp.StatusCode
		}, false},
		{"push", "repository:app/web:pull,push", func(s *testServer, c cred) int {
			return s.push(c, "app/web", "v2", newImage("pushed", nil))
		}, false},
		{"mount-readable", "repository:app/web:pull,push", func(s *testServer, c cred) int {
			resp, _ := s.do(http.MethodPost, "/v2/app/web/blobs/uploads/?mount="+layer.String()+"&from=app/web", c, nil)
			return resp.StatusCode
		}, true},
		{"delete-tag", "repository:app/web:delete", func(s *testServer, c cred) int {
			return status(s, http.MethodDelete, "/v2/app/web/manifests/v1", c)
		}, false},
		{"delete-manifest", "repository:app/web:delete", func(s *testServer, c cred) int {
			return status(s, http.MethodDelete, "/v2/app/web/manifests/"+base.digest.String(), c)
		}, false},
		{"delete-blob", "repository:app/web:delete", func(s *testServer, c cred) int {
			return status(s, http.MethodDelete, "/v2/app/web/blobs/"+layer.String(), c)
		}, false},
		{"push-signature", "repository:app/web:pull,push", func(s *testServer, c cred) int {
			sig := newImage("sig", &base.digest)
			return s.push(c, "app/web", sig.digest.String(), sig)
		}, false},
		// No escalation through a mount: mounting a blob of a repository the
		// caller cannot read falls back to an upload (202), with "from" or
		// without it.
		{"mount-other-repo", "repository:app/web:pull,push", func(s *testServer, c cred) int {
			resp, _ := s.do(http.MethodPost, "/v2/app/web/blobs/uploads/?mount="+secretLayer.String()+"&from=secret/db", c, nil)
			resp2, _ := s.do(http.MethodPost, "/v2/app/web/blobs/uploads/?mount="+secretLayer.String(), c, nil)
			if resp.StatusCode != resp2.StatusCode {
				return 0 // with and without "from" must agree
			}
			if resp.StatusCode == http.StatusCreated {
				// Undo, so the next case starts without the link.
				s.do(http.MethodDelete, "/v2/app/web/blobs/"+secretLayer.String(), cred{user: "owner", pass: ownerPass}, nil)
			}
			return resp.StatusCode
		}, true},
	}
}
