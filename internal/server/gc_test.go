package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/acre-project/acre/internal/blob"
	"github.com/acre-project/acre/internal/blob/fs"
	"github.com/acre-project/acre/internal/config"
	"github.com/acre-project/acre/internal/lifecycle"
	"github.com/opencontainers/go-digest"
)

// imageOn builds an image whose first layer is shared.
func imageOn(base []byte, tag string) image {
	img := newImage(tag, nil)
	var m map[string]any
	_ = json.Unmarshal(img.manifest, &m)
	layers := m["layers"].([]any)
	bd := digest.FromBytes(base)
	m["layers"] = append([]any{map[string]any{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": bd, "size": len(base)}}, layers...)
	b, _ := json.Marshal(m)
	img.manifest, img.digest = b, digest.FromBytes(b)
	img.blobs[bd] = base
	return img
}

func (s *testServer) verifyImage(c cred, repo string, img image) error {
	resp, b := s.do("GET", "/v2/"+repo+"/manifests/"+img.digest.String(), c, nil)
	if resp.StatusCode != 200 || string(b) != string(img.manifest) {
		return fmt.Errorf("manifest %s@%s: %d", repo, img.digest, resp.StatusCode)
	}
	for d, want := range img.blobs {
		resp, b := s.do("GET", "/v2/"+repo+"/blobs/"+d.String(), c, nil)
		if resp.StatusCode != 200 || string(b) != string(want) {
			return fmt.Errorf("blob %s in %s: %d", d, repo, resp.StatusCode)
		}
	}
	return nil
}

// stored tells whether the server with data in dir keeps d's bytes, in a
// file or inline in its database.
func (s *testServer) stored(dir string, d digest.Digest) bool {
	s.t.Helper()
	files, err := fs.New(filepath.Join(dir, "blobs"))
	if err != nil {
		s.t.Fatal(err)
	}
	_, err = ContentStore(files, s.srv.meta).Stat(s.t.Context(), d)
	if err != nil && !errors.Is(err, blob.ErrNotFound) {
		s.t.Fatal(err)
	}
	return err == nil
}

// TestGCStress runs pushes, deletes and GC passes at once until enough work
// is done (a number of acknowledged pushes, the deleter caught up, a few GC
// passes; never a fixed time), then pulls every image still acknowledged,
// byte for byte; checks that deleted images' own blobs are freed while
// shared layers stay; and that usage stays exact.
func TestGCStress(t *testing.T) {
	const (
		pushes = 20 // acknowledged pushes in all
		keep   = 5  // the deleter leaves at least this many images live
		slack  = 10 // and stops once writers are done and at most this many are
	)
	dir := t.TempDir()
	s := newTestServer(t, func(c *config.Config) { c.Data = dir; c.Lifecycle.GCGrace = 50 * time.Millisecond })
	owner := cred{user: "owner", pass: ownerPass}
	base := []byte("shared base layer")
	// The deadline only stops a test that hangs; it is far beyond the work's need.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var mu sync.Mutex
	live := map[string]image{} // repo@digest -> image
	var deleted []image
	var pushed atomic.Int64
	var writers, others sync.WaitGroup
	writersDone := make(chan struct{})
	for w := range 3 {
		writers.Add(1)
		go func() {
			defer writers.Done()
			for i := 0; ctx.Err() == nil && pushed.Load() < pushes; i++ {
				repo := fmt.Sprintf("stress/r%d", i%3)
				img := imageOn(base, fmt.Sprintf("w%d-%d", w, i))
				if s.push(owner, repo, "t"+strconv.Itoa(w)+"-"+strconv.Itoa(i), img) == 201 {
					mu.Lock()
					live[repo+"@"+img.digest.String()] = img
					mu.Unlock()
					pushed.Add(1)
				}
			}
		}()
	}
	go func() { writers.Wait(); close(writersDone) }()
	deleterDone := make(chan struct{})
	others.Add(1)
	go func() { // deleter: keeps a few images live, deletes the rest as they come
		defer others.Done()
		defer close(deleterDone)
		for ctx.Err() == nil {
			mu.Lock()
			var key string
			var img image
			n := len(live)
			if n > keep {
				for k, v := range live {
					key, img = k, v
					break
				}
				delete(live, key)
			}
			mu.Unlock()
			if key == "" {
				select {
				case <-writersDone:
					if n <= slack {
						return
					}
				case <-time.After(5 * time.Millisecond):
				}
				continue
			}
			repo := key[:len(key)-len(img.digest.String())-1]
			if resp, _ := s.do("DELETE", "/v2/"+repo+"/manifests/"+img.digest.String(), owner, nil); resp.StatusCode != 202 {
				t.Errorf("delete %s: %d", key, resp.StatusCode)
			}
			mu.Lock()
			deleted = append(deleted, img)
			mu.Unlock()
			time.Sleep(time.Duration(rand.IntN(20)) * time.Millisecond)
		}
	}()
	passes := 0
	others.Add(1)
	go func() { // GC, continuously, and at least a few passes
		defer others.Done()
		for ctx.Err() == nil {
			if _, err := s.srv.life.CollectGarbage(context.Background()); err != nil {
				t.Errorf("gc: %v", err)
			}
			passes++
			select {
			case <-deleterDone:
				if passes >= 3 {
					return
				}
			default:
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()
	writers.Wait()
	others.Wait()
	if ctx.Err() != nil {
		t.Fatalf("the work did not finish: %d pushes acknowledged, %d deleted, %d GC passes", pushed.Load(), len(deleted), passes)
	}
	var st lifecycle.GCStats
	for range 2 { // links go, then (after the grace period) their blobs
		time.Sleep(100 * time.Millisecond)
		var err error
		if st, err = s.srv.life.CollectGarbage(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("%d GC passes; %d images live, %d deleted; last pass %+v", passes, len(live), len(deleted), st)
	if len(live) < 5 || len(deleted) < 5 {
		t.Fatalf("too little happened: %d live, %d deleted", len(live), len(deleted))
	}
	for key, img := range live {
		repo := key[:len(key)-len(img.digest.String())-1]
		if err := s.verifyImage(owner, repo, img); err != nil {
			t.Errorf("acknowledged image lost: %v", err)
		}
	}
	if !s.stored(dir, digest.FromBytes(base)) {
		t.Errorf("the shared base layer was freed")
	}
	for _, img := range deleted[:5] {
		for d, b := range img.blobs {
			if string(b) == string(base) {
				continue
			}
			if s.stored(dir, d) {
				t.Errorf("blob %s of a deleted image was not freed", d)
			}
		}
	}
	checkUsage(t, s)
}

// checkUsage compares the kept usage with a full count.
func checkUsage(t *testing.T, s *testServer) {
	t.Helper()
	reg, _ := s.srv.svc.GetRegistry(context.Background(), "acre")
	kept, _ := s.srv.life.Usage(context.Background(), reg)
	counted, _ := s.srv.life.StorageUsed(context.Background(), reg)
	if kept != counted {
		t.Fatalf("usage drifted: kept %d, counted %d", kept, counted)
	}
}

// TestGCInFlightPush is the classic race: a blob is uploaded, GC runs,
// then the manifest arrives. Within the grace period the push succeeds.
func TestGCInFlightPush(t *testing.T) {
	s := newTestServer(t, func(c *config.Config) { c.Lifecycle.GCGrace = time.Hour })
	owner := cred{user: "owner", pass: ownerPass}
	img := newImage("v1", nil)
	for d, b := range img.blobs {
		if resp, _ := s.do("POST", "/v2/app/blobs/uploads/?digest="+d.String(), owner, b); resp.StatusCode != 201 {
			t.Fatalf("upload: %d", resp.StatusCode)
		}
	}
	for range 3 {
		if _, err := s.srv.life.CollectGarbage(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	resp, body := s.do("PUT", "/v2/app/manifests/v1", owner, img.manifest, "Content-Type", "application/vnd.oci.image.manifest.v1+json")
	if resp.StatusCode != 201 {
		t.Fatalf("manifest after GC: %d %s", resp.StatusCode, body)
	}
	if err := s.verifyImage(owner, "app", img); err != nil {
		t.Fatal(err)
	}
}
