package oci

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/acre-project/acre/internal/errcode"

	"github.com/acre-project/acre/internal/registry"
	"github.com/opencontainers/go-digest"
)

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
	// Refused monolithic uploads and refused chunks leave no file behind
	// (the session, which never held bytes, has none).
	entries, err := os.ReadDir(filepath.Join(e.dir, "blobs", "uploads"))
	if err != nil || len(entries) != 0 {
		names := []string{}
		for _, en := range entries {
			names = append(names, en.Name())
		}
		t.Fatalf("upload files on disk = %v (%v), want none", names, err)
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
