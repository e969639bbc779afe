package oci

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/opencontainers/go-digest"

	"github.com/acre-project/acre/internal/errcode"
)

// The /v2/ path grammar is tested in package route (ParseV2).

// FuzzHandler sends arbitrary requests to a populated registry: nothing may
// panic, redirect or fail with a server error, and every error answer other
// than to HEAD must be an OCI error document.
func FuzzHandler(f *testing.F) {
	e := newEnv(f)
	blob := []byte("hello")
	bd := digest.FromBytes(blob)
	for _, step := range []struct{ method, target string }{
		{http.MethodPost, "/v2/a/blobs/uploads/?digest=" + bd.String()},
	} {
		hr := httptest.NewRequest(step.method, step.target, bytes.NewReader(blob))
		hr.Host = defaultHost
		rec := httptest.NewRecorder()
		e.h.ServeHTTP(rec, hr)
		if rec.Code != http.StatusCreated {
			f.Fatalf("setup %s %s: %d %s", step.method, step.target, rec.Code, rec.Body.Bytes())
		}
	}
	methodsList := []string{http.MethodGet, http.MethodHead, http.MethodPut, http.MethodPost, http.MethodPatch, http.MethodDelete, "OPTIONS"}
	seeds := []struct {
		m     uint8
		path  string
		query string
		body  []byte
	}{
		{0, "/v2/", "", nil},
		{0, "/v2/_catalog", "n=1&last=a", nil},
		{0, "/v2/a/tags/list", "n=0", nil},
		{0, "/v2/a/blobs/" + bd.String(), "", nil},
		{1, "/v2/a/blobs/" + bd.String(), "", nil},
		{0, "/v2/a/../b/manifests/latest", "", nil},
		{2, "/v2/a/manifests/v1", "tag=x", []byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"a/b","digest":"` + bd.String() + `","size":5},"layers":[]}`)},
		{2, "/v2/a/manifests/v2", "", []byte(`{"schemaVersion":2,"manifests":[]}`)},
		{3, "/v2/a/blobs/uploads/", "", nil},
		{3, "/v2/b/blobs/uploads/", "mount=" + bd.String() + "&from=a", nil},
		{3, "/v2/b/blobs/uploads/", "mount=" + bd.String(), nil},
		{4, "/v2/a/blobs/uploads/x", "", []byte("abc")},
		{2, "/v2/a/blobs/uploads/x", "digest=" + bd.String(), nil},
		{5, "/v2/a/manifests/v1", "", nil},
		{5, "/v2/a/blobs/" + bd.String(), "", nil},
		{0, "/v2/a/referrers/" + bd.String(), "artifactType=x", nil},
		{6, "/v2/a/tags/list", "", nil},
		{0, "/v2/\x00/tags/list", "", nil},
		{0, "/v2/a/manifests/\xff", "", nil},
		{0, "/v2", "", nil},
	}
	for _, s := range seeds {
		f.Add(s.m, s.path, s.query, s.body)
	}
	f.Fuzz(func(t *testing.T, m uint8, path, query string, body []byte) {
		method := methodsList[int(m)%len(methodsList)]
		hr := httptest.NewRequest(method, "/", bytes.NewReader(body))
		hr.URL.Path, hr.URL.RawQuery = path, query
		hr.Host = defaultHost
		rec := httptest.NewRecorder()
		e.h.ServeHTTP(rec, hr)
		if rec.Code >= 300 && rec.Code < 400 {
			t.Fatalf("%s %q: redirect %d", method, path, rec.Code)
		}
		if rec.Code >= 500 {
			t.Fatalf("%s %q?%s: server error %d %s", method, path, query, rec.Code, rec.Body.Bytes())
		}
		if method == http.MethodHead {
			if rec.Body.Len() != 0 {
				t.Fatalf("HEAD %q answered with a body", path)
			}
			return
		}
		if rec.Code >= 400 {
			var b struct {
				Errors []struct {
					Code errcode.Code `json:"code"`
				} `json:"errors"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &b); err != nil || len(b.Errors) == 0 || b.Errors[0].Code == "" {
				t.Fatalf("%s %q: error body %q", method, path, rec.Body.Bytes())
			}
		}
	})
}
