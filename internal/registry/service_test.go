package registry

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/acre-project/acre/internal/blob/fs"
	"github.com/acre-project/acre/internal/errcode"
	"github.com/acre-project/acre/internal/meta"
	"github.com/acre-project/acre/internal/meta/sqlstore"
	"github.com/opencontainers/go-digest"
)

func newService(t *testing.T, defaultRegistry string) (*Service, meta.Store) {
	t.Helper()
	s, m, _ := newServiceWith(t, func(o *Options) { o.DefaultRegistry = defaultRegistry })
	return s, m
}

// newServiceWith builds a Service on a fresh SQLite store and fs blob
// store, which it also returns, with options set by opt.
func newServiceWith(t *testing.T, opt func(o *Options)) (*Service, meta.Store, *fs.Store) {
	t.Helper()
	dir := t.TempDir()
	blobs, err := fs.New(filepath.Join(dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := sqlstore.OpenSQLite(t.Context(), filepath.Join(dir, "meta.db"), sqlstore.Options{Synchronous: "normal"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	o := Options{Meta: meta.Narrow(m, func(q meta.Queries) Store { return q }), Blobs: blobs, Uploads: blobs}
	opt(&o)
	return New(o), m, blobs
}

func ensure(t *testing.T, s *Service, name, login string) *meta.Registry {
	t.Helper()
	r, err := s.EnsureRegistry(t.Context(), name, login, "Standard")
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestEnsureRegistryIdempotent(t *testing.T) {
	s, _ := newService(t, "acre")
	a := ensure(t, s, "acre", "acre.localhost")
	b := ensure(t, s, "acre", "elsewhere.localhost") // exists: unchanged
	if a.ID != b.ID || b.LoginServer != "acre.localhost" {
		t.Fatalf("second EnsureRegistry = %+v, first %+v", b, a)
	}
	_, err := s.EnsureRegistry(t.Context(), "dup", "acre.localhost", "Standard")
	if !errors.Is(err, meta.ErrConflict) {
		t.Fatalf("EnsureRegistry with a taken login server = %v, want ErrConflict", err)
	}
}

func TestRegistryForHost(t *testing.T) {
	s, _ := newService(t, "acre")
	ensure(t, s, "acre", "acre.localhost")
	ensure(t, s, "other", "other.localhost")
	tests := []struct{ host, want string }{
		{"acre.localhost", "acre"},
		{"other.localhost", "other"},
		{"OTHER.LOCALHOST", "other"},
		{"other.localhost:5000", "other"},
		{"unknown.example.com", "acre"},
		{"10.0.0.1:5000", "acre"},
		{"[::1]:443", "acre"},
		{"", "acre"},
	}
	for _, tt := range tests {
		t.Run(tt.host, func(t *testing.T) {
			for range 2 { // the second answer comes from the cache
				r, err := s.RegistryForHost(t.Context(), tt.host)
				if err != nil || r.Name != tt.want {
					t.Fatalf("RegistryForHost(%q) = %+v, %v; want %s", tt.host, r, err, tt.want)
				}
			}
		})
	}

	none, _ := newService(t, "")
	ensure(t, none, "only", "only.localhost")
	if r, err := none.RegistryForHost(t.Context(), "only.localhost"); err != nil || r.Name != "only" {
		t.Fatalf("RegistryForHost(only.localhost) = %+v, %v", r, err)
	}
	_, err := none.RegistryForHost(t.Context(), "unknown.localhost")
	if errcode.CodeOf(err) != errcode.NameUnknown {
		t.Fatalf("no default registry: err = %v, want NAME_UNKNOWN", err)
	}
}

// TestBugRegistryForHostMixedCaseLoginServer: RegistryForHost lower-cases
// the Host header but login servers are stored as given, so a registry
// whose login server has capitals (a configured domain such as
// "Registry.Example") is never matched and its requests silently go to the
// default registry.
func TestBugRegistryForHostMixedCaseLoginServer(t *testing.T) {
	s, _ := newService(t, "acre")
	ensure(t, s, "acre", "acre.Registry.Example")
	ensure(t, s, "other", "other.Registry.Example")
	for _, host := range []string{"other.Registry.Example", "other.registry.example"} {
		r, err := s.RegistryForHost(t.Context(), host)
		if err != nil || r.Name != "other" {
			t.Errorf("RegistryForHost(%q) = %v, %v; want registry other", host, r, err)
		}
	}
}

// pushImage stores a config and a layer and returns an image manifest naming them.
func pushImage(t *testing.T, s *Service, r Repo, seed string) []byte {
	t.Helper()
	cfg := []byte(`{"architecture":"arm64","os":"linux","seed":"` + seed + `"}`)
	layer := []byte("layer " + seed)
	for _, b := range [][]byte{cfg, layer} {
		if _, err := s.PutBlob(t.Context(), r, digest.FromBytes(b), bytes.NewReader(b)); err != nil {
			t.Fatal(err)
		}
	}
	return doc(map[string]any{
		"schemaVersion": 2,
		"mediaType":     MediaTypeOCIManifest,
		"config":        desc(MediaTypeOCIConfig, digest.FromBytes(cfg), int64(len(cfg))),
		"layers":        []any{desc("application/vnd.oci.image.layer.v1.tar", digest.FromBytes(layer), int64(len(layer)))},
	}, nil)
}

func TestPutManifestEvents(t *testing.T) {
	s, m := newService(t, "acre")
	reg := ensure(t, s, "acre", "acre.localhost")
	r := Repo{Registry: reg, Name: "app"}
	ctx := WithRequestInfo(t.Context(), RequestInfo{ID: "req-1", Host: "acre.localhost", Method: "PUT", UserAgent: "ua/1"})
	body := pushImage(t, s, r, "ev")
	d := digest.FromBytes(body)

	got, err := s.PutManifest(ctx, r, "v1", MediaTypeOCIManifest, bytes.NewReader(body), []string{"latest", "stable"})
	if err != nil {
		t.Fatal(err)
	}
	if got.Digest != d || got.Architecture != "arm64" || got.OS != "linux" || got.ConfigMediaType != MediaTypeOCIConfig {
		t.Fatalf("stored manifest = %+v", got)
	}
	events, err := m.Read().ListEvents(t.Context(), 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	var tags []string
	for _, e := range events {
		if e.Action != "push" || e.Repository != "app" || e.Digest != d || e.RegistryID != reg.ID || e.Size != int64(len(body)) {
			t.Errorf("event %+v", e)
		}
		tags = append(tags, e.Tag)
		var p struct {
			Action string
			Target struct {
				MediaType, Digest, Repository, Tag string
				Size                               int64
			}
			Request struct{ ID, Host, Method, UserAgent string }
		}
		if err := json.Unmarshal(e.Payload, &p); err != nil {
			t.Fatalf("payload %s: %v", e.Payload, err)
		}
		if p.Action != "push" || p.Target.Digest != d.String() || p.Target.Tag != e.Tag || p.Target.Repository != "app" ||
			p.Target.MediaType != MediaTypeOCIManifest || p.Request.ID != "req-1" || p.Request.UserAgent != "ua/1" {
			t.Errorf("payload %s", e.Payload)
		}
	}
	if strings.Join(tags, ",") != "v1,latest,stable" {
		t.Fatalf("event tags = %q", tags)
	}
	n := len(events)

	// A refused push writes nothing.
	bad := doc(map[string]any{"schemaVersion": 2, "mediaType": MediaTypeOCIManifest,
		"config": desc(MediaTypeOCIConfig, digest.FromString("absent"), 3)}, nil)
	if _, err := s.PutManifest(ctx, r, "bad", MediaTypeOCIManifest, bytes.NewReader(bad), nil); errcode.CodeOf(err) != errcode.ManifestBlobUnknown {
		t.Fatalf("push with a missing blob = %v", err)
	}
	// A push by digest writes one tagless event; a delete by digest one more.
	if _, err := s.PutManifest(ctx, r, d.String(), "", bytes.NewReader(body), nil); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteManifest(ctx, r, d.String()); err != nil {
		t.Fatal(err)
	}
	events, _ = m.Read().ListEvents(t.Context(), 0, 100)
	if len(events) != n+2 || events[n].Action != "push" || events[n].Tag != "" || events[n+1].Action != "delete" {
		t.Fatalf("events after digest push and delete: %+v", events[n:])
	}
	if _, err := s.GetManifest(t.Context(), r, "latest", false); errcode.CodeOf(err) != errcode.ManifestUnknown {
		t.Fatalf("tag after deleting its manifest: %v", err)
	}
}

func TestPutManifestSizeMismatch(t *testing.T) {
	s, _ := newService(t, "acre")
	reg := ensure(t, s, "acre", "acre.localhost")
	r := Repo{Registry: reg, Name: "app"}
	cfg := []byte(`{}`)
	if _, err := s.PutBlob(t.Context(), r, digest.FromBytes(cfg), bytes.NewReader(cfg)); err != nil {
		t.Fatal(err)
	}
	body := doc(map[string]any{"schemaVersion": 2, "mediaType": MediaTypeOCIManifest,
		"config": desc(MediaTypeOCIConfig, digest.FromBytes(cfg), 999)}, nil)
	_, err := s.PutManifest(t.Context(), r, "v1", "", bytes.NewReader(body), nil)
	if errcode.CodeOf(err) != errcode.ManifestInvalid {
		t.Fatalf("manifest with a wrong blob size = %v, want MANIFEST_INVALID", err)
	}
}

func TestMountBlob(t *testing.T) {
	s, _ := newService(t, "acre")
	reg := ensure(t, s, "acre", "acre.localhost")
	other := ensure(t, s, "other", "other.localhost")
	ctx := t.Context()
	content := []byte("mount me")
	d := digest.FromBytes(content)
	src := Repo{Registry: reg, Name: "src"}
	if _, err := s.PutBlob(ctx, src, d, bytes.NewReader(content)); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		to      Repo
		from    string
		canRead func(string) bool
		want    bool
	}{
		{"from the source", Repo{reg, "dst1"}, "src", nil, true},
		{"from anywhere in the registry", Repo{reg, "dst2"}, "", nil, true},
		{"from a repository without it", Repo{reg, "dst3"}, "dst-none", nil, false},
		{"from an invalid name", Repo{reg, "dst4"}, "../src", nil, false},
		{"from another registry", Repo{other, "dst5"}, "src", nil, false},
		{"anywhere, another registry", Repo{other, "dst6"}, "", nil, false},
		{"source not readable", Repo{reg, "dst7"}, "src", func(string) bool { return false }, false},
		{"nothing readable", Repo{reg, "dst8"}, "", func(string) bool { return false }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, err := s.MountBlob(ctx, tt.to, tt.from, d, tt.canRead)
			if err != nil || ok != tt.want {
				t.Fatalf("MountBlob = %v, %v; want %v", ok, err, tt.want)
			}
			_, err = s.StatBlob(ctx, tt.to, d)
			if tt.want != (err == nil) {
				t.Fatalf("StatBlob after mount (%v): %v", tt.want, err)
			}
		})
	}
}

func TestUploadSessionBinding(t *testing.T) {
	s, _ := newService(t, "acre")
	reg := ensure(t, s, "acre", "acre.localhost")
	other := ensure(t, s, "other", "other.localhost")
	ctx := t.Context()
	r := Repo{Registry: reg, Name: "app"}
	fresh, err := s.StartUpload(ctx, r)
	if err != nil {
		t.Fatal(err)
	}
	wrongRepoRefused := func(id string) {
		t.Helper()
		for _, wrong := range []Repo{{reg, "app2"}, {other, "app"}} {
			if _, err := s.UploadSize(ctx, wrong, id); errcode.CodeOf(err) != errcode.BlobUploadUnknown {
				t.Fatalf("UploadSize from %s/%s = %v", wrong.Registry.Name, wrong.Name, err)
			}
			if _, _, err := s.AppendUpload(ctx, wrong, id, "", -1, strings.NewReader("x")); errcode.CodeOf(err) != errcode.BlobUploadUnknown {
				t.Fatalf("AppendUpload from %s/%s = %v", wrong.Registry.Name, wrong.Name, err)
			}
			if _, err := s.CommitUpload(ctx, wrong, id, digest.FromString("x"), -1, strings.NewReader("x")); errcode.CodeOf(err) != errcode.BlobUploadUnknown {
				t.Fatalf("CommitUpload from %s/%s = %v", wrong.Registry.Name, wrong.Name, err)
			}
			if err := s.CancelUpload(ctx, wrong, id); errcode.CodeOf(err) != errcode.BlobUploadUnknown {
				t.Fatalf("CancelUpload from %s/%s = %v", wrong.Registry.Name, wrong.Name, err)
			}
		}
	}
	wrongRepoRefused(fresh)
	if n, err := s.UploadSize(ctx, r, fresh); err != nil || n != 0 {
		t.Fatalf("UploadSize of a fresh session = %d, %v", n, err)
	}
	var e *errcode.Error
	if _, _, err := s.AppendUpload(ctx, r, fresh, "", 1, strings.NewReader("x")); !errors.As(err, &e) || e.Code != errcode.UploadRangeInvalid {
		t.Fatalf("AppendUpload at 1 to a fresh session = %v", err)
	}
	id, n, err := s.AppendUpload(ctx, r, fresh, "", 0, strings.NewReader("abc"))
	if err != nil || n != 3 || id == fresh {
		t.Fatalf("AppendUpload = %q, %d, %v: want a stored session's new id and 3 bytes", id, n, err)
	}
	wrongRepoRefused(id)
	if _, _, err := s.AppendUpload(ctx, r, id, "", 1, strings.NewReader("x")); !errors.As(err, &e) || e.Code != errcode.UploadRangeInvalid || e.Code.Wire() != errcode.BlobUploadInvalid {
		t.Fatalf("AppendUpload at a wrong offset = %v", err)
	}
	if _, err := s.CommitUpload(ctx, r, id, digest.FromString("nope"), -1, nil); errcode.CodeOf(err) != errcode.DigestInvalid {
		t.Fatalf("CommitUpload with a wrong digest = %v", err)
	}
	if _, err := s.CommitUpload(ctx, r, id, digest.FromString("abcdef"), 3, strings.NewReader("def")); err != nil {
		t.Fatalf("CommitUpload: %v", err)
	}
	if _, err := s.UploadSize(ctx, r, id); errcode.CodeOf(err) != errcode.BlobUploadUnknown {
		t.Fatalf("UploadSize after commit = %v", err)
	}
	if n, err := s.StatBlob(ctx, r, digest.FromString("abcdef")); err != nil || n != 6 {
		t.Fatalf("StatBlob = %d, %v", n, err)
	}
}

func TestInvalidNames(t *testing.T) {
	s, _ := newService(t, "acre")
	reg := ensure(t, s, "acre", "acre.localhost")
	ctx := context.Background()
	for _, name := range []string{"", "A", "a/../b", "./a", "a//b", strings.Repeat("a", 300)} {
		r := Repo{Registry: reg, Name: name}
		d := digest.FromString("x")
		checks := map[string]error{}
		_, checks["StatBlob"] = s.StatBlob(ctx, r, d)
		_, checks["StartUpload"] = s.StartUpload(ctx, r)
		_, checks["PutBlob"] = s.PutBlob(ctx, r, d, strings.NewReader("x"))
		_, checks["MountBlob"] = s.MountBlob(ctx, r, "", d, nil)
		_, checks["GetManifest"] = s.GetManifest(ctx, r, "latest", false)
		_, checks["PutManifest"] = s.PutManifest(ctx, r, "latest", "", strings.NewReader("{}"), nil)
		checks["DeleteManifest"] = s.DeleteManifest(ctx, r, "latest")
		_, checks["ListTags"] = s.ListTags(ctx, r, meta.Page{N: 10})
		_, checks["Referrers"] = s.Referrers(ctx, r, d, "")
		checks["DeleteBlob"] = s.DeleteBlob(ctx, r, d)
		for op, err := range checks {
			if errcode.CodeOf(err) != errcode.NameInvalid {
				t.Errorf("%s(%q) = %v, want NAME_INVALID", op, name, err)
			}
		}
	}
}
