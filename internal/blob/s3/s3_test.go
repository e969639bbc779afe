package s3

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/acre-project/acre/internal/blob"
	"github.com/acre-project/acre/internal/blob/blobtest"
	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/opencontainers/go-digest"
)

func TestConformance(t *testing.T) {
	g := startGateway(t)
	for _, tc := range []struct {
		name     string
		prefix   string
		partSize int64
	}{{"MinPartSize", "registry/", MinPartSize}, {"DefaultPartSize", "", 0}} {
		t.Run(tc.name, func(t *testing.T) {
			blobtest.Run(t, func(t *testing.T) blobtest.Backend {
				return g.store(t, g.bucket(t), tc.prefix, tc.partSize)
			})
		})
	}
}

func TestNew(t *testing.T) {
	g := startGateway(t)
	if _, err := New(t.Context(), Options{Endpoint: g.endpoint, Bucket: "missing", AccessKey: "AK", SecretKey: "SK", UsePathStyle: true}); err == nil {
		t.Error("New on a missing bucket succeeded")
	}
	if _, err := New(t.Context(), Options{Endpoint: g.endpoint, Bucket: g.bucket(t), PartSize: 1 << 20}); err == nil {
		t.Error("New with a 1 MiB part size succeeded")
	}
	if _, err := New(t.Context(), Options{}); err == nil {
		t.Error("New without a bucket succeeded")
	}
}

// TestTwoNodes continues an upload through a second Store value, as another
// acre node behind the same bucket would, and checks what is left behind.
func TestTwoNodes(t *testing.T) {
	g := startGateway(t)
	bucket := g.bucket(t)
	a := g.store(t, bucket, "acre", MinPartSize)
	b := g.store(t, bucket, "acre/", MinPartSize)
	ctx := t.Context()
	content := pattern(11<<20+123, 'a')
	cuts := []int{7 << 20, 9<<20 + 5, 11 << 20, len(content)} // a part, then tails

	id := "odd id+%&=;" + blobtest.NewID() // escaped in keys and copy sources
	must(t, a.Start(ctx, id))
	off := 0
	for i, cut := range cuts {
		node := []*Store{a, b}[i%2]
		if n, err := node.Size(ctx, id); err != nil || n != int64(off) {
			t.Fatalf("Size on node %d = %d, %v; want %d", i%2, n, err, off)
		}
		appendAt(t, node, id, int64(off), content[off:cut])
		off = cut
	}
	if _, err := a.Append(ctx, id, 7<<20, strings.NewReader("stale")); !errors.Is(err, blob.ErrOffset) {
		t.Fatalf("Append at a stale offset: %v", err)
	}
	if st, _, err := b.loadState(ctx, id); err != nil || st.hash() == nil {
		t.Fatalf("no resumable sha256 state saved: %v", err)
	}
	d := digest.FromBytes(content)
	if n, err := b.Commit(ctx, id, d); err != nil || n != int64(len(content)) {
		t.Fatalf("Commit on node b = %d, %v", n, err)
	}
	if _, err := a.Size(ctx, id); !errors.Is(err, blob.ErrNotFound) {
		t.Fatalf("Size on node a after commit: %v", err)
	}
	if got := readAll(t, a, d); !bytes.Equal(got, content) {
		t.Fatal("node a reads different content")
	}
	want := "acre/blobs/sha256/" + d.Encoded()[:2] + "/" + d.Encoded()
	if keys := g.keys(t, bucket, ""); len(keys) != 1 || keys[0] != want {
		t.Fatalf("keys after commit = %q, want only %q", keys, want)
	}
	mpus, err := g.client.ListMultipartUploads(ctx, &awss3.ListMultipartUploadsInput{Bucket: &bucket})
	must(t, err)
	if len(mpus.Uploads) != 0 {
		t.Fatalf("%d multipart uploads left after commit", len(mpus.Uploads))
	}

	// Abort through the other node.
	id = blobtest.NewID()
	must(t, b.Start(ctx, id))
	appendAt(t, b, id, 0, content[:6<<20])
	must(t, a.Abort(ctx, id))
	if _, err := b.Size(ctx, id); !errors.Is(err, blob.ErrNotFound) {
		t.Fatalf("Size after abort on the other node: %v", err)
	}
	if keys := g.keys(t, bucket, "acre/uploads/"); len(keys) != 0 {
		t.Fatalf("keys left after abort: %q", keys)
	}
	for _, s := range []*Store{a, b} {
		if len(s.locks.m) != 0 {
			t.Fatalf("upload locks left: %v", s.locks.m)
		}
	}
}

// TestTwoNodesRace appends at the same offset through separate Store
// values, whose in-process locks do not see each other: the conditional
// writes of the state must let exactly one through.
func TestTwoNodesRace(t *testing.T) {
	g := startGateway(t)
	bucket := g.bucket(t)
	const nodes = 4
	stores := make([]*Store, nodes)
	for i := range stores {
		stores[i] = g.store(t, bucket, "", MinPartSize)
	}
	ctx := t.Context()
	for round, size := range []int{100 << 10, 6 << 20, 11 << 20} {
		id := blobtest.NewID()
		must(t, stores[0].Start(ctx, id))
		var wg sync.WaitGroup
		errs := make([]error, nodes)
		for i, s := range stores {
			wg.Go(func() { _, errs[i] = s.Append(ctx, id, 0, bytes.NewReader(pattern(size, byte('a'+i)))) })
		}
		wg.Wait()
		winner := -1
		for i, err := range errs {
			if err == nil {
				if winner >= 0 {
					t.Fatalf("round %d: appends %d and %d both succeeded", round, winner, i)
				}
				winner = i
			}
		}
		if winner < 0 {
			t.Fatalf("round %d: no append succeeded: %v", round, errs)
		}
		want := pattern(size, byte('a'+winner))
		if _, err := stores[(winner+1)%nodes].Commit(ctx, id, digest.FromBytes(want)); err != nil {
			t.Fatalf("round %d: Commit of the winner's content: %v (append errors %v)", round, err, errs)
		}
		if got := readAll(t, stores[0], digest.FromBytes(want)); !bytes.Equal(got, want) {
			t.Fatalf("round %d: content differs", round)
		}
	}
	if keys := g.keys(t, bucket, "uploads/"); len(keys) != 0 {
		t.Fatalf("keys left under uploads/: %q", keys)
	}
}

// TestRereadAndReopen loses the sha256 state, so Commit must complete the
// multipart upload and read the data back; a mismatch then reopens it. The
// blob is also larger than maxCopy, so it is placed by a multipart copy.
func TestRereadAndReopen(t *testing.T) {
	g := startGateway(t)
	s := g.store(t, g.bucket(t), "", MinPartSize)
	s.maxCopy, s.copyPart = 6<<20, MinPartSize
	ctx := t.Context()
	content := pattern(13<<20+7, 'k')
	id := blobtest.NewID()
	must(t, s.Start(ctx, id))
	appendAt(t, s, id, 0, content[:12<<20])

	st, etag, err := s.loadState(ctx, id)
	must(t, err)
	st.SHA256 = st.SHA256[:len(st.SHA256)-1]
	_, err = s.putState(ctx, id, &st, etag)
	must(t, err)

	for _, wrong := range []digest.Digest{digest.FromBytes(content), digest.SHA512.FromBytes(content[:12<<20-1])} {
		if _, err := s.Commit(ctx, id, wrong); !errors.Is(err, blob.ErrDigestMismatch) {
			t.Fatalf("Commit(%s): %v, want ErrDigestMismatch", wrong.Algorithm(), err)
		}
		if n, err := s.Size(ctx, id); err != nil || n != 12<<20 {
			t.Fatalf("Size after a mismatch = %d, %v", n, err)
		}
	}
	// A Commit that completed the multipart upload, then failed.
	u, err := s.session(ctx, id)
	must(t, err)
	_, err = u.finish(ctx)
	must(t, err)
	appendAt(t, s, id, 12<<20, content[12<<20:])
	for _, d := range []digest.Digest{digest.SHA512.FromBytes(content), digest.FromBytes(content)} {
		id2 := id
		if d.Algorithm() == digest.SHA256 { // a second session, with its hash state
			id2 = blobtest.NewID()
			must(t, s.Start(ctx, id2))
			appendAt(t, s, id2, 0, content)
		}
		if n, err := s.Commit(ctx, id2, d); err != nil || n != int64(len(content)) {
			t.Fatalf("Commit(%s) = %d, %v", d.Algorithm(), n, err)
		}
		if got := readAll(t, s, d); !bytes.Equal(got, content) {
			t.Fatalf("%s blob reads different content", d.Algorithm())
		}
	}
}

func TestWalk(t *testing.T) {
	g := startGateway(t)
	bucket := g.bucket(t)
	s := g.store(t, bucket, "p", 0)
	ctx := t.Context()
	want := map[digest.Digest]int64{}
	for _, c := range []string{"", "one", "two two"} {
		d := blobtest.NewID()
		must(t, s.Start(ctx, d))
		appendAt(t, s, d, 0, []byte(c))
		dg := digest.FromString(c)
		if c == "one" {
			dg = digest.SHA512.FromString(c)
		}
		_, err := s.Commit(ctx, d, dg)
		must(t, err)
		want[dg] = int64(len(c))
	}
	pending := blobtest.NewID()
	must(t, s.Start(ctx, pending))
	appendAt(t, s, pending, 0, []byte("pending"))
	hex := digest.FromString("stray").Encoded()
	for _, k := range []string{"p/blobs/sha256/" + hex[:2] + "/x", "p/blobs/sha256/00/" + hex, "p/blobs/md5/9a/9a0364b9e99bb480dd25e1f0284c8555", "other/blobs/sha256/" + hex[:2] + "/" + hex} {
		_, err := g.client.PutObject(ctx, &awss3.PutObjectInput{Bucket: &bucket, Key: aws.String(k), Body: strings.NewReader("junk")})
		must(t, err)
	}
	got := map[digest.Digest]int64{}
	must(t, s.Walk(ctx, func(d digest.Digest, n int64) error { got[d] = n; return nil }))
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("Walk = %v, want %v", got, want)
	}
	stop := errors.New("stop")
	if err := s.Walk(ctx, func(digest.Digest, int64) error { return stop }); !errors.Is(err, stop) {
		t.Fatalf("Walk returned %v, want the callback's error", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := s.Walk(cctx, func(digest.Digest, int64) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Fatalf("Walk with a canceled context: %v", err)
	}
}

func TestURL(t *testing.T) {
	g := startGateway(t)
	s := g.store(t, g.bucket(t), "", 0)
	ctx := t.Context()
	id := blobtest.NewID()
	must(t, s.Start(ctx, id))
	appendAt(t, s, id, 0, []byte("presigned"))
	d := digest.FromString("presigned")
	_, err := s.Commit(ctx, id, d)
	must(t, err)
	u, err := s.URL(ctx, d, time.Minute)
	must(t, err)
	resp, err := http.Get(u)
	must(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "presigned" {
		t.Fatalf("GET presigned URL: %d %q", resp.StatusCode, body)
	}
	if _, err := s.URL(ctx, "sha256:zz", time.Minute); !errors.Is(err, blob.ErrNotFound) {
		t.Fatalf("URL of an invalid digest: %v", err)
	}
}
