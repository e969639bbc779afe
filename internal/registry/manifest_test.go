package registry

import (
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/acre-project/acre/internal/errcode"
	"github.com/acre-project/acre/internal/meta"
	"github.com/opencontainers/go-digest"
)

var (
	cfgDigest   = digest.FromString("config")
	layerDigest = digest.FromString("layer")
	layer2      = digest.FromString("layer2")
	childDigest = digest.FromString("child")
	subjDigest  = digest.FromString("subject")
)

// desc builds a descriptor as a JSON object.
func desc(mt string, d digest.Digest, size int64) map[string]any {
	return map[string]any{"mediaType": mt, "digest": d.String(), "size": size}
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// doc builds a manifest body from a base map and edits: a nil value deletes the key.
func doc(base map[string]any, edits map[string]any) []byte {
	m := map[string]any{}
	for k, v := range base {
		m[k] = v
	}
	for k, v := range edits {
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
	}
	return mustJSON(m)
}

func ociManifest() map[string]any {
	return map[string]any{
		"schemaVersion": 2,
		"mediaType":     MediaTypeOCIManifest,
		"config":        desc(MediaTypeOCIConfig, cfgDigest, 10),
		"layers": []any{
			desc("application/vnd.oci.image.layer.v1.tar+gzip", layerDigest, 100),
			desc("application/vnd.oci.image.layer.v1.tar+gzip", layer2, 200),
		},
		"annotations": map[string]string{"org.opencontainers.image.title": "demo"},
	}
}

func ociIndex() map[string]any {
	child := desc(MediaTypeOCIManifest, childDigest, 500)
	child["platform"] = map[string]string{"architecture": "amd64", "os": "linux"}
	return map[string]any{
		"schemaVersion": 2,
		"mediaType":     MediaTypeOCIIndex,
		"manifests":     []any{child, desc(MediaTypeOCIManifest, layer2, 300)},
	}
}

func dockerManifest() map[string]any {
	return map[string]any{
		"schemaVersion": 2,
		"mediaType":     MediaTypeDockerManifest,
		"config":        desc(MediaTypeDockerConfig, cfgDigest, 10),
		"layers":        []any{desc("application/vnd.docker.image.rootfs.diff.tar.gzip", layerDigest, 100)},
	}
}

func dockerList() map[string]any {
	return map[string]any{
		"schemaVersion": 2,
		"mediaType":     MediaTypeDockerList,
		"manifests":     []any{desc(MediaTypeDockerManifest, childDigest, 500)},
	}
}

func artifact() map[string]any {
	return map[string]any{
		"schemaVersion": 2,
		"mediaType":     MediaTypeOCIManifest,
		"artifactType":  "application/vnd.example.signature",
		"config":        desc(MediaTypeEmpty, digest.FromString("{}"), 2),
		"layers":        []any{desc("application/vnd.example.signature.v1", layerDigest, 100)},
		"subject":       desc(MediaTypeOCIManifest, subjDigest, 1234),
	}
}

func TestParseManifest(t *testing.T) {
	nondist := ociManifest()
	nondist["layers"] = []any{
		desc("application/vnd.oci.image.layer.v1.tar+gzip", layerDigest, 100),
		desc("application/vnd.oci.image.layer.nondistributable.v1.tar+gzip", digest.FromString("windows base"), 1000),
		desc("application/vnd.docker.image.rootfs.foreign.diff.tar.gzip", digest.FromString("foreign"), 2000),
	}

	tests := []struct {
		name        string
		contentType string
		body        []byte
		wantErr     bool
		mediaType   string
		blobs       []digest.Digest
		children    []digest.Digest
		subject     digest.Digest
		artifact    string
		extraSize   int64 // ImageSize minus the body length
	}{
		{name: "oci manifest", contentType: MediaTypeOCIManifest, body: doc(ociManifest(), nil),
			mediaType: MediaTypeOCIManifest, blobs: []digest.Digest{cfgDigest, layerDigest, layer2}, extraSize: 310},
		{name: "oci manifest without Content-Type", body: doc(ociManifest(), nil),
			mediaType: MediaTypeOCIManifest, blobs: []digest.Digest{cfgDigest, layerDigest, layer2}, extraSize: 310},
		{name: "Content-Type with parameters", contentType: MediaTypeOCIManifest + "; charset=utf-8", body: doc(ociManifest(), nil),
			mediaType: MediaTypeOCIManifest, blobs: []digest.Digest{cfgDigest, layerDigest, layer2}, extraSize: 310},
		{name: "mediaType from Content-Type", contentType: MediaTypeOCIManifest, body: doc(ociManifest(), map[string]any{"mediaType": nil}),
			mediaType: MediaTypeOCIManifest, blobs: []digest.Digest{cfgDigest, layerDigest, layer2}, extraSize: 310},
		{name: "no mediaType anywhere, image", body: doc(ociManifest(), map[string]any{"mediaType": nil}),
			mediaType: MediaTypeOCIManifest, blobs: []digest.Digest{cfgDigest, layerDigest, layer2}, extraSize: 310},
		{name: "no mediaType anywhere, index", body: doc(ociIndex(), map[string]any{"mediaType": nil}),
			mediaType: MediaTypeOCIIndex, children: []digest.Digest{childDigest, layer2}},
		{name: "oci index", contentType: MediaTypeOCIIndex, body: doc(ociIndex(), nil),
			mediaType: MediaTypeOCIIndex, children: []digest.Digest{childDigest, layer2}},
		{name: "empty index", contentType: MediaTypeOCIIndex, body: doc(ociIndex(), map[string]any{"manifests": []any{}}),
			mediaType: MediaTypeOCIIndex},
		{name: "docker manifest", contentType: MediaTypeDockerManifest, body: doc(dockerManifest(), nil),
			mediaType: MediaTypeDockerManifest, blobs: []digest.Digest{cfgDigest, layerDigest}, extraSize: 110},
		{name: "docker manifest list", contentType: MediaTypeDockerList, body: doc(dockerList(), nil),
			mediaType: MediaTypeDockerList, children: []digest.Digest{childDigest}},
		{name: "artifact with subject", contentType: MediaTypeOCIManifest, body: doc(artifact(), nil),
			mediaType: MediaTypeOCIManifest, blobs: []digest.Digest{digest.FromString("{}"), layerDigest},
			subject: subjDigest, artifact: "application/vnd.example.signature", extraSize: 102},
		{name: "index with subject", body: doc(ociIndex(), map[string]any{"subject": desc(MediaTypeOCIManifest, subjDigest, 1)}),
			mediaType: MediaTypeOCIIndex, children: []digest.Digest{childDigest, layer2}, subject: subjDigest},
		{name: "no layers", body: doc(ociManifest(), map[string]any{"layers": nil}),
			mediaType: MediaTypeOCIManifest, blobs: []digest.Digest{cfgDigest}, extraSize: 10},
		{name: "non-distributable layers are not required", body: doc(nondist, nil),
			mediaType: MediaTypeOCIManifest, blobs: []digest.Digest{cfgDigest, layerDigest}, extraSize: 3110},
		{name: "sha512 descriptors", body: doc(ociManifest(), map[string]any{"config": desc(MediaTypeOCIConfig, digest.SHA512.FromString("c"), 1), "layers": []any{}}),
			mediaType: MediaTypeOCIManifest, blobs: []digest.Digest{digest.SHA512.FromString("c")}, extraSize: 1},

		// Content-Type and body disagree.
		{name: "Content-Type index, body manifest", contentType: MediaTypeOCIIndex, body: doc(ociManifest(), nil), wantErr: true},
		{name: "Content-Type docker, body oci", contentType: MediaTypeDockerManifest, body: doc(ociManifest(), nil), wantErr: true},
		{name: "Content-Type manifest, body index", contentType: MediaTypeOCIManifest, body: doc(ociIndex(), nil), wantErr: true},
		{name: "Content-Type application/json", contentType: "application/json", body: doc(ociManifest(), nil), wantErr: true},
		// schemaVersion.
		{name: "schemaVersion missing", body: doc(ociManifest(), map[string]any{"schemaVersion": nil}), wantErr: true},
		{name: "schemaVersion 1", body: doc(ociManifest(), map[string]any{"schemaVersion": 1}), wantErr: true},
		{name: "schemaVersion 3", body: doc(ociManifest(), map[string]any{"schemaVersion": 3}), wantErr: true},
		{name: "schemaVersion string", body: doc(ociManifest(), map[string]any{"schemaVersion": "2"}), wantErr: true},
		{name: "schemaVersion 2.5", body: []byte(`{"schemaVersion":2.5,"config":{"mediaType":"a/b","digest":"` + cfgDigest.String() + `","size":1}}`), wantErr: true},
		// Shapes.
		{name: "missing config", body: doc(ociManifest(), map[string]any{"config": nil}), wantErr: true},
		{name: "null config", body: []byte(`{"schemaVersion":2,"mediaType":"` + MediaTypeOCIManifest + `","config":null,"layers":[]}`), wantErr: true},
		{name: "index with layers", body: doc(ociIndex(), map[string]any{"layers": []any{desc("a/b", layerDigest, 1)}}), wantErr: true},
		{name: "index with empty layers", body: doc(ociIndex(), map[string]any{"layers": []any{}}), wantErr: true},
		{name: "index with config", body: doc(ociIndex(), map[string]any{"config": desc(MediaTypeOCIConfig, cfgDigest, 1)}), wantErr: true},
		{name: "manifest with manifests", body: doc(ociManifest(), map[string]any{"manifests": []any{desc(MediaTypeOCIManifest, childDigest, 1)}}), wantErr: true},
		{name: "manifest with empty manifests", body: doc(ociManifest(), map[string]any{"manifests": []any{}}), wantErr: true},
		{name: "docker list with layers", contentType: MediaTypeDockerList, body: doc(dockerList(), map[string]any{"layers": []any{}}), wantErr: true},
		// Media types.
		{name: "schema1 media type", contentType: "application/vnd.docker.distribution.manifest.v1+prettyjws",
			body: doc(ociManifest(), map[string]any{"mediaType": nil}), wantErr: true},
		{name: "unknown body media type", body: doc(ociManifest(), map[string]any{"mediaType": "application/vnd.example+json"}), wantErr: true},
		{name: "config media type as manifest type", body: doc(ociManifest(), map[string]any{"mediaType": MediaTypeOCIConfig}), wantErr: true},
		// Descriptors.
		{name: "negative config size", body: doc(ociManifest(), map[string]any{"config": desc(MediaTypeOCIConfig, cfgDigest, -1)}), wantErr: true},
		{name: "negative layer size", body: doc(ociManifest(), map[string]any{"layers": []any{desc("a/b", layerDigest, -5)}}), wantErr: true},
		{name: "negative non-distributable layer size", body: doc(ociManifest(), map[string]any{
			"layers": []any{desc("application/vnd.oci.image.layer.nondistributable.v1.tar", layerDigest, -5)}}), wantErr: true},
		{name: "negative child size", body: doc(ociIndex(), map[string]any{"manifests": []any{desc(MediaTypeOCIManifest, childDigest, -1)}}), wantErr: true},
		{name: "negative subject size", body: doc(artifact(), map[string]any{"subject": desc(MediaTypeOCIManifest, subjDigest, -1)}), wantErr: true},
		{name: "size not a number", body: doc(ociManifest(), map[string]any{"config": map[string]any{"mediaType": MediaTypeOCIConfig, "digest": cfgDigest.String(), "size": "10"}}), wantErr: true},
		{name: "size too large", body: []byte(`{"schemaVersion":2,"config":{"mediaType":"a/b","digest":"` + cfgDigest.String() + `","size":99999999999999999999}}`), wantErr: true},
		{name: "bad config digest", body: doc(ociManifest(), map[string]any{"config": desc(MediaTypeOCIConfig, "sha256:abc", 1)}), wantErr: true},
		{name: "empty config digest", body: doc(ociManifest(), map[string]any{"config": desc(MediaTypeOCIConfig, "", 1)}), wantErr: true},
		{name: "upper-case hex digest", body: doc(ociManifest(), map[string]any{"config": desc(MediaTypeOCIConfig, digest.Digest(strings.ToUpper(cfgDigest.String())), 1)}), wantErr: true},
		{name: "unsupported digest algorithm", body: doc(ociManifest(), map[string]any{"config": desc(MediaTypeOCIConfig, "md5:9a0364b9e99bb480dd25e1f0284c8555", 1)}), wantErr: true},
		{name: "bad layer digest", body: doc(ociManifest(), map[string]any{"layers": []any{desc("a/b", "sha256:../../etc/passwd", 1)}}), wantErr: true},
		{name: "bad non-distributable layer digest", body: doc(ociManifest(), map[string]any{
			"layers": []any{desc("application/vnd.oci.image.layer.nondistributable.v1.tar", "nope", 1)}}), wantErr: true},
		{name: "bad child digest", body: doc(ociIndex(), map[string]any{"manifests": []any{desc(MediaTypeOCIManifest, "sha256:", 1)}}), wantErr: true},
		{name: "bad subject digest", body: doc(artifact(), map[string]any{"subject": desc(MediaTypeOCIManifest, "sha256:zz", 1)}), wantErr: true},
		{name: "descriptor without mediaType", body: doc(ociManifest(), map[string]any{"layers": []any{map[string]any{"digest": layerDigest.String(), "size": 1}}}), wantErr: true},
		// Not JSON objects.
		{name: "empty body", body: nil, wantErr: true},
		{name: "not JSON", body: []byte("not json"), wantErr: true},
		{name: "JSON null", body: []byte("null"), wantErr: true},
		{name: "JSON array", body: []byte(`[{"schemaVersion":2}]`), wantErr: true},
		{name: "truncated", body: doc(ociManifest(), nil)[:50], wantErr: true},
		{name: "trailing garbage", body: append(doc(ociManifest(), nil), []byte("}{")...), wantErr: true},
		{name: "layers not a list", body: doc(ociManifest(), map[string]any{"layers": "layer"}), wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := ParseManifest(tt.contentType, tt.body)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("ParseManifest accepted %s", tt.body)
				}
				var e *errcode.Error
				if !errors.As(err, &e) || e.Code != errcode.ManifestInvalid {
					t.Fatalf("error %v is not MANIFEST_INVALID", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseManifest: %v\nbody: %s", err, tt.body)
			}
			checkParsed(t, tt.contentType, tt.body, p)
			if p.MediaType != tt.mediaType {
				t.Errorf("MediaType = %q, want %q", p.MediaType, tt.mediaType)
			}
			if got := descDigests(p.Blobs); !equalDigests(got, tt.blobs) {
				t.Errorf("Blobs = %v, want %v", got, tt.blobs)
			}
			if got := descDigests(p.Children); !equalDigests(got, tt.children) {
				t.Errorf("Children = %v, want %v", got, tt.children)
			}
			if p.Subject != tt.subject {
				t.Errorf("Subject = %q, want %q", p.Subject, tt.subject)
			}
			if p.ArtifactType != tt.artifact {
				t.Errorf("ArtifactType = %q, want %q", p.ArtifactType, tt.artifact)
			}
			if want := int64(len(tt.body)) + tt.extraSize; p.ImageSize != want {
				t.Errorf("ImageSize = %d, want %d", p.ImageSize, want)
			}
		})
	}
}

func TestParseManifestFields(t *testing.T) {
	p, err := ParseManifest("", doc(ociManifest(), nil))
	if err != nil {
		t.Fatal(err)
	}
	if p.Config == nil || p.Config.MediaType != MediaTypeOCIConfig || p.Config.Digest != cfgDigest.String() || p.Config.Size != 10 {
		t.Errorf("Config = %+v", p.Config)
	}
	if p.Annotations["org.opencontainers.image.title"] != "demo" {
		t.Errorf("Annotations = %v", p.Annotations)
	}
	refs := p.refs()
	want := []meta.Ref{{Digest: cfgDigest, Kind: meta.RefBlob}, {Digest: layerDigest, Kind: meta.RefBlob}, {Digest: layer2, Kind: meta.RefBlob}}
	if len(refs) != len(want) {
		t.Fatalf("refs = %v, want %v", refs, want)
	}
	for i := range want {
		if refs[i] != want[i] {
			t.Fatalf("refs = %v, want %v", refs, want)
		}
	}

	p, err = ParseManifest(MediaTypeOCIIndex, doc(ociIndex(), nil))
	if err != nil {
		t.Fatal(err)
	}
	refs = p.refs()
	if len(refs) != 2 || refs[0] != (meta.Ref{Digest: childDigest, Kind: meta.RefManifest}) || refs[1].Kind != meta.RefManifest {
		t.Fatalf("index refs = %v", refs)
	}
	if p.Config != nil || len(p.Blobs) != 0 {
		t.Fatalf("index has config %v, blobs %v", p.Config, p.Blobs)
	}
}

// TestBugParseManifestImageSizeOverflow: ImageSize sums the descriptor
// sizes; huge claimed sizes (non-distributable layers are never checked
// against stored blobs) must be refused rather than wrap around to a
// negative image size.
func TestBugParseManifestImageSizeOverflow(t *testing.T) {
	nondist := "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"
	tests := []struct {
		name  string
		edits map[string]any
	}{
		{"huge non-distributable layer", map[string]any{"layers": []any{desc(nondist, layerDigest, math.MaxInt64)}}},
		{"two large layers", map[string]any{"layers": []any{desc(nondist, layerDigest, math.MaxInt64/2+1), desc(nondist, layer2, math.MaxInt64/2+1)}}},
		{"huge config, no layers", map[string]any{"config": desc(MediaTypeOCIConfig, cfgDigest, math.MaxInt64), "layers": nil}},
		{"huge config, empty layers", map[string]any{"config": desc(MediaTypeOCIConfig, cfgDigest, math.MaxInt64), "layers": []any{}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := doc(ociManifest(), tt.edits)
			p, err := ParseManifest(MediaTypeOCIManifest, body)
			if err != nil {
				return // refusing it is fine
			}
			if p.ImageSize < int64(len(body)) {
				t.Fatalf("ImageSize = %d for a %d-byte manifest", p.ImageSize, len(body))
			}
		})
	}
}
