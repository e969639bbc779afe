package oci

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/acre-project/acre/internal/errcode"

	"github.com/acre-project/acre/internal/registry"
	"github.com/opencontainers/go-digest"
)

func TestPushPull(t *testing.T) {
	e := newEnv(t)
	body := e.image("", "lib/app", "pp", true)
	d := e.pushManifest("", "lib/app", "latest", registry.MediaTypeOCIManifest, body)

	for _, ref := range []string{"latest", d.String()} {
		rec := e.get("/v2/lib/app/manifests/" + ref)
		wantStatus(t, rec, http.StatusOK)
		if !bytes.Equal(rec.Body.Bytes(), body) {
			t.Fatalf("GET %s body differs", ref)
		}
		h := rec.Header()
		if h.Get("Content-Type") != registry.MediaTypeOCIManifest || h.Get("Docker-Content-Digest") != d.String() {
			t.Fatalf("GET %s headers %v", ref, h)
		}
		rec = e.do(req{method: http.MethodHead, target: "/v2/lib/app/manifests/" + ref})
		wantStatus(t, rec, http.StatusOK)
		if rec.Body.Len() != 0 || rec.Header().Get("Content-Length") != itoa(len(body)) || rec.Header().Get("Docker-Content-Digest") != d.String() {
			t.Fatalf("HEAD %s = %q, headers %v", ref, rec.Body.Bytes(), rec.Header())
		}
	}
	// Pushing the same manifest again, by digest, is fine.
	e.pushManifest("", "lib/app", d.String(), registry.MediaTypeOCIManifest, body)

	// Untagging keeps the manifest; deleting by digest removes it and its tags.
	wantStatus(t, e.do(req{method: http.MethodDelete, target: "/v2/lib/app/manifests/latest"}), http.StatusAccepted)
	wantError(t, "GET", e.get("/v2/lib/app/manifests/latest"), 404, errcode.ManifestUnknown)
	wantStatus(t, e.get("/v2/lib/app/manifests/"+d.String()), http.StatusOK)
	e.pushManifest("", "lib/app", "again", registry.MediaTypeOCIManifest, body)
	wantStatus(t, e.do(req{method: http.MethodDelete, target: "/v2/lib/app/manifests/" + d.String()}), http.StatusAccepted)
	wantError(t, "GET", e.get("/v2/lib/app/manifests/"+d.String()), 404, errcode.ManifestUnknown)
	wantError(t, "GET", e.get("/v2/lib/app/manifests/again"), 404, errcode.ManifestUnknown)

	// Deleting a blob unlinks it from the repository.
	layer := digest.FromString("layer of pp")
	wantStatus(t, e.get("/v2/lib/app/blobs/"+layer.String()), http.StatusOK)
	wantStatus(t, e.do(req{method: http.MethodDelete, target: "/v2/lib/app/blobs/" + layer.String()}), http.StatusAccepted)
	wantError(t, "GET", e.get("/v2/lib/app/blobs/"+layer.String()), 404, errcode.BlobUnknown)
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

func TestChunkedUpload(t *testing.T) {
	e := newEnv(t)
	content := []byte("0123456789abcdefghij")
	d := digest.FromBytes(content)
	id := e.startUpload("", "chunks")
	loc := "/v2/chunks/blobs/uploads/" + id

	rec := e.do(req{method: http.MethodPatch, target: loc, body: content[:5], header: map[string]string{"Content-Range": "0-4"}})
	wantStatus(t, rec, http.StatusAccepted)
	// The first chunk stores the session, under the id the answer names.
	stored := rec.Header().Get("Location")
	if rec.Header().Get("Range") != "0-4" || !strings.HasPrefix(stored, "/v2/chunks/blobs/uploads/") || stored == loc ||
		!strings.HasSuffix(stored, "/"+rec.Header().Get("Docker-Upload-UUID")) {
		t.Fatalf("PATCH headers %v", rec.Header())
	}
	loc = stored
	rec = e.do(req{method: http.MethodPatch, target: loc, body: content[5:8], header: map[string]string{"Content-Range": "5-7"}})
	wantStatus(t, rec, http.StatusAccepted)
	if rec.Header().Get("Range") != "0-7" || rec.Header().Get("Location") != loc {
		t.Fatalf("second PATCH headers %v", rec.Header())
	}
	rec = e.do(req{method: http.MethodPatch, target: loc, body: content[8:12]}) // no Content-Range: append
	wantStatus(t, rec, http.StatusAccepted)
	if rec.Header().Get("Range") != "0-11" {
		t.Fatalf("Range after third chunk = %q", rec.Header().Get("Range"))
	}
	rec = e.get(loc)
	wantStatus(t, rec, http.StatusNoContent)
	if rec.Header().Get("Range") != "0-11" {
		t.Fatalf("status Range = %q", rec.Header().Get("Range"))
	}
	// A wrong digest on commit keeps the session usable.
	wantError(t, "PUT", e.do(req{method: http.MethodPut, target: loc + "?digest=" + digest.FromString("nope").String()}), 400, errcode.DigestInvalid)
	rec = e.get(loc)
	wantStatus(t, rec, http.StatusNoContent)
	// The last chunk comes with the commit.
	rec = e.do(req{method: http.MethodPut, target: loc + "?digest=" + d.String(), body: content[12:], header: map[string]string{"Content-Range": "12-19"}})
	wantStatus(t, rec, http.StatusCreated)
	if rec.Header().Get("Location") != "/v2/chunks/blobs/"+d.String() || rec.Header().Get("Docker-Content-Digest") != d.String() {
		t.Fatalf("commit headers %v", rec.Header())
	}
	rec = e.get("/v2/chunks/blobs/" + d.String())
	wantStatus(t, rec, http.StatusOK)
	if !bytes.Equal(rec.Body.Bytes(), content) {
		t.Fatalf("blob = %q", rec.Body.Bytes())
	}
	// The session is over.
	wantError(t, "GET", e.get(loc), 404, errcode.BlobUploadUnknown)

	// Cancel a session holding bytes: it is gone.
	id = e.startUpload("", "chunks")
	rec = e.do(req{method: http.MethodPatch, target: "/v2/chunks/blobs/uploads/" + id, body: content[:3]})
	wantStatus(t, rec, http.StatusAccepted)
	loc = rec.Header().Get("Location")
	wantStatus(t, e.do(req{method: http.MethodDelete, target: loc}), http.StatusNoContent)
	wantError(t, "GET", e.get(loc), 404, errcode.BlobUploadUnknown)
	// Cancelling a session without bytes is accepted; there is nothing to remove.
	id = e.startUpload("", "chunks")
	wantStatus(t, e.do(req{method: http.MethodDelete, target: "/v2/chunks/blobs/uploads/" + id}), http.StatusNoContent)
}

func TestPathEscapedRepositoryName(t *testing.T) {
	e := newEnv(t)
	d := e.pushImage("", "a/b", "v1", "escaped")
	rec := e.get("/v2/a%2Fb/tags/list")
	wantStatus(t, rec, http.StatusOK)
	var tl struct {
		Name string
		Tags []string
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &tl); err != nil || tl.Name != "a/b" || !slices.Equal(tl.Tags, []string{"v1"}) {
		t.Fatalf("tags list = %s", rec.Body.Bytes())
	}
	wantStatus(t, e.get("/v2/a%2Fb/manifests/v1"), http.StatusOK)
	wantStatus(t, e.get("/v2/a%2fb/manifests/"+d.String()), http.StatusOK)
}

func TestBlobVisibility(t *testing.T) {
	e := newEnv(t)
	secret := []byte("only in repository a")
	d := e.pushBlob("", "a", secret)
	e.pushImage("", "b", "v1", "b") // b exists
	for _, method := range []string{http.MethodGet, http.MethodHead} {
		for _, repo := range []string{"b", "nope", "a/x"} {
			rec := e.do(req{method: method, target: "/v2/" + repo + "/blobs/" + d.String()})
			wantError(t, method, rec, 404, errcode.BlobUnknown)
		}
		rec := e.do(req{method: method, target: "/v2/a/blobs/" + d.String(), host: "other.localhost"})
		wantError(t, method, rec, 404, errcode.BlobUnknown)
	}
	wantStatus(t, e.get("/v2/a/blobs/"+d.String()), http.StatusOK)

	// Another registry cannot mount it: the client gets an upload session instead.
	rec := e.do(req{method: http.MethodPost, target: "/v2/b/blobs/uploads/?mount=" + d.String() + "&from=a", host: "other.localhost"})
	wantStatus(t, rec, http.StatusAccepted)
	rec = e.do(req{method: http.MethodPost, target: "/v2/b/blobs/uploads/?mount=" + d.String(), host: "other.localhost"})
	wantStatus(t, rec, http.StatusAccepted)
	// A wrong source repository does not mount either.
	rec = e.do(req{method: http.MethodPost, target: "/v2/b/blobs/uploads/?mount=" + d.String() + "&from=nope"})
	wantStatus(t, rec, http.StatusAccepted)
	wantError(t, "GET", e.get("/v2/b/blobs/"+d.String()), 404, errcode.BlobUnknown)
	// Mounting from a in the same registry links it into b.
	rec = e.do(req{method: http.MethodPost, target: "/v2/b/blobs/uploads/?mount=" + d.String() + "&from=a"})
	wantStatus(t, rec, http.StatusCreated)
	rec = e.get("/v2/b/blobs/" + d.String())
	wantStatus(t, rec, http.StatusOK)
	if !bytes.Equal(rec.Body.Bytes(), secret) {
		t.Fatalf("mounted blob = %q", rec.Body.Bytes())
	}
	// Unlinking from a leaves b's link.
	wantStatus(t, e.do(req{method: http.MethodDelete, target: "/v2/a/blobs/" + d.String()}), http.StatusAccepted)
	wantStatus(t, e.get("/v2/b/blobs/"+d.String()), http.StatusOK)
	wantError(t, "GET", e.get("/v2/a/blobs/"+d.String()), 404, errcode.BlobUnknown)
}

func TestRangeRequests(t *testing.T) {
	e := newEnv(t)
	content := []byte("0123456789")
	d := e.pushBlob("", "r", content)
	target := "/v2/r/blobs/" + d.String()
	tests := []struct {
		rng          string
		status       int
		body         string
		contentRange string
	}{
		{"", 200, "0123456789", ""},
		{"bytes=0-0", 206, "0", "bytes 0-0/10"},
		{"bytes=2-5", 206, "2345", "bytes 2-5/10"},
		{"bytes=7-", 206, "789", "bytes 7-9/10"},
		{"bytes=-3", 206, "789", "bytes 7-9/10"},
		{"bytes=5-100", 206, "56789", "bytes 5-9/10"},
		{"bytes=-100", 206, "0123456789", "bytes 0-9/10"},
		{"bytes=10-", 416, "", "bytes */10"},
		{"bytes=20-30", 416, "", "bytes */10"},
		{"bytes=5-2", 416, "", "bytes */10"},
		{"bytes=-0", 416, "", "bytes */10"},
		{"bytes=0-1,3-4", 200, "0123456789", ""},
		{"items=0-1", 200, "0123456789", ""},
		{"bytes=a-b", 200, "0123456789", ""},
	}
	for _, tt := range tests {
		t.Run(tt.rng, func(t *testing.T) {
			rec := e.do(req{target: target, header: map[string]string{"Range": tt.rng}})
			if rec.Code != tt.status {
				t.Fatalf("status = %d, want %d; body %q", rec.Code, tt.status, rec.Body.Bytes())
			}
			if got := rec.Header().Get("Content-Range"); got != tt.contentRange {
				t.Errorf("Content-Range = %q, want %q", got, tt.contentRange)
			}
			if tt.status == 416 {
				return
			}
			if rec.Body.String() != tt.body {
				t.Errorf("body = %q, want %q", rec.Body.String(), tt.body)
			}
			if rec.Header().Get("Content-Length") != itoa(len(tt.body)) {
				t.Errorf("Content-Length = %q for %d bytes", rec.Header().Get("Content-Length"), len(tt.body))
			}
			if rec.Header().Get("Accept-Ranges") != "bytes" || rec.Header().Get("Docker-Content-Digest") != d.String() {
				t.Errorf("headers %v", rec.Header())
			}
		})
	}
	// The empty blob: any range is unsatisfiable, no range is the empty body.
	empty := e.pushBlob("", "r", nil)
	rec := e.get("/v2/r/blobs/" + empty.String())
	wantStatus(t, rec, http.StatusOK)
	if rec.Body.Len() != 0 {
		t.Fatalf("empty blob body %q", rec.Body.Bytes())
	}
	rec = e.do(req{target: "/v2/r/blobs/" + empty.String(), header: map[string]string{"Range": "bytes=0-"}})
	wantStatus(t, rec, http.StatusRequestedRangeNotSatisfiable)
	// HEAD ignores Range and reports the whole size.
	rec = e.do(req{method: http.MethodHead, target: target, header: map[string]string{"Range": "bytes=2-5"}})
	wantStatus(t, rec, http.StatusOK)
	if rec.Header().Get("Content-Length") != "10" || rec.Body.Len() != 0 {
		t.Fatalf("HEAD = %v, body %q", rec.Header(), rec.Body.Bytes())
	}
}

func TestBlobBodyStreams(t *testing.T) {
	e := newEnv(t)
	content := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
	d := digest.FromBytes(content)
	rec := e.do(req{method: http.MethodPost, target: "/v2/big/blobs/uploads/?digest=" + d.String(), body: content, chunk: true})
	wantStatus(t, rec, http.StatusCreated)
	rec = e.get("/v2/big/blobs/" + d.String())
	wantStatus(t, rec, http.StatusOK)
	got, _ := io.ReadAll(rec.Body)
	if !bytes.Equal(got, content) {
		t.Fatal("blob content differs")
	}
}

// TestBugBlobErrorsCarryCacheHeaders: getBlob sets the headers of a
// successful answer (a year-long Cache-Control, ETag, Docker-Content-Digest)
// before it knows the blob is there, so "blob unknown" answers go out
// marked cacheable for a year: a cache in front of the registry would keep
// answering 404 after the blob is pushed.
func TestBugBlobErrorsCarryCacheHeaders(t *testing.T) {
	e := newEnv(t)
	d := e.pushBlob("", "a", []byte("in a only"))
	for _, method := range []string{http.MethodGet, http.MethodHead} {
		for _, target := range []string{
			"/v2/a/blobs/" + digest.FromString("not yet pushed").String(),
			"/v2/b/blobs/" + d.String(),
		} {
			t.Run(method+" "+target, func(t *testing.T) {
				rec := e.do(req{method: method, target: target})
				wantError(t, method, rec, 404, errcode.BlobUnknown)
				for _, h := range []string{"Cache-Control", "ETag", "Docker-Content-Digest"} {
					if v := rec.Header().Get(h); v != "" && !(h == "Cache-Control" && strings.Contains(v, "no-")) {
						t.Errorf("404 answer carries %s: %s", h, v)
					}
				}
			})
		}
	}
}
