package server

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

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

func blobFile(dir string, d digest.Digest) string {
	return filepath.Join(dir, "blobs", "blobs", d.Algorithm().String(), d.Encoded()[:2], d.Encoded())
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
	if _, err := os.Stat(blobFile(dir, digest.FromBytes(base))); err != nil {
		t.Errorf("the shared base layer was freed: %v", err)
	}
	for _, img := range deleted[:5] {
		for d, b := range img.blobs {
			if string(b) == string(base) {
				continue
			}
			if _, err := os.Stat(blobFile(dir, d)); err == nil {
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

func (s *testServer) retention(t *testing.T, p map[string]any) {
	s.api(http.MethodPut, "/api/v1/registries/acre/retention", p, nil)
}

func (s *testServer) apply(t *testing.T) []lifecycle.Deletion {
	reg, _ := s.srv.svc.GetRegistry(context.Background(), "acre")
	d, err := s.srv.life.ApplyRetention(context.Background(), reg)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestRetention(t *testing.T) {
	owner := cred{user: "owner", pass: ownerPass}
	exists := func(s *testServer, img image) bool {
		resp, _ := s.do("HEAD", "/v2/app/manifests/"+img.digest.String(), owner, nil)
		return resp.StatusCode == 200
	}
	t.Run("untagged before enabling is kept, after is deleted", func(t *testing.T) {
		s := newTestServer(t, nil)
		old := newImage("old", nil)
		s.push(owner, "app", "old", old)
		s.do("DELETE", "/v2/app/manifests/old", owner, nil) // untagged before the policy
		s.retention(t, map[string]any{"enabled": true, "days": 0})
		img := newImage("v1", nil)
		s.push(owner, "app", "v1", img)
		s.do("DELETE", "/v2/app/manifests/v1", owner, nil)
		d := s.apply(t)
		if len(d) != 1 || exists(s, img) || !exists(s, old) {
			t.Fatalf("deleted %+v", d)
		}
	})
	t.Run("tagged again is never deleted", func(t *testing.T) {
		s := newTestServer(t, nil)
		s.retention(t, map[string]any{"enabled": true, "days": 0})
		img := newImage("v1", nil)
		s.push(owner, "app", "v1", img)
		s.do("DELETE", "/v2/app/manifests/v1", owner, nil)
		s.push(owner, "app", "v2", img) // tagged again
		if d := s.apply(t); len(d) != 0 || !exists(s, img) {
			t.Fatalf("deleted a re-tagged manifest: %+v", d)
		}
	})
	t.Run("not yet due is kept", func(t *testing.T) {
		s := newTestServer(t, nil)
		s.retention(t, map[string]any{"enabled": true, "days": 7})
		img := newImage("v1", nil)
		s.push(owner, "app", "v1", img)
		s.do("DELETE", "/v2/app/manifests/v1", owner, nil)
		if d := s.apply(t); len(d) != 0 {
			t.Fatalf("deleted before its days: %+v", d)
		}
	})
	t.Run("locked is skipped", func(t *testing.T) {
		s := newTestServer(t, nil)
		s.retention(t, map[string]any{"enabled": true, "days": 0})
		img := newImage("v1", nil)
		s.push(owner, "app", img.digest.String(), img)
		s.do("PATCH", "/acr/v1/app/_manifests/"+img.digest.String(), owner, []byte(`{"deleteEnabled":false}`))
		if d := s.apply(t); len(d) != 0 || !exists(s, img) {
			t.Fatalf("deleted a locked manifest: %+v", d)
		}
	})
	t.Run("a manifest an index references is kept", func(t *testing.T) {
		s := newTestServer(t, nil)
		s.retention(t, map[string]any{"enabled": true, "days": 0})
		child := newImage("child", nil)
		s.push(owner, "app", child.digest.String(), child)
		idx, _ := json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
			"manifests": []any{map[string]any{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": child.digest, "size": len(child.manifest)}}})
		if resp, b := s.do("PUT", "/v2/app/manifests/multi", owner, idx, "Content-Type", "application/vnd.oci.image.index.v1+json"); resp.StatusCode != 201 {
			t.Fatalf("index: %d %s", resp.StatusCode, b)
		}
		if d := s.apply(t); len(d) != 0 || !exists(s, child) {
			t.Fatalf("deleted an index's child: %+v", d)
		}
		s.do("DELETE", "/v2/app/manifests/multi", owner, nil) // the index is untagged, then goes
		s.apply(t)
		s.apply(t) // then its child
		if exists(s, child) {
			t.Fatal("the child outlived its index")
		}
	})
	t.Run("keep newest tags", func(t *testing.T) {
		s := newTestServer(t, nil)
		for i := range 5 {
			s.push(owner, "app", fmt.Sprintf("v%d", i), newImage(fmt.Sprintf("v%d", i), nil))
			time.Sleep(2 * time.Millisecond)
		}
		s.retention(t, map[string]any{"enabled": true, "days": 0, "keepTags": 2})
		s.apply(t)
		var tl struct{ Tags []string }
		_, b := s.do("GET", "/v2/app/tags/list", owner, nil)
		_ = json.Unmarshal(b, &tl)
		if fmt.Sprint(tl.Tags) != "[v3 v4]" {
			t.Fatalf("tags left: %v", tl.Tags)
		}
	})
}

func TestPurge(t *testing.T) {
	owner := cred{user: "owner", pass: ownerPass}
	setup := func(t *testing.T) *testServer {
		s := newTestServer(t, nil)
		for _, r := range []string{"api", "web"} {
			for i := range 4 {
				tag := fmt.Sprintf("dev-%d", i)
				if i == 3 {
					tag = "prod"
				}
				s.push(owner, r, tag, newImage(r+tag, nil))
				time.Sleep(2 * time.Millisecond)
			}
		}
		s.push(owner, "api", "untagged", newImage("dangling", nil))
		s.do("DELETE", "/v2/api/manifests/untagged", owner, nil)
		s.do("PATCH", "/acr/v1/web/_tags/dev-0", owner, []byte(`{"deleteEnabled":false}`))
		return s
	}
	purge := func(s *testServer, o map[string]any) lifecycle.PurgeResult {
		var res lifecycle.PurgeResult
		s.api(http.MethodPost, "/api/v1/registries/acre/purge", o, &res)
		return res
	}
	opts := map[string]any{"filters": []string{"api:.*", "web:^dev-"}, "ago": "0d", "untagged": true, "keep": 1}
	s := setup(t)
	dry := opts
	dry["dryRun"] = true
	plan := purge(s, dry)
	// api: dev-0..2 and prod match ".*"; the newest (prod) is kept: dev-0..2 go.
	// web: dev-0..2 match, dev-2 kept, dev-0 locked: dev-1 goes.
	if len(plan.Tags) != 4 || len(plan.Manifests) != 5 {
		t.Fatalf("dry run: %+v", plan)
	}
	var tl struct{ Tags []string }
	_, b := s.do("GET", "/v2/api/tags/list", owner, nil)
	_ = json.Unmarshal(b, &tl)
	if len(tl.Tags) != 4 {
		t.Fatalf("a dry run deleted: %v", tl.Tags)
	}
	real := opts
	real["dryRun"] = false
	done := purge(s, real)
	if fmt.Sprint(done.Tags) != fmt.Sprint(plan.Tags) && len(done.Tags) != len(plan.Tags) {
		t.Fatalf("the real run differs from the dry run:\n%+v\n%+v", done, plan)
	}
	if len(done.Manifests) != len(plan.Manifests) {
		t.Fatalf("manifests: real %d, dry %d", len(done.Manifests), len(plan.Manifests))
	}
	_, b = s.do("GET", "/v2/web/tags/list", owner, nil)
	_ = json.Unmarshal(b, &tl)
	if fmt.Sprint(tl.Tags) != "[dev-0 dev-2 prod]" {
		t.Fatalf("web tags left: %v", tl.Tags)
	}
	if resp, b := s.do("POST", "/api/v1/registries/acre/purge", owner, []byte(`{"filters":["bad"]}`)); resp.StatusCode != 400 {
		t.Fatalf("bad filter: %d %s", resp.StatusCode, b)
	}
	// Scheduled purges are kept by the server.
	var sch lifecycle.PurgeSchedule
	s.api(http.MethodPut, "/api/v1/registries/acre/purgeSchedules/nightly", map[string]any{"schedule": "0 1 * * *",
		"options": map[string]any{"filters": []string{".*:.*"}, "ago": "30d"}}, &sch)
	if sch.NextRun.Hour() != 1 {
		t.Fatalf("schedule: %+v", sch)
	}
}

func TestQuotaAndThrottling(t *testing.T) {
	owner := cred{user: "owner", pass: ownerPass}
	s := newTestServer(t, func(c *config.Config) {
		c.SKULimits = map[string]config.SKULimits{"Standard": {StorageLimitBytes: 2000, ReadOpsPerMinute: 60}}
	})
	if st := s.push(owner, "app", "v1", newImage("v1", nil)); st != 201 {
		t.Fatalf("push under quota: %d", st)
	}
	big := newImage("big", nil)
	for d := range big.blobs {
		big.blobs[d] = make([]byte, 3000)
		delete(big.blobs, d)
		break
	}
	// Fill past the limit with one large blob, then everything is refused.
	blob := make([]byte, 3000)
	d := digest.FromBytes(blob)
	if resp, _ := s.do("POST", "/v2/app/blobs/uploads/?digest="+d.String(), owner, blob); resp.StatusCode != 201 {
		t.Fatalf("blob: %d", resp.StatusCode)
	}
	resp, b := s.do("POST", "/v2/app/blobs/uploads/", owner, nil)
	if resp.StatusCode != 403 || !json.Valid(b) {
		t.Fatalf("push over quota: %d %s", resp.StatusCode, b)
	}
	if resp, _ := s.do("GET", "/v2/app/manifests/v1", owner, nil); resp.StatusCode != 200 {
		t.Fatalf("pull over quota: %d", resp.StatusCode)
	}
	if resp, _ := s.do("DELETE", "/v2/app/blobs/"+d.String(), owner, nil); resp.StatusCode != 202 {
		t.Fatalf("delete over quota: %d", resp.StatusCode)
	}
	if resp, b := s.do("POST", "/v2/app/blobs/uploads/", owner, nil); resp.StatusCode != 202 {
		t.Fatalf("push after freeing: %d %s", resp.StatusCode, b)
	}
	checkUsage(t, s)

	s.api(http.MethodPatch, "/api/v1/registries/acre", map[string]bool{"throttlingEnabled": true}, nil)
	// Read until refused: the bucket holds a minute's worth (60) and refills
	// one a second, so a client reading faster than that is refused soon; the
	// deadline only stops a hang.
	var throttled *http.Response
	for deadline := time.Now().Add(2 * time.Minute); throttled == nil && time.Now().Before(deadline); {
		resp, _ := s.do("HEAD", "/v2/app/manifests/v1", owner, nil)
		if resp.StatusCode == http.StatusTooManyRequests {
			throttled = resp
		}
	}
	if throttled == nil || throttled.Header.Get("Retry-After") == "" {
		t.Fatal("no 429 with Retry-After past 60 reads a minute")
	}
	wait, _ := strconv.Atoi(throttled.Header.Get("Retry-After"))
	time.Sleep(time.Duration(wait) * time.Second)
	if resp, _ := s.do("HEAD", "/v2/app/manifests/v1", owner, nil); resp.StatusCode != 200 {
		t.Fatalf("after backing off: %d", resp.StatusCode)
	}
}

func TestLastPullTime(t *testing.T) {
	owner := cred{user: "owner", pass: ownerPass}
	s := newTestServer(t, nil)
	img := newImage("v1", nil)
	s.push(owner, "app", "v1", img)
	s.do("GET", "/v2/app/manifests/v1", owner, nil)
	if err := s.srv.pulls.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	var tag struct {
		Tag struct{ LastPullTime string }
	}
	s.api(http.MethodGet, "/acr/v1/app/_tags/v1", nil, &tag)
	var man struct {
		Manifest struct{ LastPullTime string }
	}
	s.api(http.MethodGet, "/acr/v1/app/_manifests/"+img.digest.String(), nil, &man)
	if tag.Tag.LastPullTime == "" || man.Manifest.LastPullTime == "" {
		t.Fatalf("last pull times: tag %q, manifest %q", tag.Tag.LastPullTime, man.Manifest.LastPullTime)
	}
}
