package server

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
)

// BenchmarkManifest measures the server's work for a manifest GET or HEAD
// by tag with a bearer token, through the whole handler (authentication,
// routing, metadata, response) without the network, so that a CPU profile
// (go test -run '^$' -bench Manifest -cpuprofile cpu.prof ./internal/server)
// shows where a request's time goes.
func BenchmarkManifest(b *testing.B) {
	s, img, tok := benchPushed(b)
	h := s.srv.Handler()
	for _, method := range []string{http.MethodGet, http.MethodHead} {
		b.Run(method, func(b *testing.B) {
			b.ReportAllocs()
			defer reportCPU(b)()
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

// BenchmarkPushSmall measures pushing small images (three 64 KiB layers, a
// config and a manifest; POST then PUT per blob, as Docker does) from 8
// concurrent clients with a bearer token, through HTTP, on the embedded
// stores with their durable defaults.
func BenchmarkPushSmall(b *testing.B) {
	s := newTestServer(b, nil)
	owner := cred{user: "owner", pass: ownerPass}
	st, tok := s.tokenFor(owner, "acre.localhost", "repository:bench/small:pull,push")
	if st != http.StatusOK || tok == "" {
		b.Fatalf("token: %d", st)
	}
	c := cred{bearer: tok}
	var n atomic.Int64
	b.SetParallelism(4) // 8 clients on 2 CPUs
	defer reportCPU(b)()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			img := smallImage(i)
			for d, body := range img.blobs {
				resp, _ := s.do(http.MethodPost, "/v2/bench/small/blobs/uploads/", c, nil)
				if resp.StatusCode != http.StatusAccepted {
					b.Errorf("POST: %d", resp.StatusCode)
					return
				}
				loc := resp.Header.Get("Location")
				sep := "?"
				if strings.Contains(loc, "?") {
					sep = "&"
				}
				if resp, _ = s.do(http.MethodPut, strings.TrimPrefix(loc, s.ts.URL)+sep+"digest="+d.String(), c, body); resp.StatusCode != http.StatusCreated {
					b.Errorf("PUT: %d", resp.StatusCode)
					return
				}
			}
			resp, _ := s.do(http.MethodPut, fmt.Sprintf("/v2/bench/small/manifests/t%d", i), c, img.manifest,
				"Content-Type", "application/vnd.oci.image.manifest.v1+json")
			if resp.StatusCode != http.StatusCreated {
				b.Errorf("manifest PUT: %d", resp.StatusCode)
				return
			}
		}
	})
}

// smallImage is image i: three random 64 KiB layers and a config.
func smallImage(i int64) image {
	blobs := map[digest.Digest][]byte{}
	var layers []any
	for range 3 {
		l := make([]byte, 64<<10)
		_, _ = rand.Read(l)
		d := digest.FromBytes(l)
		blobs[d] = l
		layers = append(layers, map[string]any{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": d, "size": len(l)})
	}
	cfg := fmt.Appendf(nil, `{"architecture":"amd64","os":"linux","n":%d}`, i)
	blobs[digest.FromBytes(cfg)] = cfg
	m, _ := json.Marshal(map[string]any{
		"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
		"config": map[string]any{"mediaType": "application/vnd.oci.image.config.v1+json", "digest": digest.FromBytes(cfg), "size": len(cfg)},
		"layers": layers,
	})
	return image{manifest: m, digest: digest.FromBytes(m), blobs: blobs}
}

// reportCPU resets the timer and returns a function that reports this
// process's CPU time (server and client together) per operation: on a busy
// machine it varies less than the wall time.
func reportCPU(b *testing.B) func() {
	cpu := func() time.Duration {
		var ru syscall.Rusage
		_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	b.ResetTimer()
	start := cpu()
	return func() {
		b.ReportMetric(float64((cpu()-start).Microseconds())/float64(b.N), "cpu-µs/op")
	}
}

// benchPushed starts a test server, pushes one image as bench/app:v1 and
// returns the server, the image and a bearer token that may pull it.
func benchPushed(b *testing.B) (*testServer, image, string) {
	b.Helper()
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
	return s, img, tok
}
