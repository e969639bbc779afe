package registry

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/acre-project/acre/internal/errcode"
	"github.com/acre-project/acre/internal/reference"
	"github.com/opencontainers/go-digest"
)

// The parser's invariants (checkParsed) and the fuzzer that holds any
// input to them.

func descDigests(ds []descriptor) []digest.Digest {
	var out []digest.Digest
	for _, d := range ds {
		out = append(out, digest.Digest(d.Digest))
	}
	return out
}

func equalDigests(a, b []digest.Digest) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// checkParsed asserts what every accepted manifest satisfies.
func checkParsed(t *testing.T, contentType string, body []byte, p *ParsedManifest) {
	t.Helper()
	if !json.Valid(body) {
		t.Fatalf("accepted invalid JSON %q", body)
	}
	if !IsManifestMediaType(p.MediaType) {
		t.Fatalf("accepted unsupported media type %q", p.MediaType)
	}
	if ct := strings.TrimSpace(strings.SplitN(contentType, ";", 2)[0]); ct != "" && ct != p.MediaType {
		t.Fatalf("Content-Type %q accepted as %q", contentType, p.MediaType)
	}
	var env struct {
		MediaType string `json:"mediaType"`
	}
	if json.Unmarshal(body, &env) == nil && env.MediaType != "" && env.MediaType != p.MediaType {
		t.Fatalf("body mediaType %q accepted as %q", env.MediaType, p.MediaType)
	}
	check := func(what string, d descriptor) {
		t.Helper()
		if _, err := reference.ParseDigest(d.Digest); err != nil {
			t.Fatalf("%s has invalid digest %q", what, d.Digest)
		}
		if d.Size < 0 {
			t.Fatalf("%s has negative size %d", what, d.Size)
		}
		if d.MediaType == "" {
			t.Fatalf("%s has no media type", what)
		}
	}
	if isIndex(p.MediaType) {
		if p.Config != nil || len(p.Blobs) != 0 {
			t.Fatalf("index with config %v or blobs %v", p.Config, p.Blobs)
		}
	} else {
		if p.Config == nil || len(p.Blobs) == 0 || len(p.Children) != 0 {
			t.Fatalf("image manifest with config %v, blobs %v, children %v", p.Config, p.Blobs, p.Children)
		}
		if p.Blobs[0].Digest != p.Config.Digest {
			t.Fatalf("first blob %v is not the config %v", p.Blobs[0], *p.Config)
		}
		check("config", *p.Config)
	}
	for i, d := range p.Blobs {
		check("blob", d)
		if i > 0 && isNonDistributable(d) {
			t.Fatalf("non-distributable layer %v among the required blobs", d)
		}
	}
	for _, d := range p.Children {
		check("child", d)
	}
	if p.Subject != "" {
		if _, err := reference.ParseDigest(p.Subject.String()); err != nil {
			t.Fatalf("invalid subject %q", p.Subject)
		}
	}
	if refs := p.refs(); len(refs) != len(p.Blobs)+len(p.Children) {
		t.Fatalf("%d refs for %d blobs and %d children", len(refs), len(p.Blobs), len(p.Children))
	}
}

func FuzzParseManifest(f *testing.F) {
	seeds := []struct {
		ct   string
		body []byte
	}{
		{MediaTypeOCIManifest, doc(ociManifest(), nil)},
		{"", doc(ociManifest(), map[string]any{"mediaType": nil})},
		{MediaTypeOCIIndex, doc(ociIndex(), nil)},
		{"", doc(ociIndex(), map[string]any{"mediaType": nil})},
		{MediaTypeDockerManifest, doc(dockerManifest(), nil)},
		{MediaTypeDockerList, doc(dockerList(), nil)},
		{MediaTypeOCIManifest, doc(artifact(), nil)},
		{MediaTypeOCIManifest + "; charset=utf-8", doc(artifact(), nil)},
		{MediaTypeOCIIndex, doc(ociManifest(), nil)},
		{"", doc(ociIndex(), map[string]any{"layers": []any{}})},
		{"", doc(ociManifest(), map[string]any{"manifests": []any{}})},
		{"", doc(ociManifest(), map[string]any{"layers": []any{desc("application/vnd.oci.image.layer.nondistributable.v1.tar", layerDigest, 5)}})},
		{"", []byte(`{"schemaVersion":2,"config":{"mediaType":"a","digest":"sha256:` + strings.Repeat("0", 64) + `","size":-1}}`)},
		{"", []byte(`{"schemaVersion":2,"MediaType":"application/vnd.oci.image.index.v1+json","Manifests":[]}`)},
		{"application/json", []byte(`{}`)},
		{"", []byte(`null`)},
		{"", []byte(`{"schemaVersion":2`)},
		{"", []byte("\xff\xfe")},
		{"", nil},
	}
	for _, s := range seeds {
		f.Add(s.ct, s.body)
	}
	f.Fuzz(func(t *testing.T, contentType string, body []byte) {
		p, err := ParseManifest(contentType, body)
		if err != nil {
			var e *errcode.Error
			if !errors.As(err, &e) || e.Code != errcode.ManifestInvalid {
				t.Fatalf("error %v is not MANIFEST_INVALID", err)
			}
			if p != nil {
				t.Fatal("ParseManifest returned a manifest with an error")
			}
			return
		}
		checkParsed(t, contentType, body, p)
	})
}
