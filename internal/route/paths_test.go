package route

import (
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
)

// unparse rebuilds the path a route came from.
func unparse(rt V2) string {
	switch rt.Kind {
	case Ping:
		return "/v2/"
	case Catalog:
		return "/v2/_catalog"
	case Tags:
		return "/v2/" + rt.Name + "/tags/list"
	case Manifest:
		return "/v2/" + rt.Name + "/manifests/" + rt.Arg
	case Blob:
		return "/v2/" + rt.Name + "/blobs/" + rt.Arg
	case Uploads:
		return "/v2/" + rt.Name + "/blobs/uploads/"
	case Upload:
		return "/v2/" + rt.Name + "/blobs/uploads/" + rt.Arg
	case Referrers:
		return "/v2/" + rt.Name + "/referrers/" + rt.Arg
	}
	return ""
}

func TestParseV2(t *testing.T) {
	d := digest.FromString("x").String()
	tests := []struct {
		path string
		want V2
		ok   bool
	}{
		{"/v2/", V2{Kind: Ping}, true},
		{"/v2", V2{Kind: Ping}, true},
		{"/v2/_catalog", V2{Kind: Catalog}, true},
		{"/v2/a/tags/list", V2{Kind: Tags, Name: "a"}, true},
		{"/v2/a/b/c/tags/list", V2{Kind: Tags, Name: "a/b/c"}, true},
		{"/v2/a/manifests/latest", V2{Kind: Manifest, Name: "a", Arg: "latest"}, true},
		{"/v2/tags/manifests/list", V2{Kind: Manifest, Name: "tags", Arg: "list"}, true},
		{"/v2/a/manifests/tags/list", V2{Kind: Tags, Name: "a/manifests"}, true},
		{"/v2/a/blobs/" + d, V2{Kind: Blob, Name: "a", Arg: d}, true},
		{"/v2/a/blobs/uploads", V2{Kind: Blob, Name: "a", Arg: "uploads"}, true},
		{"/v2/a/blobs/uploads/", V2{Kind: Uploads, Name: "a"}, true},
		{"/v2/a/blobs/uploads/id", V2{Kind: Upload, Name: "a", Arg: "id"}, true},
		{"/v2/blobs/blobs/uploads/", V2{Kind: Uploads, Name: "blobs"}, true},
		{"/v2/a/referrers/" + d, V2{Kind: Referrers, Name: "a", Arg: d}, true},
		{"/v2//tags/list", V2{Kind: Tags, Name: ""}, true},
		{"/v2/_catalog/", V2{}, false},
		{"/v2/a", V2{}, false},
		{"/v2/a/tags", V2{}, false},
		{"/v2/a/blobs/uploads/id/x", V2{}, false},
		{"/v3/", V2{}, false},
		{"/", V2{}, false},
		{"", V2{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			got, ok := ParseV2(tt.path)
			if ok != tt.ok || got != tt.want {
				t.Fatalf("ParseV2(%q) = %+v, %v; want %+v, %v", tt.path, got, ok, tt.want, tt.ok)
			}
		})
	}
}

func FuzzParseV2(f *testing.F) {
	for _, p := range []string{"/v2/", "/v2", "/v2/_catalog", "/v2/a/b/tags/list", "/v2/a/manifests/v1",
		"/v2/a/blobs/sha256:abc", "/v2/a/blobs/uploads/", "/v2/a/blobs/uploads/x", "/v2/a/referrers/sha256:abc",
		"/v2/a/../b/tags/list", "/v2//", "/v2/blobs/uploads/", "/v2/tags/list", "/v2/a/blobs/uploads/../x"} {
		f.Add(p)
	}
	kinds := []Kind{Ping, Catalog, Tags, Manifest, Blob, Uploads, Upload, Referrers}
	f.Fuzz(func(t *testing.T, p string) {
		rt, ok := ParseV2(p)
		if !ok {
			if Label(p) != "v2_other" && Of(p) == Distribution {
				t.Fatalf("Label(%q) = %q for a path ParseV2 refuses", p, Label(p))
			}
			return
		}
		if Of(p) != Distribution {
			t.Fatalf("ParseV2 accepts %q, which Of gives to %v", p, Of(p))
		}
		if p == "/v2" {
			return // the ping without its slash
		}
		known := false
		for _, k := range kinds {
			known = known || rt.Kind == k
		}
		if !known {
			t.Fatalf("ParseV2(%q) = unknown kind %q", p, rt.Kind)
		}
		if strings.Contains(rt.Arg, "/") {
			t.Fatalf("ParseV2(%q): argument %q holds a slash", p, rt.Arg)
		}
		if back := unparse(rt); back != p {
			t.Fatalf("ParseV2(%q) = %+v, which stands for %q", p, rt, back)
		}
	})
}

func TestParseV1(t *testing.T) {
	tests := []struct {
		path string
		want V1
		ok   bool
	}{
		{"/acr/v1/_catalog", V1{Noun: "_catalog"}, true},
		{"/acr/v1/a/b", V1{Name: "a/b"}, true},
		{"/acr/v1/a/_tags", V1{Name: "a", Noun: "_tags"}, true},
		{"/acr/v1/a/b/_tags/v1", V1{Name: "a/b", Noun: "_tags", Key: "v1"}, true},
		{"/acr/v1/a/_manifests/sha256:x", V1{Name: "a", Noun: "_manifests", Key: "sha256:x"}, true},
		{"/acr/v1/a/_tags/", V1{}, false},
		{"/acr/v1/a/_tags/v1/x", V1{}, false},
		{"/acr/v1/_tags", V1{}, false},
		{"/acr/v1/", V1{}, false},
		{"/v2/a", V1{}, false},
	}
	for _, tt := range tests {
		if got, ok := ParseV1(tt.path); ok != tt.ok || (ok && got != tt.want) {
			t.Errorf("ParseV1(%q) = %+v, %v; want %+v, %v", tt.path, got, ok, tt.want, tt.ok)
		}
	}
}
