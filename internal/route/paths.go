package route

import "strings"

// Kind is what a /v2/ path names.
type Kind string

const (
	Ping      Kind = "ping"      // /v2/
	Catalog   Kind = "catalog"   // /v2/_catalog
	Tags      Kind = "tags"      // /v2/<name>/tags/list
	Manifest  Kind = "manifest"  // /v2/<name>/manifests/<reference>
	Blob      Kind = "blob"      // /v2/<name>/blobs/<digest>
	Uploads   Kind = "uploads"   // /v2/<name>/blobs/uploads/
	Upload    Kind = "upload"    // /v2/<name>/blobs/uploads/<id>
	Referrers Kind = "referrers" // /v2/<name>/referrers/<digest>
)

// V2 is a parsed /v2/ path.
type V2 struct {
	Kind Kind
	Name string // repository name
	Arg  string // reference, digest or upload id
}

// ParseV2 splits a /v2/ path into what it names. Repository names may
// contain slashes, so the verb is found from the right. The name is not
// validated (the handler answers NAME_INVALID).
func ParseV2(p string) (V2, bool) {
	rest, ok := strings.CutPrefix(p, "/v2/")
	if !ok {
		if p == "/v2" {
			return V2{Kind: Ping}, true
		}
		return V2{}, false
	}
	if rest == "" {
		return V2{Kind: Ping}, true
	}
	if rest == "_catalog" {
		return V2{Kind: Catalog}, true
	}
	seg := strings.Split(rest, "/")
	n := len(seg)
	join := func(k int) string { return strings.Join(seg[:k], "/") }
	switch {
	case n >= 4 && seg[n-3] == "blobs" && seg[n-2] == "uploads" && seg[n-1] == "":
		return V2{Kind: Uploads, Name: join(n - 3)}, true
	case n >= 4 && seg[n-3] == "blobs" && seg[n-2] == "uploads":
		return V2{Kind: Upload, Name: join(n - 3), Arg: seg[n-1]}, true
	case n >= 3 && seg[n-2] == "tags" && seg[n-1] == "list":
		return V2{Kind: Tags, Name: join(n - 2)}, true
	case n >= 3 && seg[n-2] == "manifests":
		return V2{Kind: Manifest, Name: join(n - 2), Arg: seg[n-1]}, true
	case n >= 3 && seg[n-2] == "blobs":
		return V2{Kind: Blob, Name: join(n - 2), Arg: seg[n-1]}, true
	case n >= 3 && seg[n-2] == "referrers":
		return V2{Kind: Referrers, Name: join(n - 2), Arg: seg[n-1]}, true
	}
	return V2{}, false
}

// V1 is a parsed /acr/v1/ path.
type V1 struct {
	Name string // repository ("" for the catalog)
	Noun string // "" (the repository), "_catalog", "_tags" or "_manifests"
	Key  string // tag or digest
}

// ParseV1 splits an /acr/v1/ path into what it names: the catalog, a
// repository, its tags or manifests, or one of them by Key.
func ParseV1(p string) (V1, bool) {
	rest, ok := strings.CutPrefix(p, "/acr/v1/")
	if !ok || rest == "" {
		return V1{}, false
	}
	if rest == "_catalog" {
		return V1{Noun: "_catalog"}, true
	}
	seg := strings.Split(rest, "/")
	for i, s := range seg {
		if s == "_tags" || s == "_manifests" {
			rt := V1{Name: strings.Join(seg[:i], "/"), Noun: s}
			switch len(seg) - i {
			case 1:
			case 2:
				rt.Key = seg[i+1]
				if rt.Key == "" {
					return V1{}, false
				}
			default:
				return V1{}, false
			}
			return rt, rt.Name != ""
		}
	}
	return V1{Name: rest}, true
}
