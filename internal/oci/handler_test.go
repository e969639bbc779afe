package oci

import (
	"bytes"
	"encoding/json"
	"github.com/acre-project/acre/internal/errcode"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/acre-project/acre/internal/blob/fs"
	"github.com/acre-project/acre/internal/meta/sqlstore"
	"github.com/acre-project/acre/internal/registry"
	"github.com/opencontainers/go-digest"
)

// env is a /v2/ handler on a real registry.Service with filesystem blobs and
// SQLite metadata in a temporary directory, built as internal/server does.
// It serves two registries: "acre" (the default, acre.localhost) and
// "other" (other.localhost).
type env struct {
	t   testing.TB
	h   http.Handler
	dir string
}

const defaultHost = "acre.localhost"

func newEnv(t testing.TB) *env {
	t.Helper()
	ctx := t.Context()
	dir := t.TempDir()
	blobs, err := fs.New(filepath.Join(dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := sqlstore.OpenSQLite(ctx, filepath.Join(dir, "meta.db"), sqlstore.Options{Synchronous: "normal"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	log := slog.New(slog.DiscardHandler)
	svc := registry.New(registry.Options{Meta: m, Blobs: blobs, Uploads: blobs, Log: log, DefaultRegistry: "acre"})
	for _, name := range []string{"acre", "other"} {
		if _, err := svc.EnsureRegistry(ctx, name, name+".localhost", "Standard"); err != nil {
			t.Fatal(err)
		}
	}
	return &env{t: t, h: New(svc, nil, nil, log), dir: dir}
}

// req is one request; Host defaults to the default registry's login server.
type req struct {
	method string
	target string
	body   []byte
	header map[string]string
	host   string
	chunk  bool // send without Content-Length
}

func (e *env) do(r req) *httptest.ResponseRecorder {
	e.t.Helper()
	if r.method == "" {
		r.method = http.MethodGet
	}
	hr := httptest.NewRequest(r.method, r.target, bytes.NewReader(r.body))
	hr = hr.WithContext(e.t.Context())
	hr.Host = defaultHost
	if r.host != "" {
		hr.Host = r.host
	}
	for k, v := range r.header {
		hr.Header.Set(k, v)
	}
	if r.chunk {
		hr.ContentLength = -1
	}
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, hr)
	return rec
}

func (e *env) get(target string) *httptest.ResponseRecorder {
	e.t.Helper()
	return e.do(req{target: target})
}

func wantStatus(t testing.TB, rec *httptest.ResponseRecorder, status int) {
	t.Helper()
	if rec.Code != status {
		t.Fatalf("status = %d, want %d; body %s", rec.Code, status, rec.Body.Bytes())
	}
}

type errorBodyJSON struct {
	Errors []struct {
		Code    string          `json:"code"`
		Message string          `json:"message"`
		Detail  json.RawMessage `json:"detail"`
	} `json:"errors"`
}

// wantError checks an error answer: status, and for all but HEAD a JSON
// body in the spec's shape carrying code (any code when code is empty).
func wantError(t *testing.T, method string, rec *httptest.ResponseRecorder, status int, code errcode.Code) {
	t.Helper()
	if rec.Code != status {
		t.Fatalf("status = %d, want %d; body %s", rec.Code, status, rec.Body.Bytes())
	}
	if method == http.MethodHead {
		if rec.Body.Len() != 0 {
			t.Fatalf("HEAD answered with a body: %q", rec.Body.Bytes())
		}
		return
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("error Content-Type = %q", ct)
	}
	var b errorBodyJSON
	if err := json.Unmarshal(rec.Body.Bytes(), &b); err != nil || len(b.Errors) == 0 {
		t.Fatalf("error body %q is not an OCI error document (%v)", rec.Body.Bytes(), err)
	}
	if b.Errors[0].Message == "" {
		t.Errorf("error without a message: %s", rec.Body.Bytes())
	}
	if code != "" && b.Errors[0].Code != string(code) {
		t.Fatalf("error code = %s, want %s; body %s", b.Errors[0].Code, code, rec.Body.Bytes())
	}
}

// pushBlob uploads content monolithically into repo.
func (e *env) pushBlob(host, repo string, content []byte) digest.Digest {
	e.t.Helper()
	d := digest.FromBytes(content)
	rec := e.do(req{method: http.MethodPost, target: "/v2/" + repo + "/blobs/uploads/?digest=" + d.String(), body: content, host: host})
	if rec.Code != http.StatusCreated {
		e.t.Fatalf("push blob to %s: %d %s", repo, rec.Code, rec.Body.Bytes())
	}
	return d
}

// pushManifest puts body under ref and returns its digest.
func (e *env) pushManifest(host, repo, ref, mediaType string, body []byte) digest.Digest {
	e.t.Helper()
	rec := e.do(req{method: http.MethodPut, target: "/v2/" + repo + "/manifests/" + ref, body: body, host: host,
		header: map[string]string{"Content-Type": mediaType}})
	if rec.Code != http.StatusCreated {
		e.t.Fatalf("push manifest %s:%s: %d %s", repo, ref, rec.Code, rec.Body.Bytes())
	}
	d := digest.FromBytes(body)
	if got := rec.Header().Get("Docker-Content-Digest"); got != d.String() {
		e.t.Fatalf("Docker-Content-Digest = %q, want %s", got, d)
	}
	return d
}

type descJSON struct {
	MediaType    string            `json:"mediaType"`
	Digest       digest.Digest     `json:"digest"`
	Size         int64             `json:"size"`
	ArtifactType string            `json:"artifactType,omitempty"`
	Annotations  map[string]string `json:"annotations,omitempty"`
}

type manifestJSON struct {
	SchemaVersion int               `json:"schemaVersion"`
	MediaType     string            `json:"mediaType"`
	ArtifactType  string            `json:"artifactType,omitempty"`
	Config        *descJSON         `json:"config,omitempty"`
	Layers        []descJSON        `json:"layers,omitempty"`
	Manifests     []descJSON        `json:"manifests,omitempty"`
	Subject       *descJSON         `json:"subject,omitempty"`
	Annotations   map[string]string `json:"annotations,omitempty"`
}

func marshal(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// image builds an OCI image manifest whose config and layer are unique to
// seed, pushing the blobs into repo first unless push is false.
func (e *env) image(host, repo, seed string, push bool) []byte {
	e.t.Helper()
	cfg := []byte(`{"architecture":"amd64","os":"linux","seed":"` + seed + `"}`)
	layer := []byte("layer of " + seed)
	if push {
		e.pushBlob(host, repo, cfg)
		e.pushBlob(host, repo, layer)
	}
	return marshal(e.t, manifestJSON{SchemaVersion: 2, MediaType: registry.MediaTypeOCIManifest,
		Config: &descJSON{MediaType: registry.MediaTypeOCIConfig, Digest: digest.FromBytes(cfg), Size: int64(len(cfg))},
		Layers: []descJSON{{MediaType: "application/vnd.oci.image.layer.v1.tar", Digest: digest.FromBytes(layer), Size: int64(len(layer))}}})
}

// pushImage pushes an image into repo under tag and returns the manifest digest.
func (e *env) pushImage(host, repo, tag, seed string) digest.Digest {
	e.t.Helper()
	return e.pushManifest(host, repo, tag, registry.MediaTypeOCIManifest, e.image(host, repo, seed, true))
}

// startUpload opens an upload session and returns its id.
func (e *env) startUpload(host, repo string) string {
	e.t.Helper()
	rec := e.do(req{method: http.MethodPost, target: "/v2/" + repo + "/blobs/uploads/", host: host})
	wantStatus(e.t, rec, http.StatusAccepted)
	loc := rec.Header().Get("Location")
	id := rec.Header().Get("Docker-Upload-UUID")
	if id == "" || loc != "/v2/"+repo+"/blobs/uploads/"+id {
		e.t.Fatalf("upload Location %q, id %q", loc, id)
	}
	return id
}

func TestPing(t *testing.T) {
	e := newEnv(t)
	rec := e.get("/v2/")
	wantStatus(t, rec, http.StatusOK)
	if rec.Body.String() != "{}" || rec.Header().Get("Docker-Distribution-API-Version") != "registry/2.0" ||
		rec.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("ping = %q, headers %v", rec.Body.String(), rec.Header())
	}
	rec = e.do(req{method: http.MethodHead, target: "/v2/"})
	wantStatus(t, rec, http.StatusOK)
	if rec.Body.Len() != 0 {
		t.Fatalf("HEAD /v2/ body %q", rec.Body.String())
	}
}

// TestBugPingWithoutTrailingSlash: parsePath accepts "/v2" but gives it no
// route kind, so GET /v2 is answered 405 with an empty Allow header. It
// should answer as the ping (200) does, or as an unknown route (404).
func TestBugPingWithoutTrailingSlash(t *testing.T) {
	e := newEnv(t)
	for _, method := range []string{http.MethodGet, http.MethodHead} {
		rec := e.do(req{method: method, target: "/v2"})
		if rec.Code == http.StatusMethodNotAllowed {
			t.Errorf("%s /v2 = 405 with Allow %q; body %s", method, rec.Header().Get("Allow"), rec.Body.Bytes())
			continue
		}
		if rec.Code != http.StatusOK && rec.Code != http.StatusNotFound {
			t.Errorf("%s /v2 = %d", method, rec.Code)
		}
	}
}

// TestHostileRequests sends bad and hostile requests and checks each
// answer's status and OCI error code, that HEAD answers carry no body and
// that nothing ever redirects.
func TestHostileRequests(t *testing.T) {
	e := newEnv(t)
	blobD := e.pushBlob("", "a", []byte("hello"))
	manD := e.pushImage("", "a", "v1", "a1")
	e.pushImage("", "b/c", "v1", "bc1")
	upload := e.startUpload("", "a")
	unknownD := digest.FromString("never pushed")
	long := strings.Repeat("a", 300)
	missingBlob := e.image("", "a", "missing", false)
	index := marshal(t, manifestJSON{SchemaVersion: 2, MediaType: registry.MediaTypeOCIIndex,
		Manifests: []descJSON{{MediaType: registry.MediaTypeOCIManifest, Digest: unknownD, Size: 100}}})
	big := append([]byte(`{"schemaVersion":2,"pad":"`), bytes.Repeat([]byte("x"), registry.DefaultMaxManifestBytes)...)
	big = append(big, `"}`...)
	ct := func(v string) map[string]string { return map[string]string{"Content-Type": v} }
	oci := ct(registry.MediaTypeOCIManifest)
	validManifest := e.image("", "a", "a1", false)

	tests := []struct {
		name   string
		r      req
		status int
		code   errcode.Code
		allow  string
	}{
		// Invalid repository names.
		{"upper-case name", req{target: "/v2/Upper/tags/list"}, 400, errcode.NameInvalid, ""},
		{"dot-dot in name", req{target: "/v2/a/../b/tags/list"}, 400, errcode.NameInvalid, ""},
		{"escaped dot-dot in name", req{target: "/v2/a/%2E%2E/b/tags/list"}, 400, errcode.NameInvalid, ""},
		{"leading dot segment", req{target: "/v2/./a/tags/list"}, 400, errcode.NameInvalid, ""},
		{"trailing dot segment", req{target: "/v2/b/c/./tags/list"}, 400, errcode.NameInvalid, ""},
		{"empty segment", req{target: "/v2/a//b/tags/list"}, 400, errcode.NameInvalid, ""},
		{"leading slash", req{target: "/v2//a/tags/list"}, 400, errcode.NameInvalid, ""},
		{"300-character name", req{target: "/v2/" + long + "/tags/list"}, 400, errcode.NameInvalid, ""},
		{"bad name, manifest GET", req{target: "/v2/Upper/manifests/latest"}, 400, errcode.NameInvalid, ""},
		{"bad name, manifest HEAD", req{method: "HEAD", target: "/v2/a/../b/manifests/latest"}, 400, errcode.NameInvalid, ""},
		{"bad name, manifest PUT", req{method: "PUT", target: "/v2/a/../b/manifests/latest", body: validManifest, header: oci}, 400, errcode.NameInvalid, ""},
		{"bad name, manifest DELETE", req{method: "DELETE", target: "/v2/Upper/manifests/" + manD.String()}, 400, errcode.NameInvalid, ""},
		{"bad name, blob GET", req{target: "/v2/Upper/blobs/" + blobD.String()}, 400, errcode.NameInvalid, ""},
		{"bad name, blob HEAD", req{method: "HEAD", target: "/v2/" + long + "/blobs/" + blobD.String()}, 400, errcode.NameInvalid, ""},
		{"bad name, blob DELETE", req{method: "DELETE", target: "/v2/a//b/blobs/" + blobD.String()}, 400, errcode.NameInvalid, ""},
		{"bad name, upload start", req{method: "POST", target: "/v2/Upper/blobs/uploads/"}, 400, errcode.NameInvalid, ""},
		{"bad name, monolithic upload", req{method: "POST", target: "/v2/a/../b/blobs/uploads/?digest=" + blobD.String(), body: []byte("hello")}, 400, errcode.NameInvalid, ""},
		{"bad name, mount", req{method: "POST", target: "/v2/Upper/blobs/uploads/?mount=" + blobD.String() + "&from=a"}, 400, errcode.NameInvalid, ""},
		{"bad name, referrers", req{target: "/v2/Upper/referrers/" + manD.String()}, 400, errcode.NameInvalid, ""},

		// Dot segments are plain (invalid) path content: never a redirect.
		{"/v2/..", req{target: "/v2/.."}, 404, errcode.Unsupported, ""},
		{"/v2/../v2/", req{target: "/v2/../v2/"}, 404, errcode.Unsupported, ""},
		{"/v2/./", req{target: "/v2/./"}, 404, errcode.Unsupported, ""},
		{"/v2/a/tags/list/..", req{target: "/v2/a/tags/list/.."}, 404, errcode.Unsupported, ""},
		{"manifest reference ..", req{target: "/v2/a/manifests/.."}, 400, errcode.ManifestInvalid, ""},
		{"blob digest ..", req{target: "/v2/a/blobs/.."}, 400, errcode.DigestInvalid, ""},
		{"upload id ..", req{target: "/v2/a/blobs/uploads/.."}, 404, errcode.BlobUploadUnknown, ""},
		{"upload id .", req{method: "PATCH", target: "/v2/a/blobs/uploads/.", body: []byte("x")}, 404, errcode.BlobUploadUnknown, ""},

		// Digests.
		{"short digest", req{target: "/v2/a/blobs/sha256:abc"}, 400, errcode.DigestInvalid, ""},
		{"short digest HEAD", req{method: "HEAD", target: "/v2/a/blobs/sha256:abc"}, 400, errcode.DigestInvalid, ""},
		{"unsupported algorithm", req{target: "/v2/a/blobs/md5:9a0364b9e99bb480dd25e1f0284c8555"}, 400, errcode.DigestInvalid, ""},
		{"upper-case hex", req{target: "/v2/a/blobs/sha256:" + strings.ToUpper(blobD.Encoded())}, 400, errcode.DigestInvalid, ""},
		{"not a digest", req{target: "/v2/a/blobs/latest"}, 400, errcode.DigestInvalid, ""},
		{"bad digest, blob DELETE", req{method: "DELETE", target: "/v2/a/blobs/sha256:zz"}, 400, errcode.DigestInvalid, ""},
		{"bad digest, manifest GET", req{target: "/v2/a/manifests/sha256:zz"}, 400, errcode.DigestInvalid, ""},
		{"bad digest, referrers", req{target: "/v2/a/referrers/sha256:zz"}, 400, errcode.DigestInvalid, ""},
		{"bad digest, mount", req{method: "POST", target: "/v2/a/blobs/uploads/?mount=sha256:zz&from=b/c"}, 400, errcode.DigestInvalid, ""},
		{"bad digest, monolithic upload", req{method: "POST", target: "/v2/a/blobs/uploads/?digest=sha256:zz", body: []byte("x")}, 400, errcode.DigestInvalid, ""},
		{"bad digest, upload commit", req{method: "PUT", target: "/v2/a/blobs/uploads/" + upload + "?digest=sha256:zz"}, 400, errcode.DigestInvalid, ""},
		{"no digest, upload commit", req{method: "PUT", target: "/v2/a/blobs/uploads/" + upload}, 400, errcode.DigestInvalid, ""},

		// Unknown things.
		{"unknown blob", req{target: "/v2/a/blobs/" + unknownD.String()}, 404, errcode.BlobUnknown, ""},
		{"unknown blob HEAD", req{method: "HEAD", target: "/v2/a/blobs/" + unknownD.String()}, 404, errcode.BlobUnknown, ""},
		{"blob in unknown repository", req{target: "/v2/nope/blobs/" + blobD.String()}, 404, errcode.BlobUnknown, ""},
		{"unknown blob DELETE", req{method: "DELETE", target: "/v2/a/blobs/" + unknownD.String()}, 404, errcode.BlobUnknown, ""},
		{"unknown repository tags", req{target: "/v2/nope/tags/list"}, 404, errcode.NameUnknown, ""},
		{"unknown tag", req{target: "/v2/a/manifests/nope"}, 404, errcode.ManifestUnknown, ""},
		{"unknown tag HEAD", req{method: "HEAD", target: "/v2/a/manifests/nope"}, 404, errcode.ManifestUnknown, ""},
		{"unknown manifest digest", req{target: "/v2/a/manifests/" + unknownD.String()}, 404, errcode.ManifestUnknown, ""},
		{"manifest of another repository", req{target: "/v2/b/c/manifests/" + manD.String()}, 404, errcode.ManifestUnknown, ""},
		{"manifest in unknown repository", req{target: "/v2/nope/manifests/latest"}, 404, errcode.NameUnknown, ""},
		{"unknown tag DELETE", req{method: "DELETE", target: "/v2/a/manifests/nope"}, 404, errcode.ManifestUnknown, ""},
		{"unknown manifest DELETE", req{method: "DELETE", target: "/v2/a/manifests/" + unknownD.String()}, 404, errcode.ManifestUnknown, ""},

		// Uploads.
		{"monolithic digest mismatch", req{method: "POST", target: "/v2/a/blobs/uploads/?digest=" + unknownD.String(), body: []byte("other bytes")}, 400, errcode.DigestInvalid, ""},
		{"PATCH at the wrong offset", req{method: "PATCH", target: "/v2/a/blobs/uploads/" + upload, body: []byte("12345"),
			header: map[string]string{"Content-Range": "5-9"}}, 416, errcode.BlobUploadInvalid, ""},
		{"PATCH with a malformed Content-Range", req{method: "PATCH", target: "/v2/a/blobs/uploads/" + upload, body: []byte("12345"),
			header: map[string]string{"Content-Range": "bytes=abc"}}, 416, errcode.BlobUploadInvalid, ""},
		{"PATCH with Content-Range longer than the body", req{method: "PATCH", target: "/v2/a/blobs/uploads/" + upload, body: []byte("12345"),
			header: map[string]string{"Content-Range": "0-9"}}, 416, errcode.BlobUploadInvalid, ""},
		{"PUT commit with the wrong Content-Range", req{method: "PUT", target: "/v2/a/blobs/uploads/" + upload + "?digest=" + blobD.String(), body: []byte("hello"),
			header: map[string]string{"Content-Range": "3-7"}}, 416, errcode.BlobUploadInvalid, ""},
		{"unknown upload GET", req{target: "/v2/a/blobs/uploads/3b241101-e2bb-4255-8caf-4136c566a962"}, 404, errcode.BlobUploadUnknown, ""},
		{"unknown upload PATCH", req{method: "PATCH", target: "/v2/a/blobs/uploads/3b241101-e2bb-4255-8caf-4136c566a962", body: []byte("x")}, 404, errcode.BlobUploadUnknown, ""},
		{"unknown upload PUT", req{method: "PUT", target: "/v2/a/blobs/uploads/3b241101-e2bb-4255-8caf-4136c566a962?digest=" + blobD.String(), body: []byte("hello")}, 404, errcode.BlobUploadUnknown, ""},
		{"unknown upload DELETE", req{method: "DELETE", target: "/v2/a/blobs/uploads/3b241101-e2bb-4255-8caf-4136c566a962"}, 404, errcode.BlobUploadUnknown, ""},
		{"upload from another repository GET", req{target: "/v2/b/c/blobs/uploads/" + upload}, 404, errcode.BlobUploadUnknown, ""},
		{"upload from another repository PATCH", req{method: "PATCH", target: "/v2/b/c/blobs/uploads/" + upload, body: []byte("x")}, 404, errcode.BlobUploadUnknown, ""},
		{"upload from another repository PUT", req{method: "PUT", target: "/v2/b/c/blobs/uploads/" + upload + "?digest=" + digest.FromString("").String()}, 404, errcode.BlobUploadUnknown, ""},
		{"upload from another repository DELETE", req{method: "DELETE", target: "/v2/b/c/blobs/uploads/" + upload}, 404, errcode.BlobUploadUnknown, ""},
		{"upload from another registry", req{target: "/v2/a/blobs/uploads/" + upload, host: "other.localhost"}, 404, errcode.BlobUploadUnknown, ""},
		{"upload id with a slash", req{target: "/v2/a/blobs/uploads/" + upload + "%2F.."}, 404, "", ""},

		// Manifests.
		{"manifest with a missing blob", req{method: "PUT", target: "/v2/a/manifests/missing", body: missingBlob, header: oci}, 400, errcode.ManifestBlobUnknown, ""},
		{"index with a missing child", req{method: "PUT", target: "/v2/a/manifests/idx", body: index, header: ct(registry.MediaTypeOCIIndex)}, 400, errcode.ManifestBlobUnknown, ""},
		{"manifest blob of another repository", req{method: "PUT", target: "/v2/b/c/manifests/x", body: e.image("", "a", "a1", false), header: oci}, 400, errcode.ManifestBlobUnknown, ""},
		{"malformed JSON manifest", req{method: "PUT", target: "/v2/a/manifests/bad", body: []byte(`{"schemaVersion":2,`), header: oci}, 400, errcode.ManifestInvalid, ""},
		{"empty manifest", req{method: "PUT", target: "/v2/a/manifests/bad", header: oci}, 400, errcode.ManifestInvalid, ""},
		{"unknown manifest media type", req{method: "PUT", target: "/v2/a/manifests/bad", body: []byte(`{"schemaVersion":2,"config":{}}`),
			header: ct("application/vnd.docker.distribution.manifest.v1+prettyjws")}, 400, errcode.ManifestInvalid, ""},
		{"Content-Type disagrees with mediaType", req{method: "PUT", target: "/v2/a/manifests/bad", body: validManifest, header: ct(registry.MediaTypeDockerManifest)}, 400, errcode.ManifestInvalid, ""},
		{"manifest over 4 MiB", req{method: "PUT", target: "/v2/a/manifests/big", body: big, header: oci}, 413, "", ""},
		{"manifest over 4 MiB, chunked", req{method: "PUT", target: "/v2/a/manifests/big", body: big, header: oci, chunk: true}, 413, "", ""},
		{"manifest digest mismatch", req{method: "PUT", target: "/v2/a/manifests/" + unknownD.String(), body: validManifest, header: oci}, 400, errcode.DigestInvalid, ""},
		{"invalid tag", req{method: "PUT", target: "/v2/a/manifests/-bad", body: validManifest, header: oci}, 400, "", ""},
		{"invalid extra tag", req{method: "PUT", target: "/v2/a/manifests/" + manD.String() + "?tag=bad!", body: validManifest, header: oci}, 400, "", ""},
		{"digest as extra tag", req{method: "PUT", target: "/v2/a/manifests/x?tag=" + manD.String(), body: validManifest, header: oci}, 400, "", ""},

		// Paging parameters.
		{"tags n=-1", req{target: "/v2/a/tags/list?n=-1"}, 400, errcode.PaginationNumberInvalid, ""},
		{"tags n=abc", req{target: "/v2/a/tags/list?n=abc"}, 400, errcode.PaginationNumberInvalid, ""},
		{"tags n empty", req{target: "/v2/a/tags/list?n="}, 400, errcode.PaginationNumberInvalid, ""},
		{"tags n=1e3", req{target: "/v2/a/tags/list?n=1e3"}, 400, errcode.PaginationNumberInvalid, ""},
		{"tags n overflow", req{target: "/v2/a/tags/list?n=99999999999999999999"}, 400, errcode.PaginationNumberInvalid, ""},
		{"catalog n=-1", req{target: "/v2/_catalog?n=-1"}, 400, errcode.PaginationNumberInvalid, ""},
		{"catalog n=abc", req{target: "/v2/_catalog?n=abc"}, 400, errcode.PaginationNumberInvalid, ""},

		// Unknown routes.
		{"bare name", req{target: "/v2/a"}, 404, errcode.Unsupported, ""},
		{"unknown verb", req{target: "/v2/a/foo/bar"}, 404, errcode.Unsupported, ""},
		{"unknown verb HEAD", req{method: "HEAD", target: "/v2/a/foo/bar"}, 404, errcode.Unsupported, ""},
		{"catalog sub-path", req{target: "/v2/_catalog/x"}, 404, errcode.Unsupported, ""},
		{"v3", req{target: "/v3/"}, 404, errcode.Unsupported, ""},
		{"v2 prefix", req{target: "/v2x/a/tags/list"}, 404, errcode.Unsupported, ""},
		{"manifests without reference", req{target: "/v2/a/manifests"}, 404, errcode.Unsupported, ""},

		// Methods a route does not allow.
		{"POST manifest", req{method: "POST", target: "/v2/a/manifests/v1"}, 405, errcode.Unsupported, "GET, HEAD, PUT, DELETE"},
		{"PATCH blob", req{method: "PATCH", target: "/v2/a/blobs/" + blobD.String()}, 405, errcode.Unsupported, "GET, HEAD, DELETE"},
		{"PUT blob", req{method: "PUT", target: "/v2/a/blobs/" + blobD.String(), body: []byte("hello")}, 405, errcode.Unsupported, "GET, HEAD, DELETE"},
		{"GET uploads", req{target: "/v2/a/blobs/uploads/"}, 405, errcode.Unsupported, "POST"},
		{"POST upload", req{method: "POST", target: "/v2/a/blobs/uploads/" + upload}, 405, errcode.Unsupported, "GET, PATCH, PUT, DELETE"},
		{"POST tags", req{method: "POST", target: "/v2/a/tags/list"}, 405, errcode.Unsupported, "GET"},
		{"HEAD tags", req{method: "HEAD", target: "/v2/a/tags/list"}, 405, errcode.Unsupported, "GET"},
		{"DELETE catalog", req{method: "DELETE", target: "/v2/_catalog"}, 405, errcode.Unsupported, "GET"},
		{"PUT ping", req{method: "PUT", target: "/v2/"}, 405, errcode.Unsupported, "GET, HEAD"},
		{"DELETE referrers", req{method: "DELETE", target: "/v2/a/referrers/" + manD.String()}, 405, errcode.Unsupported, "GET"},
		{"OPTIONS manifest", req{method: "OPTIONS", target: "/v2/a/manifests/v1"}, 405, errcode.Unsupported, "GET, HEAD, PUT, DELETE"},
		{"made-up method", req{method: "BREW", target: "/v2/a/manifests/v1"}, 405, errcode.Unsupported, "GET, HEAD, PUT, DELETE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			method := tt.r.method
			if method == "" {
				method = http.MethodGet
			}
			rec := e.do(tt.r)
			if rec.Code >= 300 && rec.Code < 400 || rec.Header().Get("Location") != "" {
				t.Fatalf("redirect: %d to %q", rec.Code, rec.Header().Get("Location"))
			}
			wantError(t, method, rec, tt.status, tt.code)
			if tt.allow != "" && rec.Header().Get("Allow") != tt.allow {
				t.Errorf("Allow = %q, want %q", rec.Header().Get("Allow"), tt.allow)
			}
		})
	}

	// None of that created or changed anything.
	rec := e.get("/v2/_catalog")
	wantStatus(t, rec, http.StatusOK)
	var cat struct{ Repositories []string }
	if err := json.Unmarshal(rec.Body.Bytes(), &cat); err != nil || !slices.Equal(cat.Repositories, []string{"a", "b/c"}) {
		t.Fatalf("catalog after hostile requests = %s", rec.Body.Bytes())
	}
	rec = e.get("/v2/a/tags/list")
	if !strings.Contains(rec.Body.String(), `"tags":["v1"]`) {
		t.Fatalf("tags of a after hostile requests = %s", rec.Body.Bytes())
	}
	rec = e.get("/v2/a/blobs/uploads/" + upload)
	wantStatus(t, rec, http.StatusNoContent)
	if rec.Header().Get("Range") != "0-0" {
		t.Fatalf("upload Range after refused chunks = %q", rec.Header().Get("Range"))
	}
	// Refused monolithic uploads leave no session behind.
	entries, err := os.ReadDir(filepath.Join(e.dir, "blobs", "uploads"))
	if err != nil || len(entries) != 1 || entries[0].Name() != upload {
		names := []string{}
		for _, en := range entries {
			names = append(names, en.Name())
		}
		t.Fatalf("upload sessions on disk = %v (%v), want only %s", names, err, upload)
	}
}

// TestBugTagsListNZeroSkipsRepositoryCheck: with n=0 the tag list answers
// 200 without looking at the repository, so unknown and invalid names are
// not reported.
func TestBugTagsListNZeroSkipsRepositoryCheck(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		target string
		status int
		code   errcode.Code
	}{
		{"/v2/nope/tags/list?n=0", 404, errcode.NameUnknown},
		{"/v2/Upper/tags/list?n=0", 400, errcode.NameInvalid},
		{"/v2/a/../b/tags/list?n=0", 400, errcode.NameInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.target, func(t *testing.T) {
			wantError(t, http.MethodGet, e.get(tt.target), tt.status, tt.code)
		})
	}
}

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
	if rec.Header().Get("Range") != "0-4" || rec.Header().Get("Location") != loc {
		t.Fatalf("PATCH headers %v", rec.Header())
	}
	rec = e.do(req{method: http.MethodPatch, target: loc, body: content[5:12]}) // no Content-Range: append
	wantStatus(t, rec, http.StatusAccepted)
	if rec.Header().Get("Range") != "0-11" {
		t.Fatalf("Range after second chunk = %q", rec.Header().Get("Range"))
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

	// Cancel.
	id = e.startUpload("", "chunks")
	wantStatus(t, e.do(req{method: http.MethodDelete, target: "/v2/chunks/blobs/uploads/" + id}), http.StatusNoContent)
	wantError(t, "GET", e.get("/v2/chunks/blobs/uploads/"+id), 404, errcode.BlobUploadUnknown)
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

func decodeList(t *testing.T, rec *httptest.ResponseRecorder, field string) []string {
	t.Helper()
	wantStatus(t, rec, http.StatusOK)
	var m map[string]json.RawMessage
	if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil {
		t.Fatalf("list body %q: %v", rec.Body.Bytes(), err)
	}
	if string(m[field]) == "null" || m[field] == nil {
		t.Fatalf("%s is %s in %s; want a list", field, m[field], rec.Body.Bytes())
	}
	var out []string
	if err := json.Unmarshal(m[field], &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestListPaging(t *testing.T) {
	e := newEnv(t)
	tags := []string{"t0", "t1", "t2", "t3", "t4"}
	body := e.image("", "p", "paging", true)
	for _, tag := range tags {
		e.pushManifest("", "p", tag, registry.MediaTypeOCIManifest, body)
	}
	repos := []string{"p", "q", "r/s", "u"}
	for _, r := range repos[1:] {
		e.pushImage("", r, "v1", r)
	}
	e.pushBlob("", "blob-only", []byte("no manifest")) // not in the catalog

	tests := []struct {
		name     string
		base     string
		field    string
		all      []string
		n        int
		wantPage [][]string
	}{
		{"tags by 2", "/v2/p/tags/list", "tags", tags, 2, [][]string{{"t0", "t1"}, {"t2", "t3"}, {"t4"}}},
		{"tags by 5", "/v2/p/tags/list", "tags", tags, 5, [][]string{tags}},
		{"tags by 1", "/v2/p/tags/list", "tags", tags, 1, [][]string{{"t0"}, {"t1"}, {"t2"}, {"t3"}, {"t4"}}},
		{"catalog by 3", "/v2/_catalog", "repositories", repos, 3, [][]string{{"p", "q", "r/s"}, {"u"}}},
		{"catalog by 10", "/v2/_catalog", "repositories", repos, 10, [][]string{repos}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			target := tt.base + "?n=" + itoa(tt.n)
			for i, want := range tt.wantPage {
				rec := e.get(target)
				got := decodeList(t, rec, tt.field)
				if !slices.Equal(got, want) {
					t.Fatalf("page %d (%s) = %q, want %q", i, target, got, want)
				}
				link := rec.Header().Get("Link")
				if i == len(tt.wantPage)-1 {
					if link != "" {
						t.Fatalf("last page has Link %q", link)
					}
					break
				}
				next, ok := strings.CutPrefix(link, "<")
				next, ok2 := strings.CutSuffix(next, `>; rel="next"`)
				if !ok || !ok2 || !strings.HasPrefix(next, tt.base+"?") {
					t.Fatalf("page %d Link = %q", i, link)
				}
				target = next
			}
		})
	}
	// Without n, everything; with last, what follows it; n=0, nothing.
	if got := decodeList(t, e.get("/v2/p/tags/list"), "tags"); !slices.Equal(got, tags) {
		t.Fatalf("all tags = %q", got)
	}
	if got := decodeList(t, e.get("/v2/p/tags/list?last=t2"), "tags"); !slices.Equal(got, []string{"t3", "t4"}) {
		t.Fatalf("tags after t2 = %q", got)
	}
	if got := decodeList(t, e.get("/v2/p/tags/list?last=t4"), "tags"); len(got) != 0 {
		t.Fatalf("tags after t4 = %q", got)
	}
	if got := decodeList(t, e.get("/v2/p/tags/list?n=0"), "tags"); len(got) != 0 {
		t.Fatalf("tags with n=0 = %q", got)
	}
	if got := decodeList(t, e.get("/v2/_catalog?last=q"), "repositories"); !slices.Equal(got, []string{"r/s", "u"}) {
		t.Fatalf("catalog after q = %q", got)
	}
	if got := decodeList(t, e.get("/v2/_catalog?last=zzz"), "repositories"); len(got) != 0 {
		t.Fatalf("catalog after zzz = %q", got)
	}
	// The other registry's catalog is empty, and a list, not null.
	if got := decodeList(t, e.do(req{target: "/v2/_catalog", host: "other.localhost"}), "repositories"); len(got) != 0 {
		t.Fatalf("other registry catalog = %q", got)
	}
	// A repository whose tags were all removed lists no tags.
	e.pushManifest("", "untagged", "only", registry.MediaTypeOCIManifest, e.image("", "untagged", "u", true))
	wantStatus(t, e.do(req{method: http.MethodDelete, target: "/v2/untagged/manifests/only"}), http.StatusAccepted)
	if got := decodeList(t, e.get("/v2/untagged/tags/list"), "tags"); len(got) != 0 {
		t.Fatalf("tags of an untagged repository = %q", got)
	}
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

type referrersJSON struct {
	SchemaVersion int        `json:"schemaVersion"`
	MediaType     string     `json:"mediaType"`
	Manifests     []descJSON `json:"manifests"`
}

func TestReferrers(t *testing.T) {
	e := newEnv(t)
	subject := e.image("", "app", "subject", true)
	sd := e.pushManifest("", "app", "v1", registry.MediaTypeOCIManifest, subject)
	emptyCfg := e.pushBlob("", "app", []byte("{}"))
	sbomCfg := e.pushBlob("", "app", []byte(`{"sbom":true}`))
	layer := e.pushBlob("", "app", []byte("signature bytes"))
	const sig, sbom = "application/vnd.example.signature", "application/vnd.example.sbom"
	artifact := func(artifactType string, cfg descJSON, note string) digest.Digest {
		m := manifestJSON{SchemaVersion: 2, MediaType: registry.MediaTypeOCIManifest, ArtifactType: artifactType, Config: &cfg,
			Layers:      []descJSON{{MediaType: "application/octet-stream", Digest: layer, Size: 15}},
			Subject:     &descJSON{MediaType: registry.MediaTypeOCIManifest, Digest: sd, Size: int64(len(subject))},
			Annotations: map[string]string{"note": note}}
		body := marshal(t, m)
		d := digest.FromBytes(body)
		rec := e.do(req{method: http.MethodPut, target: "/v2/app/manifests/" + d.String(), body: body,
			header: map[string]string{"Content-Type": registry.MediaTypeOCIManifest}})
		wantStatus(t, rec, http.StatusCreated)
		if rec.Header().Get("OCI-Subject") != sd.String() {
			t.Fatalf("OCI-Subject = %q, want %s", rec.Header().Get("OCI-Subject"), sd)
		}
		return d
	}
	a := artifact(sig, descJSON{MediaType: registry.MediaTypeEmpty, Digest: emptyCfg, Size: 2}, "a")
	b := artifact("", descJSON{MediaType: sbom, Digest: sbomCfg, Size: 13}, "b") // typed by its config
	c := artifact(sbom, descJSON{MediaType: registry.MediaTypeEmpty, Digest: emptyCfg, Size: 2}, "c")

	get := func(target string) (referrersJSON, *httptest.ResponseRecorder) {
		t.Helper()
		rec := e.get(target)
		wantStatus(t, rec, http.StatusOK)
		if rec.Header().Get("Content-Type") != registry.MediaTypeOCIIndex {
			t.Fatalf("Content-Type = %q", rec.Header().Get("Content-Type"))
		}
		var idx referrersJSON
		if err := json.Unmarshal(rec.Body.Bytes(), &idx); err != nil || idx.SchemaVersion != 2 || idx.MediaType != registry.MediaTypeOCIIndex || idx.Manifests == nil {
			t.Fatalf("referrers body %s (%v)", rec.Body.Bytes(), err)
		}
		return idx, rec
	}
	digests := func(idx referrersJSON) []string {
		var out []string
		for _, m := range idx.Manifests {
			out = append(out, m.Digest.String())
		}
		slices.Sort(out)
		return out
	}
	sorted := func(ds ...digest.Digest) []string {
		var out []string
		for _, d := range ds {
			out = append(out, d.String())
		}
		slices.Sort(out)
		return out
	}
	tests := []struct {
		query    string
		want     []string
		filtered bool
	}{
		{"", sorted(a, b, c), false},
		{"?artifactType=" + sig, sorted(a), true},
		{"?artifactType=" + sbom, sorted(b, c), true},
		{"?artifactType=application/unknown", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			idx, rec := get("/v2/app/referrers/" + sd.String() + tt.query)
			if got := digests(idx); !slices.Equal(got, tt.want) {
				t.Fatalf("referrers = %q, want %q", got, tt.want)
			}
			if got := rec.Header().Get("OCI-Filters-Applied"); (got == "artifactType") != tt.filtered || (!tt.filtered && got != "") {
				t.Fatalf("OCI-Filters-Applied = %q", got)
			}
		})
	}
	idx, _ := get("/v2/app/referrers/" + sd.String())
	for _, m := range idx.Manifests {
		want := map[digest.Digest]string{a: sig, b: sbom, c: sbom}[m.Digest]
		if m.ArtifactType != want || m.MediaType != registry.MediaTypeOCIManifest || m.Size == 0 || m.Annotations["note"] == "" {
			t.Errorf("descriptor %+v, want artifactType %q", m, want)
		}
	}
	// No referrers, or no repository: an empty index, not an error.
	for _, target := range []string{"/v2/app/referrers/" + digest.FromString("x").String(), "/v2/nope/referrers/" + sd.String()} {
		if idx, _ := get(target); len(idx.Manifests) != 0 {
			t.Fatalf("%s = %v", target, idx.Manifests)
		}
	}
}

func TestHostRouting(t *testing.T) {
	e := newEnv(t)
	d := e.pushImage("acre.localhost", "shared", "v1", "default")
	od := e.pushImage("other.localhost:5000", "shared", "v1", "other")
	tests := []struct {
		host string
		want digest.Digest
	}{
		{"acre.localhost", d},
		{"ACRE.LocalHost", d},
		{"acre.localhost:5000", d},
		{"unknown.example.com", d}, // falls to the default registry
		{"127.0.0.1:5000", d},
		{"[::1]:5000", d},
		{"", d},
		{"other.localhost", od},
		{"OTHER.localhost:443", od},
	}
	for _, tt := range tests {
		t.Run(tt.host, func(t *testing.T) {
			rec := e.do(req{method: http.MethodHead, target: "/v2/shared/manifests/v1", host: tt.host})
			if tt.host == "" {
				hr := httptest.NewRequest(http.MethodHead, "/v2/shared/manifests/v1", nil)
				hr.Host = ""
				rec = httptest.NewRecorder()
				e.h.ServeHTTP(rec, hr)
			}
			wantStatus(t, rec, http.StatusOK)
			if got := rec.Header().Get("Docker-Content-Digest"); got != tt.want.String() {
				t.Fatalf("Host %q served %s, want %s", tt.host, got, tt.want)
			}
		})
	}
	// Each registry's catalog holds only its own repositories.
	e.pushImage("other.localhost", "only-other", "v1", "x")
	if got := decodeList(t, e.do(req{target: "/v2/_catalog", host: "other.localhost"}), "repositories"); !slices.Equal(got, []string{"only-other", "shared"}) {
		t.Fatalf("other catalog = %q", got)
	}
	if got := decodeList(t, e.do(req{target: "/v2/_catalog", host: "elsewhere"}), "repositories"); !slices.Equal(got, []string{"shared"}) {
		t.Fatalf("default catalog = %q", got)
	}
}

func TestNoDefaultRegistry(t *testing.T) {
	dir := t.TempDir()
	blobs, err := fs.New(filepath.Join(dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := sqlstore.OpenSQLite(t.Context(), filepath.Join(dir, "meta.db"), sqlstore.Options{Synchronous: "normal"})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	svc := registry.New(registry.Options{Meta: m, Blobs: blobs, Uploads: blobs})
	if _, err := svc.EnsureRegistry(t.Context(), "only", "only.localhost", "Standard"); err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, h: New(svc, nil, nil, slog.New(slog.DiscardHandler)), dir: dir}
	wantStatus(t, e.do(req{target: "/v2/", host: "only.localhost"}), http.StatusOK)
	wantError(t, "GET", e.do(req{target: "/v2/", host: "unknown.example.com"}), 404, errcode.NameUnknown)
	wantError(t, "HEAD", e.do(req{method: "HEAD", target: "/v2/x/manifests/v1", host: "unknown.example.com"}), 404, errcode.NameUnknown)
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
