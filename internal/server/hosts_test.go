package server

import (
	"bytes"
	"testing"

	"github.com/acre-project/acre/internal/config"
)

// TestHostRoutingIgnoresCase checks that a registry is reached whatever
// the case of its login server, with a port or a trailing dot, on /v2/,
// /acr/v1/ and the token endpoint; and that another registry's content is
// never served in its place.
func TestHostRoutingIgnoresCase(t *testing.T) {
	s := newTestServer(t, func(c *config.Config) { c.Registries = []config.Registry{{Name: "beta"}} })
	owner := cred{user: "owner", pass: ownerPass}
	img := newImage("beta", nil)
	// Pushed through an upper-case host: it must land in beta, not in the default registry.
	for d, b := range img.blobs {
		if resp, body := s.doHost("BETA.LOCALHOST", "POST", "/v2/only-beta/blobs/uploads/?digest="+d.String(), owner, b); resp.StatusCode != 201 {
			t.Fatalf("blob upload via BETA.LOCALHOST: %d %s", resp.StatusCode, body)
		}
	}
	if resp, body := s.doHost("Beta.Localhost:443", "PUT", "/v2/only-beta/manifests/v1", owner, img.manifest,
		"Content-Type", "application/vnd.oci.image.manifest.v1+json"); resp.StatusCode != 201 {
		t.Fatalf("manifest push: %d %s", resp.StatusCode, body)
	}
	for _, host := range []string{"beta.localhost", "BETA.LOCALHOST", "beta.localhost.", "BETA.LOCALHOST.:5000", "Beta.LocalHost:80"} {
		t.Run(host, func(t *testing.T) {
			if resp, body := s.doHost(host, "GET", "/v2/only-beta/manifests/v1", owner, nil); resp.StatusCode != 200 {
				t.Errorf("pull: %d %s", resp.StatusCode, body)
			}
			if resp, body := s.doHost(host, "GET", "/acr/v1/only-beta/_tags", owner, nil); resp.StatusCode != 200 {
				t.Errorf("/acr/v1 tags: %d %s", resp.StatusCode, body)
			}
			resp, _ := s.doHost(host, "GET", "/v2/", cred{}, nil)
			if h := resp.Header.Get("WWW-Authenticate"); !bytes.Contains([]byte(h), []byte(`service="beta.localhost"`)) {
				t.Errorf("challenge %q names another registry", h)
			}
			st, tok := s.tokenFor(owner, host, "repository:only-beta:pull")
			if st != 200 {
				t.Fatalf("token for service %q: %d", host, st)
			}
			if resp, body := s.doHost(host, "GET", "/v2/only-beta/manifests/v1", cred{bearer: tok}, nil); resp.StatusCode != 200 {
				t.Errorf("pull with a token for %q: %d %s", host, resp.StatusCode, body)
			}
		})
	}
	// The default registry does not hold it.
	if resp, _ := s.do("GET", "/v2/only-beta/manifests/v1", owner, nil); resp.StatusCode != 404 {
		t.Errorf("the default registry answers %d for beta's repository", resp.StatusCode)
	}
}
