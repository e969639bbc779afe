package server

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
)

// layerOf returns the layer digest of a newImage.
func layerOf(tag string) digest.Digest { return digest.FromBytes([]byte("layer of " + tag)) }

// TestLockSideDoors checks that read and list locks hold on every path that
// could go around them: a cross-repository mount (named source or any)
// from a read-locked repository, or of a blob only read-locked manifests
// reference, falls back to an upload (202) and links nothing; such a blob
// is not served by digest either; the referrers API and the tag lists of
// /acr/v1/ manifest details leave out what listEnabled=false hides.
func TestLockSideDoors(t *testing.T) {
	s := newTestServer(t, nil)
	owner := cred{user: "owner", pass: ownerPass}
	mustPush := func(repo, ref string, img image) {
		t.Helper()
		if st := s.push(owner, repo, ref, img); st != 201 {
			t.Fatalf("push %s:%s: %d", repo, ref, st)
		}
	}
	patch := func(path, body string) {
		t.Helper()
		if resp, b := s.do("PATCH", path, owner, []byte(body), "Content-Type", "application/json"); resp.StatusCode != 200 {
			t.Fatalf("PATCH %s: %d %s", path, resp.StatusCode, b)
		}
	}
	status := func(method, path string) int {
		t.Helper()
		resp, _ := s.do(method, path, owner, nil)
		return resp.StatusCode
	}

	repoLocked, manLocked := newImage("repo-locked", nil), newImage("manifest-locked", nil)
	mustPush("locked/repo", "v1", repoLocked)
	mustPush("locked/manifest", "v1", manLocked)
	patch("/acr/v1/locked/repo", `{"readEnabled":false}`)
	patch("/acr/v1/locked/manifest/_manifests/"+manLocked.digest.String(), `{"readEnabled":false}`)

	mounts := []struct {
		name, from string
		blob       digest.Digest
	}{
		{"from a read-locked repository", "locked/repo", layerOf("repo-locked")},
		{"any source, read-locked repository", "", layerOf("repo-locked")},
		{"from a repository whose only manifest is read-locked", "locked/manifest", layerOf("manifest-locked")},
		{"any source, only a read-locked manifest", "", layerOf("manifest-locked")},
	}
	for i, tt := range mounts {
		t.Run("mount "+tt.name, func(t *testing.T) {
			dst := "mine/m" + string(rune('a'+i))
			q := "?mount=" + tt.blob.String()
			if tt.from != "" {
				q += "&from=" + tt.from
			}
			if st := status("POST", "/v2/"+dst+"/blobs/uploads/"+q); st != http.StatusAccepted {
				t.Fatalf("mount answered %d, want 202 (an upload session instead)", st)
			}
			if st := status("HEAD", "/v2/"+dst+"/blobs/"+tt.blob.String()); st != http.StatusNotFound {
				t.Fatalf("the blob is in %s after a refused mount: %d", dst, st)
			}
		})
	}
	t.Run("blob GET of a blob only read-locked manifests reference", func(t *testing.T) {
		if st := status("GET", "/v2/locked/manifest/blobs/"+layerOf("manifest-locked").String()); st != http.StatusForbidden {
			t.Fatalf("got %d, want 403", st)
		}
		// Once a readable manifest references it too, it is served and mounts.
		mustPush("locked/manifest", "v2", imageOn([]byte("layer of manifest-locked"), "other-config"))
		if st := status("GET", "/v2/locked/manifest/blobs/"+layerOf("manifest-locked").String()); st != 200 {
			t.Fatalf("after a readable manifest: %d, want 200", st)
		}
		if st := status("POST", "/v2/mine/ok/blobs/uploads/?mount="+layerOf("manifest-locked").String()+"&from=locked/manifest"); st != 201 {
			t.Fatalf("mount after a readable manifest: %d, want 201", st)
		}
	})

	t.Run("referrers leave out listEnabled=false", func(t *testing.T) {
		subject := newImage("subject", nil)
		mustPush("signed", "v1", subject)
		shown, hidden := newImage("shown-sig", &subject.digest), newImage("hidden-sig", &subject.digest)
		mustPush("signed", shown.digest.String(), shown)
		mustPush("signed", hidden.digest.String(), hidden)
		patch("/acr/v1/signed/_manifests/"+hidden.digest.String(), `{"listEnabled":false}`)
		for _, q := range []string{"", "?artifactType=application/vnd.example.signature"} {
			resp, b := s.do("GET", "/v2/signed/referrers/"+subject.digest.String()+q, owner, nil)
			var idx struct{ Manifests []struct{ Digest string } }
			if err := json.Unmarshal(b, &idx); err != nil || resp.StatusCode != 200 {
				t.Fatalf("referrers%s: %d %s", q, resp.StatusCode, b)
			}
			var got []string
			for _, m := range idx.Manifests {
				got = append(got, m.Digest)
			}
			if !slices.Equal(got, []string{shown.digest.String()}) {
				t.Errorf("referrers%s = %v, want only %s", q, got, shown.digest)
			}
		}
	})

	t.Run("manifest details leave out hidden tags", func(t *testing.T) {
		img := newImage("tagged", nil)
		mustPush("details", "public", img)
		mustPush("details", "secret-tag", img)
		patch("/acr/v1/details/_tags/secret-tag", `{"listEnabled":false}`)
		for _, path := range []string{"/acr/v1/details/_manifests", "/acr/v1/details/_manifests/" + img.digest.String()} {
			resp, b := s.do("GET", path, owner, nil)
			if resp.StatusCode != 200 || strings.Contains(string(b), "secret-tag") || !strings.Contains(string(b), "public") {
				t.Errorf("%s: %d %s", path, resp.StatusCode, b)
			}
		}
	})
}
