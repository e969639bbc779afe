package server

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkManifest measures the server's work for a manifest GET or HEAD
// by tag with a bearer token, through the whole handler (authentication,
// routing, metadata, response) without the network, so that a CPU profile
// (go test -run '^$' -bench Manifest -cpuprofile cpu.prof ./internal/server)
// shows where a request's time goes.
func BenchmarkManifest(b *testing.B) {
	s := newTestServer(b, nil)
	owner := cred{user: "owner", pass: ownerPass}
	img := newImage("v1", nil)
	if st := s.push(owner, "bench/app", "v1", img); st != http.StatusCreated {
		b.Fatalf("push: %d", st)
	}
	st, tok := s.tokenFor(owner, "acre.localhost", "repository:bench/app:pull")
	if st != http.StatusOK || tok == "" {
		b.Fatalf("token: %d", st)
	}
	h := s.srv.Handler()
	for _, method := range []string{http.MethodGet, http.MethodHead} {
		b.Run(method, func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					req := httptest.NewRequest(method, "http://127.0.0.1/v2/bench/app/manifests/v1", nil)
					req.Header.Set("Authorization", "Bearer "+tok)
					req.Header.Set("Accept", "application/vnd.oci.image.manifest.v1+json")
					rec := httptest.NewRecorder()
					h.ServeHTTP(rec, req)
					if rec.Code != http.StatusOK || rec.Header().Get("Docker-Content-Digest") != img.digest.String() {
						b.Errorf("%s: %d %s", method, rec.Code, rec.Body.Bytes())
						return
					}
				}
			})
		})
	}
}
