package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/acre-project/acre/internal/config"
	"github.com/acre-project/acre/internal/lifecycle"
	"github.com/opencontainers/go-digest"
)

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
