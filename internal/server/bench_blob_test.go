package server

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkBlobHead measures the server's work for a blob HEAD with a
// bearer token through the whole handler: the blob read checks the link
// and whether read locks hide the blob.
func BenchmarkBlobHead(b *testing.B) {
	s, img, tok := benchPushed(b)
	var path string
	for d := range img.blobs {
		path = "http://127.0.0.1/v2/bench/app/blobs/" + d.String()
	}
	h := s.srv.Handler()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req := httptest.NewRequest(http.MethodHead, path, nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK {
				b.Errorf("HEAD: %d", rec.Code)
				return
			}
		}
	})
}
