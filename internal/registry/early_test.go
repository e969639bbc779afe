package registry

import (
	"bytes"
	"testing"

	"github.com/acre-project/acre/internal/errcode"
	"github.com/acre-project/acre/internal/meta"
	"github.com/opencontainers/go-digest"
)

// TestWriteLockWithRememberedPasses: a repository's passing early check is
// remembered, yet a lock set on another node never lets a blob in (the
// linking transaction checks it), a lock set on this node refuses the next
// upload at once, and lifting a lock takes effect at once.
func TestWriteLockWithRememberedPasses(t *testing.T) {
	ctx := t.Context()
	s, m, files := newServiceWith(t, func(o *Options) { o.InlineMax = 1000 })
	other := New(Options{Meta: meta.Narrow(m, func(q meta.Queries) Store { return q }), Blobs: files, Uploads: files})
	reg := ensure(t, s, "acre", "acre.localhost")
	r := Repo{Registry: reg, Name: "app"}
	if _, err := s.PutBlob(ctx, r, digest.FromString("first"), bytes.NewReader([]byte("first"))); err != nil {
		t.Fatal(err) // the repository exists, and its early check passed
	}
	setWrite := func(svc *Service, on bool) {
		t.Helper()
		if _, err := svc.UpdateRepository(ctx, r, AttributesPatch{WriteEnabled: &on}); err != nil {
			t.Fatal(err)
		}
	}
	push := func(body string) error {
		id, err := s.StartUpload(ctx, r)
		if err == nil {
			_, err = s.CommitUpload(ctx, r, id, digest.FromString(body), 0, bytes.NewReader([]byte(body)))
		}
		return err
	}
	denied := func(what string, err error) {
		t.Helper()
		if errcode.CodeOf(err) != errcode.Denied {
			t.Fatalf("%s: %v, want DENIED", what, err)
		}
	}
	for _, tc := range []struct {
		name  string
		lock  func()
		check func(err error)
	}{
		{"locked on another node", func() { setWrite(other, false) }, func(err error) { denied("push", err) }},
		{"unlocked on this node", func() { setWrite(s, true) }, func(err error) {
			if err != nil {
				t.Fatalf("push after unlocking: %v", err)
			}
		}},
		{"locked on this node", func() { setWrite(s, false) }, func(err error) { denied("push", err) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.lock()
			tc.check(push(tc.name))
		})
	}
	if _, err := s.StartUpload(ctx, r); errcode.CodeOf(err) != errcode.Denied {
		t.Fatalf("StartUpload right after a lock on this node: %v, want DENIED", err)
	}
}
