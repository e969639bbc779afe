package azure

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	acreblob "github.com/acre-project/acre/internal/blob"
	"github.com/acre-project/acre/internal/blob/blobtest"
	"github.com/opencontainers/go-digest"

	_ "crypto/sha512"
)

// TestStore checks what the shared suite does not: the layout in the
// container, Walk, SAS URLs and a damaged hash state. One Azurite serves
// all subtests, each on its own container.
func TestStore(t *testing.T) {
	url := startAzurite(t)
	for _, tt := range []struct {
		name string
		fn   func(t *testing.T, s *Store)
	}{
		{"Layout", testLayout},
		{"Walk", testWalk},
		{"URL", testURL},
		{"HashStateDamaged", testHashStateDamaged},
		{"UploadChangedDuringCommit", testUploadChangedDuringCommit},
		{"OpenPastTheEnd", testOpenPastTheEnd},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.fn(t, newTestStore(t, testOptions(url, "acre/")))
		})
	}
}

func upload(t *testing.T, s *Store, content string, alg digest.Algorithm) digest.Digest {
	t.Helper()
	ctx := t.Context()
	id := blobtest.NewID()
	must(t, s.Start(ctx, id))
	if _, err := s.Append(ctx, id, 0, strings.NewReader(content)); err != nil {
		t.Fatal(err)
	}
	d := alg.FromString(content)
	if _, err := s.Commit(ctx, id, d); err != nil {
		t.Fatal(err)
	}
	return d
}

// names lists every blob name in the store's container.
func names(t *testing.T, s *Store) []string {
	t.Helper()
	var out []string
	pager := s.c.NewListBlobsFlatPager(nil)
	for pager.More() {
		page, err := pager.NextPage(t.Context())
		must(t, err)
		for _, it := range page.Segment.BlobItems {
			out = append(out, *it.Name)
		}
	}
	return out
}

func testLayout(t *testing.T, s *Store) {
	ctx := t.Context()
	d := upload(t, s, "layout", digest.SHA256)
	pending := blobtest.NewID()
	must(t, s.Start(ctx, pending))
	want := []string{
		"acre/blobs/sha256/" + d.Encoded()[:2] + "/" + d.Encoded(),
		"acre/uploads/" + pending,
	}
	if got := names(t, s); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("container holds %q, want %q", got, want)
	}
}

func testWalk(t *testing.T, s *Store) {
	ctx := t.Context()
	want := map[digest.Digest]int64{}
	for _, c := range []struct {
		content string
		alg     digest.Algorithm
	}{{"", digest.SHA256}, {"one", digest.SHA256}, {"two two", digest.SHA256}, {"three", digest.SHA512}} {
		want[upload(t, s, c.content, c.alg)] = int64(len(c.content))
	}
	gone := upload(t, s, "deleted", digest.SHA256)
	must(t, s.Delete(ctx, gone))
	id := blobtest.NewID() // an upload in progress is not a blob
	must(t, s.Start(ctx, id))
	if _, err := s.Append(ctx, id, 0, strings.NewReader("pending")); err != nil {
		t.Fatal(err)
	}
	hex := digest.FromString("stray").Encoded()
	for _, name := range []string{
		"sha256/" + hex[:2] + "/not-a-digest",
		"sha256/" + hex[:2] + "/" + hex + ".tmp",
		"sha256/00/" + hex, // wrong fan-out directory
		"md5/9a/9a0364b9e99bb480dd25e1f0284c8555",
		"sha256/" + hex[:2] + "/" + strings.ToUpper(hex),
		"sha256/" + hex,
	} {
		_, err := s.blockBlob(s.prefix+"blobs/"+name).Upload(ctx, empty(), nil)
		must(t, err)
	}
	got := map[digest.Digest]int64{}
	must(t, s.Walk(ctx, func(d digest.Digest, size int64) error {
		if _, dup := got[d]; dup {
			t.Errorf("Walk listed %s twice", d)
		}
		got[d] = size
		return nil
	}))
	if len(got) != len(want) {
		t.Errorf("Walk listed %v, want %v", got, want)
	}
	for d, n := range want {
		if m, ok := got[d]; !ok || m != n {
			t.Errorf("Walk: %s = %d (listed %v), want %d", d, m, ok, n)
		}
	}
	stop := errors.New("stop")
	calls := 0
	if err := s.Walk(ctx, func(digest.Digest, int64) error { calls++; return stop }); !errors.Is(err, stop) || calls != 1 {
		t.Errorf("Walk = %v after %d calls, want stop after 1", err, calls)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := s.Walk(cctx, func(digest.Digest, int64) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("Walk with a canceled context = %v", err)
	}
}

func testURL(t *testing.T, s *Store) {
	ctx := t.Context()
	d := upload(t, s, "served by redirect", digest.SHA256)
	u, err := s.URL(ctx, d, time.Minute)
	must(t, err)
	resp, err := http.Get(u)
	must(t, err)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(b) != "served by redirect" {
		t.Fatalf("GET SAS URL = %d %q", resp.StatusCode, b)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodDelete, u, nil)
	must(t, err)
	resp, err = http.DefaultClient.Do(req)
	must(t, err)
	resp.Body.Close()
	if resp.StatusCode < 400 {
		t.Fatalf("DELETE through the read-only SAS URL = %d", resp.StatusCode)
	}
	if _, err := s.Stat(ctx, d); err != nil {
		t.Fatalf("blob gone after a DELETE through its SAS URL: %v", err)
	}
	if _, err := s.URL(ctx, "sha256:zz", time.Minute); !errors.Is(err, acreblob.ErrNotFound) {
		t.Errorf("URL of an invalid digest: %v", err)
	}
	if _, err := s.URL(ctx, d, 0); err == nil {
		t.Error("URL with no lifetime succeeded")
	}
}

// testHashStateDamaged replaces the saved sha256 state between appends or
// before the commit; the digest must come out right regardless.
func testHashStateDamaged(t *testing.T, s *Store) {
	first, second := "first part of the upload, ", "then the second part"
	damage := map[string]string{
		"missing":    "",
		"not base64": "%%%",
		"short":      "AAAA",
		"wrong size": "AAAAAAAAAAE=",
		"garbage":    strings.Repeat("QUJD", 40),
	}
	for name, value := range damage {
		for _, thenAppend := range []bool{false, true} {
			ctx := t.Context()
			id := blobtest.NewID()
			must(t, s.Start(ctx, id))
			if _, err := s.Append(ctx, id, 0, strings.NewReader(first)); err != nil {
				t.Fatal(err)
			}
			b := s.blockBlob(s.prefix + "uploads/" + id)
			md := map[string]*string{}
			if value != "" {
				md[metaHash] = &value
			}
			_, err := b.SetMetadata(ctx, md, nil)
			must(t, err)
			want := first
			if thenAppend {
				if _, err := s.Append(ctx, id, int64(len(first)), strings.NewReader(second)); err != nil {
					t.Fatalf("%s: Append after damage: %v", name, err)
				}
				want += second
			}
			d := digest.FromString(want)
			if n, err := s.Commit(ctx, id, d); err != nil || n != int64(len(want)) {
				t.Fatalf("%s (append=%v): Commit = %d, %v", name, thenAppend, n, err)
			}
			if got := readAll(t, s, d, 0); got != want {
				t.Fatalf("%s: read %q, want %q", name, got, want)
			}
		}
	}
}

// testUploadChangedDuringCommit changes the upload blob between the digest
// check and the copy; the commit must not store what it did not verify.
func testUploadChangedDuringCommit(t *testing.T, s *Store) {
	ctx := t.Context()
	id := blobtest.NewID()
	must(t, s.Start(ctx, id))
	if _, err := s.Append(ctx, id, 0, strings.NewReader("verified")); err != nil {
		t.Fatal(err)
	}
	src := s.blockBlob(s.prefix + "uploads/" + id)
	p, err := src.GetProperties(ctx, nil)
	must(t, err)
	// The upload as another writer leaves it, after the check.
	_, err = src.Upload(ctx, nopSeekCloser("tampered"), nil)
	must(t, err)
	d := digest.FromString("verified")
	final, _ := s.blobName(d)
	if err := s.copyInto(ctx, s.blockBlob(final), src, 8, *p.ETag); err == nil {
		t.Fatal("copy of a changed upload succeeded")
	}
	if _, err := s.Stat(ctx, d); !errors.Is(err, acreblob.ErrNotFound) {
		t.Fatalf("Stat after a refused copy: %v", err)
	}
	// Commit itself verifies what the upload now holds.
	if _, err := s.Commit(ctx, id, d); !errors.Is(err, acreblob.ErrDigestMismatch) {
		t.Fatalf("Commit of tampered content: %v", err)
	}
}

func testOpenPastTheEnd(t *testing.T, s *Store) {
	d := upload(t, s, "0123456789", digest.SHA256)
	for _, off := range []int64{10, 11, 1 << 40} {
		if got := readAll(t, s, d, off); got != "" {
			t.Fatalf("Open at %d read %q", off, got)
		}
	}
	if _, err := s.Open(t.Context(), d, -1); err == nil {
		t.Fatal("Open at -1 succeeded")
	}
	_, err := s.blockBlob(s.prefix+"x").DownloadStream(t.Context(), &blob.DownloadStreamOptions{})
	if !isNotFound(err) {
		t.Fatalf("download of a missing blob: %v", err)
	}
}

type readSeekNopCloser struct{ *bytes.Reader }

func (readSeekNopCloser) Close() error { return nil }

func nopSeekCloser(s string) io.ReadSeekCloser { return readSeekNopCloser{bytes.NewReader([]byte(s))} }

// TestFill needs no service: blocks fill up to the limit across short reads.
func TestFill(t *testing.T) {
	src := strings.Repeat("0123456789", 30000) // 300,000 bytes
	r := io.MultiReader(strings.NewReader(src[:7]), strings.NewReader(src[7:100000]), strings.NewReader(src[100000:]))
	var got []string
	var buf []byte
	for {
		var err error
		buf, err = fill(r, buf[:0], 128<<10)
		got = append(got, string(buf))
		if err == io.EOF {
			break
		}
		must(t, err)
		if len(buf) != 128<<10 {
			t.Fatalf("block of %d bytes without EOF", len(buf))
		}
	}
	if strings.Join(got, "") != src || len(got) != 3 {
		t.Fatalf("fill gave %d blocks, content equal %v", len(got), strings.Join(got, "") == src)
	}
}

func TestUploadNames(t *testing.T) {
	s := &Store{prefix: "p/"}
	for _, id := range []string{"upload-1-0a0b0c0d", "0b5e2a8c-3f37-4a55-9d0f-0123456789ab", "a.b_c"} {
		if n, ok := s.uploadName(id); !ok || n != "p/uploads/"+id {
			t.Errorf("uploadName(%q) = %q, %v", id, n, ok)
		}
	}
	for _, id := range []string{"", ".", "..", "a/b", `a\b`, ".hidden", "trailing.", "sp ace", "%2e", "é", strings.Repeat("a", 201)} {
		if _, ok := s.uploadName(id); ok {
			t.Errorf("uploadName(%q) accepted", id)
		}
	}
}
