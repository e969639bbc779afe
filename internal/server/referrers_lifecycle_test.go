package server

import (
	"encoding/json"
	"net/http"
	"testing"
)

// TestReferrersLiveWithTheirSubject checks that retention and purge of
// untagged manifests never delete a referrer (signature, SBOM, a signature
// of the SBOM) whose subject is still there, that deleting the subject
// (by hand or by retention) deletes its referrers with it, and that a
// locked referrer stops its subject's deletion.
func TestReferrersLiveWithTheirSubject(t *testing.T) {
	owner := cred{user: "owner", pass: ownerPass}
	type graph struct{ subject, sig, sbom, sigOfSBOM, unrelated image }
	setup := func(t *testing.T) (*testServer, graph) {
		s := newTestServer(t, nil)
		s.retention(t, map[string]any{"enabled": true, "days": 0}) // counts manifests untagged from now on
		g := graph{subject: newImage("subject", nil), unrelated: newImage("unrelated", nil)}
		g.sig, g.sbom = newImage("signature", &g.subject.digest), newImage("sbom", &g.subject.digest)
		g.sigOfSBOM = newImage("sbom-signature", &g.sbom.digest)
		if st := s.push(owner, "app", "v1", g.subject); st != 201 {
			t.Fatalf("push subject: %d", st)
		}
		for _, img := range []image{g.sig, g.sbom, g.sigOfSBOM, g.unrelated} { // by digest: untagged from the start
			if st := s.push(owner, "app", img.digest.String(), img); st != 201 {
				t.Fatalf("push referrer: %d", st)
			}
		}
		return s, g
	}
	exists := func(s *testServer, img image) bool {
		resp, _ := s.do("HEAD", "/v2/app/manifests/"+img.digest.String(), owner, nil)
		return resp.StatusCode == 200
	}
	referrers := func(s *testServer, subject image) int {
		_, b := s.do("GET", "/v2/app/referrers/"+subject.digest.String(), owner, nil)
		var idx struct{ Manifests []any }
		_ = json.Unmarshal(b, &idx)
		return len(idx.Manifests)
	}
	wantAll := func(t *testing.T, s *testServer, what string, present bool, imgs ...image) {
		t.Helper()
		for _, img := range imgs {
			if exists(s, img) != present {
				t.Fatalf("%s: manifest %s present=%v, want %v", what, img.digest, !present, present)
			}
		}
	}

	t.Run("retention keeps referrers while their subject is there, then takes them with it", func(t *testing.T) {
		s, g := setup(t)
		s.apply(t)
		wantAll(t, s, "after retention", false, g.unrelated)
		wantAll(t, s, "after retention", true, g.subject, g.sig, g.sbom, g.sigOfSBOM)
		s.do("DELETE", "/v2/app/manifests/v1", owner, nil) // the subject loses its tag
		s.apply(t)
		wantAll(t, s, "after the subject aged out", false, g.subject, g.sig, g.sbom, g.sigOfSBOM)
	})
	t.Run("purge --untagged keeps referrers of a present subject", func(t *testing.T) {
		s, g := setup(t)
		var res struct{ Manifests []any }
		s.api(http.MethodPost, "/api/v1/registries/acre/purge",
			map[string]any{"filters": []string{"app:.*"}, "ago": "0d", "untagged": true, "keep": 1}, &res)
		wantAll(t, s, "after purge", false, g.unrelated)
		wantAll(t, s, "after purge", true, g.subject, g.sig, g.sbom, g.sigOfSBOM)
		if referrers(s, g.subject) != 2 || referrers(s, g.sbom) != 1 {
			t.Fatal("referrers lost after purge")
		}
	})
	t.Run("purge of the subject takes its referrers", func(t *testing.T) {
		s, g := setup(t)
		s.api(http.MethodPost, "/api/v1/registries/acre/purge",
			map[string]any{"filters": []string{"app:.*"}, "ago": "0d", "untagged": true}, nil)
		wantAll(t, s, "after purging every tag", false, g.subject, g.sig, g.sbom, g.sigOfSBOM, g.unrelated)
	})
	t.Run("deleting the subject deletes its referrers", func(t *testing.T) {
		s, g := setup(t)
		if resp, b := s.do("DELETE", "/v2/app/manifests/"+g.subject.digest.String(), owner, nil); resp.StatusCode != 202 {
			t.Fatalf("delete: %d %s", resp.StatusCode, b)
		}
		wantAll(t, s, "after deleting the subject", false, g.subject, g.sig, g.sbom, g.sigOfSBOM)
		wantAll(t, s, "after deleting the subject", true, g.unrelated)
		if referrers(s, g.subject) != 0 {
			t.Fatal("referrers listed for a deleted subject")
		}
	})
	t.Run("a locked referrer stops its subject's deletion", func(t *testing.T) {
		s, g := setup(t)
		s.do("PATCH", "/acr/v1/app/_manifests/"+g.sigOfSBOM.digest.String(), owner, []byte(`{"deleteEnabled":false}`))
		if resp, b := s.do("DELETE", "/v2/app/manifests/"+g.subject.digest.String(), owner, nil); resp.StatusCode != 403 {
			t.Fatalf("delete with a locked referrer: %d %s", resp.StatusCode, b)
		}
		s.do("DELETE", "/v2/app/manifests/v1", owner, nil)
		s.apply(t) // skips the subject: a referrer is locked
		wantAll(t, s, "after a refused delete and retention", true, g.subject, g.sig, g.sbom, g.sigOfSBOM)
	})
}
