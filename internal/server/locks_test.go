package server

import (
	"net/http"
	"strings"
	"testing"
)

// TestLocks checks that changeable attributes at repository, tag and
// manifest level stop what they must on the OCI API and on /acr/v1/, with
// an error that names the lock.
func TestLocks(t *testing.T) {
	owner := cred{user: "owner", pass: ownerPass}
	tests := []struct {
		name   string
		lock   string // the /acr/v1/ path to PATCH, relative to /acr/v1/app
		attrs  string
		op     func(s *testServer, img image) int
		denied bool
	}{
		{"repo write lock refuses push", "", `{"writeEnabled":false}`, func(s *testServer, _ image) int {
			return s.push(owner, "app", "v2", newImage("v2", nil))
		}, true},
		{"repo write lock refuses delete", "", `{"writeEnabled":false}`, func(s *testServer, img image) int {
			resp, _ := s.do("DELETE", "/v2/app/manifests/"+img.digest.String(), owner, nil)
			return resp.StatusCode
		}, true},
		{"repo write lock allows pull", "", `{"writeEnabled":false}`, func(s *testServer, _ image) int {
			resp, _ := s.do("GET", "/v2/app/manifests/v1", owner, nil)
			return resp.StatusCode
		}, false},
		{"repo delete lock refuses untag", "", `{"deleteEnabled":false}`, func(s *testServer, _ image) int {
			resp, _ := s.do("DELETE", "/acr/v1/app/_tags/v1", owner, nil)
			return resp.StatusCode
		}, true},
		{"repo delete lock refuses repository delete", "", `{"deleteEnabled":false}`, func(s *testServer, _ image) int {
			resp, _ := s.do("DELETE", "/acr/v1/app", owner, nil)
			return resp.StatusCode
		}, true},
		{"repo read lock refuses pull", "", `{"readEnabled":false}`, func(s *testServer, _ image) int {
			resp, _ := s.do("GET", "/v2/app/manifests/v1", owner, nil)
			return resp.StatusCode
		}, true},
		{"repo read lock refuses blob pull", "", `{"readEnabled":false}`, func(s *testServer, img image) int {
			for d := range img.blobs {
				resp, _ := s.do("GET", "/v2/app/blobs/"+d.String(), owner, nil)
				return resp.StatusCode
			}
			return 0
		}, true},
		{"tag write lock refuses overwrite", "/_tags/v1", `{"writeEnabled":false}`, func(s *testServer, _ image) int {
			return s.push(owner, "app", "v1", newImage("other", nil))
		}, true},
		{"tag write lock allows the same digest again", "/_tags/v1", `{"writeEnabled":false}`, func(s *testServer, img image) int {
			return s.push(owner, "app", "v1", img)
		}, false},
		{"tag write lock refuses untag", "/_tags/v1", `{"writeEnabled":false}`, func(s *testServer, _ image) int {
			resp, _ := s.do("DELETE", "/v2/app/manifests/v1", owner, nil)
			return resp.StatusCode
		}, true},
		{"tag write lock refuses deleting its manifest", "/_tags/v1", `{"writeEnabled":false}`, func(s *testServer, img image) int {
			resp, _ := s.do("DELETE", "/v2/app/manifests/"+img.digest.String(), owner, nil)
			return resp.StatusCode
		}, true},
		{"tag read lock refuses pull by tag", "/_tags/v1", `{"readEnabled":false}`, func(s *testServer, _ image) int {
			resp, _ := s.do("GET", "/v2/app/manifests/v1", owner, nil)
			return resp.StatusCode
		}, true},
		{"tag read lock allows pull by digest", "/_tags/v1", `{"readEnabled":false}`, func(s *testServer, img image) int {
			resp, _ := s.do("GET", "/v2/app/manifests/"+img.digest.String(), owner, nil)
			return resp.StatusCode
		}, false},
		{"manifest delete lock refuses delete", "/_manifests/DIGEST", `{"deleteEnabled":false}`, func(s *testServer, img image) int {
			resp, _ := s.do("DELETE", "/v2/app/manifests/"+img.digest.String(), owner, nil)
			return resp.StatusCode
		}, true},
		{"manifest read lock refuses pull by digest and tag", "/_manifests/DIGEST", `{"readEnabled":false}`, func(s *testServer, img image) int {
			resp, _ := s.do("GET", "/v2/app/manifests/v1", owner, nil)
			return resp.StatusCode
		}, true},
		{"manifest delete lock refuses repository delete", "/_manifests/DIGEST", `{"deleteEnabled":false}`, func(s *testServer, _ image) int {
			resp, _ := s.do("DELETE", "/acr/v1/app", owner, nil)
			return resp.StatusCode
		}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newTestServer(t, nil)
			img := newImage("v1", nil)
			if st := s.push(owner, "app", "v1", img); st != 201 {
				t.Fatalf("push: %d", st)
			}
			path := "/acr/v1/app" + strings.ReplaceAll(tt.lock, "DIGEST", img.digest.String())
			if resp, b := s.do("PATCH", path, owner, []byte(tt.attrs), "Content-Type", "application/json"); resp.StatusCode != 200 {
				t.Fatalf("PATCH %s: %d %s", path, resp.StatusCode, b)
			}
			got := tt.op(s, img)
			if tt.denied && got != http.StatusForbidden {
				t.Fatalf("got %d, want 403 DENIED", got)
			}
			if !tt.denied && got >= 300 {
				t.Fatalf("got %d, want success", got)
			}
		})
	}
}

// TestListLock checks that listEnabled=false hides from every listing.
func TestListLock(t *testing.T) {
	s := newTestServer(t, nil)
	owner := cred{user: "owner", pass: ownerPass}
	img := newImage("v1", nil)
	for _, r := range []string{"shown", "hidden"} {
		if st := s.push(owner, r, "v1", img); st != 201 {
			t.Fatalf("push: %d", st)
		}
	}
	if st := s.push(owner, "shown", "secret", img); st != 201 {
		t.Fatalf("push: %d", st)
	}
	s.do("PATCH", "/acr/v1/hidden", owner, []byte(`{"listEnabled":false}`))
	s.do("PATCH", "/acr/v1/shown/_tags/secret", owner, []byte(`{"listEnabled":false}`))
	for _, path := range []string{"/v2/_catalog", "/acr/v1/_catalog", "/v2/shown/tags/list", "/acr/v1/shown/_tags"} {
		resp, b := s.do("GET", path, owner, nil)
		if resp.StatusCode != 200 || strings.Contains(string(b), "hidden") || strings.Contains(string(b), "secret") {
			t.Errorf("%s: %d %s", path, resp.StatusCode, b)
		}
	}
	// Hidden is not gone: it still pulls.
	if resp, _ := s.do("GET", "/v2/hidden/manifests/v1", owner, nil); resp.StatusCode != 200 {
		t.Fatalf("pull of a hidden repository: %d", resp.StatusCode)
	}
}
