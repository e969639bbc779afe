package oci

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"

	"github.com/acre-project/acre/internal/errcode"
)

// unparse rebuilds the path a route came from.
func unparse(rt route) string {
	switch rt.kind {
	case "ping":
		return "/v2/"
	case "catalog":
		return "/v2/_catalog"
	case "tags":
		return "/v2/" + rt.name + "/tags/list"
	case "manifest":
		return "/v2/" + rt.name + "/manifests/" + rt.arg
	case "blob":
		return "/v2/" + rt.name + "/blobs/" + rt.arg
	case "uploads":
		return "/v2/" + rt.name + "/blobs/uploads/"
	case "upload":
		return "/v2/" + rt.name + "/blobs/uploads/" + rt.arg
	case "referrers":
		return "/v2/" + rt.name + "/referrers/" + rt.arg
	}
	return ""
}

func TestParsePath(t *testing.T) {
	d := digest.FromString("x").String()
	tests := []struct {
		path string
		want route
		ok   bool
	}{
		{"/v2/", route{kind: "ping"}, true},
		{"/v2/_catalog", route{kind: "catalog"}, true},
		{"/v2/a/tags/list", route{kind: "tags", name: "a"}, true},
		{"/v2/a/b/c/tags/list", route{kind: "tags", name: "a/b/c"}, true},
		{"/v2/a/manifests/latest", route{kind: "manifest", name: "a", arg: "latest"}, true},
		{"/v2/tags/manifests/list", route{kind: "manifest", name: "tags", arg: "list"}, true},
		{"/v2/a/manifests/tags/list", route{kind: "tags", name: "a/manifests"}, true},
		{"/v2/a/blobs/" + d, route{kind: "blob", name: "a", arg: d}, true},
		{"/v2/a/blobs/uploads", route{kind: "blob", name: "a", arg: "uploads"}, true},
		{"/v2/a/blobs/uploads/", route{kind: "uploads", name: "a"}, true},
		{"/v2/a/blobs/uploads/id", route{kind: "upload", name: "a", arg: "id"}, true},
		{"/v2/blobs/blobs/uploads/", route{kind: "uploads", name: "blobs"}, true},
		{"/v2/a/referrers/" + d, route{kind: "referrers", name: "a", arg: d}, true},
		{"/v2//tags/list", route{kind: "tags", name: ""}, true},
		{"/v2/_catalog/", route{}, false},
		{"/v2/a", route{}, false},
		{"/v2/a/tags", route{}, false},
		{"/v2/a/blobs/uploads/id/x", route{}, false},
		{"/v3/", route{}, false},
		{"/", route{}, false},
		{"", route{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			got, ok := parsePath(tt.path)
			if ok != tt.ok || got != tt.want {
				t.Fatalf("parsePath(%q) = %+v, %v; want %+v, %v", tt.path, got, ok, tt.want, tt.ok)
			}
		})
	}
}

func FuzzParsePath(f *testing.F) {
	for _, p := range []string{"/v2/", "/v2", "/v2/_catalog", "/v2/a/b/tags/list", "/v2/a/manifests/v1",
		"/v2/a/blobs/sha256:abc", "/v2/a/blobs/uploads/", "/v2/a/blobs/uploads/x", "/v2/a/referrers/sha256:abc",
		"/v2/a/../b/tags/list", "/v2//", "/v2/blobs/uploads/", "/v2/tags/list", "/v2/a/blobs/uploads/../x"} {
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, p string) {
		rt, ok := parsePath(p)
		if !ok {
			return
		}
		if p == "/v2" {
			return // accepted without a route kind
		}
		if _, known := methods[rt.kind]; !known {
			t.Fatalf("parsePath(%q) = unknown kind %q", p, rt.kind)
		}
		if strings.Contains(rt.arg, "/") {
			t.Fatalf("parsePath(%q): argument %q holds a slash", p, rt.arg)
		}
		if back := unparse(rt); back != p {
			t.Fatalf("parsePath(%q) = %+v, which stands for %q", p, rt, back)
		}
	})
}

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
