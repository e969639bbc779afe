package oci

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/acre-project/acre/internal/registry"
	"github.com/opencontainers/go-digest"
)

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
