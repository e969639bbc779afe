package server

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/acre-project/acre/internal/config"
	"github.com/opencontainers/go-digest"
)

// receiver is a real HTTP endpoint that records what it is sent; it
// answers the first failures requests with 500.
type receiver struct {
	mu       sync.Mutex
	got      []received
	failures int
	ts       *httptest.Server
}

type received struct {
	body    map[string]any
	raw     []byte
	headers http.Header
}

func newReceiver(t *testing.T, failures int) *receiver {
	rc := &receiver{failures: failures}
	rc.ts = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		defer rc.mu.Unlock()
		if rc.failures > 0 {
			rc.failures--
			http.Error(w, "not now", http.StatusInternalServerError)
			return
		}
		var m map[string]any
		_ = json.Unmarshal(b, &m)
		rc.got = append(rc.got, received{body: m, raw: b, headers: r.Header.Clone()})
	}))
	t.Cleanup(rc.ts.Close)
	return rc
}

// wait returns the deliveries once there are n, failing after a timeout.
func (rc *receiver) wait(t *testing.T, n int) []received {
	t.Helper()
	deadline := time.Now().Add(time.Minute) // generous: a busy machine is slow
	for time.Now().Before(deadline) {
		rc.mu.Lock()
		got := append([]received(nil), rc.got...)
		rc.mu.Unlock()
		if len(got) >= n {
			return got
		}
		time.Sleep(20 * time.Millisecond)
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	t.Fatalf("got %d deliveries, want %d", len(rc.got), n)
	return nil
}

// allowLoopbackReceivers lets deliveries reach the test receivers, which
// listen on loopback (refused by default; acre's own listener stays refused).
func allowLoopbackReceivers(c *config.Config) { c.Webhooks.Allow = []string{"127.0.0.0/8"} }

// runBackground runs the server's background work (webhook delivery)
// until the test ends.
func (s *testServer) runBackground(t *testing.T) {
	done := make(chan struct{})
	go func() { s.srv.Background(t.Context()); close(done) }()
	t.Cleanup(func() { <-done }) // t.Context is done before cleanups run
}

func TestWebhookDelivery(t *testing.T) {
	s := newTestServer(t, allowLoopbackReceivers)
	s.runBackground(t)
	owner := cred{user: "owner", pass: ownerPass}
	rc := newReceiver(t, 2) // the first two attempts fail: retried with backoff
	s.api(http.MethodPost, "/api/v1/registries/acre/webhooks", map[string]any{"name": "deploy", "serviceUri": rc.ts.URL + "/hook",
		"actions": []string{"push", "delete"}, "scope": "api:*", "customHeaders": map[string]string{"Authorization": "Bearer x"},
		"secret": "s3cret"}, nil)
	img := newImage("v1", nil)
	if st := s.push(owner, "api", "v1", img); st != 201 {
		t.Fatalf("push: %d", st)
	}
	if st := s.push(owner, "web", "v1", newImage("web", nil)); st != 201 { // out of scope
		t.Fatalf("push: %d", st)
	}
	s.do("DELETE", "/v2/api/manifests/v1", owner, nil) // untag: no event
	s.do("DELETE", "/v2/api/manifests/"+img.digest.String(), owner, nil)
	got := rc.wait(t, 2)
	push, del := got[0].body, got[1].body
	target := push["target"].(map[string]any)
	req := push["request"].(map[string]any)
	checks := []struct {
		name      string
		got, want any
	}{
		{"action", push["action"], "push"},
		{"target.repository", target["repository"], "api"},
		{"target.tag", target["tag"], "v1"},
		{"target.digest", target["digest"], img.digest.String()},
		{"target.mediaType", target["mediaType"], "application/vnd.oci.image.manifest.v1+json"},
		{"target.size", target["size"], float64(len(img.manifest))},
		{"target.length", target["length"], float64(len(img.manifest))},
		{"request.method", req["method"], "PUT"},
		{"second action", del["action"], "delete"},
		{"delete digest", del["target"].(map[string]any)["digest"], img.digest.String()},
		{"custom header", got[0].headers.Get("Authorization"), "Bearer x"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	if push["id"] == "" || push["timestamp"] == "" || req["id"] == "" || req["useragent"] == "" {
		t.Errorf("payload lacks id, timestamp or request fields: %s", got[0].raw)
	}
	m := hmac.New(sha256.New, []byte("s3cret"))
	m.Write(got[0].raw)
	if sig := got[0].headers.Get("X-Acre-Signature"); sig != "sha256="+hex.EncodeToString(m.Sum(nil)) {
		t.Errorf("signature %q", sig)
	}
	var events []struct {
		State    string
		Attempts int
	}
	// The receiver has both; the dispatcher records each outcome just after.
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		s.api(http.MethodGet, "/api/v1/registries/acre/webhooks/deploy/events", nil, &events)
		if len(events) != 2 || events[0].State == "delivered" || time.Now().After(deadline) {
			break
		}
	}
	if len(events) != 2 || events[1].Attempts != 3 || events[1].State != "delivered" {
		t.Errorf("list-events: %+v (the first delivery needed 3 attempts)", events)
	}

	// Pages of one, followed by their Link headers, reach every delivery,
	// shaped as ARM's events: the content an object, the status a string.
	var seen []string
	for path := "/api/v1/registries/acre/webhooks/deploy/events?n=1"; path != ""; {
		resp, b := s.do(http.MethodGet, path, owner, nil)
		var page []struct {
			ID      string `json:"id"`
			Request struct {
				Content map[string]any `json:"content"`
			} `json:"eventRequestMessage"`
			Response struct {
				StatusCode string `json:"statusCode"`
			} `json:"eventResponseMessage"`
		}
		if resp.StatusCode != 200 || json.Unmarshal(b, &page) != nil || len(page) > 1 {
			t.Fatalf("GET %s: %d %s", path, resp.StatusCode, b)
		}
		for _, e := range page {
			if e.Request.Content["id"] != e.ID || e.Response.StatusCode != "200" {
				t.Errorf("event %s: content %v, status %q", e.ID, e.Request.Content, e.Response.StatusCode)
			}
			seen = append(seen, e.ID)
		}
		path = ""
		if l := resp.Header.Get("Link"); l != "" {
			path = l[strings.Index(l, "<")+1 : strings.Index(l, ">")]
		}
	}
	if len(seen) != 2 || seen[0] == seen[1] {
		t.Errorf("paging reached %v, want both deliveries", seen)
	}
	if resp, _ := s.do(http.MethodGet, "/api/v1/registries/acre/webhooks/deploy/events?before="+seen[0], owner, nil); resp.StatusCode != 400 {
		t.Errorf("before=<event id>: %d, want 400", resp.StatusCode)
	}
}

func TestWebhookChartsPingAndRules(t *testing.T) {
	s := newTestServer(t, func(c *config.Config) {
		allowLoopbackReceivers(c)
		c.Registries = []config.Registry{{Name: "basic", SKU: "Basic"}}
	})
	s.runBackground(t)
	owner := cred{user: "owner", pass: ownerPass}
	rc := newReceiver(t, 0)
	s.api(http.MethodPost, "/api/v1/registries/acre/webhooks", map[string]any{"name": "charts", "serviceUri": rc.ts.URL,
		"actions": []string{"chart_push", "chart_delete"}}, nil)
	s.api(http.MethodPost, "/api/v1/registries/acre/webhooks/charts/ping", nil, nil)
	if got := rc.wait(t, 1); got[0].body["action"] != "ping" {
		t.Fatalf("ping: %s", got[0].raw)
	}
	// A Helm chart pushed as an OCI artifact.
	cfg := []byte(`{"name":"wordpress","version":"5.4.0","apiVersion":"v2"}`)
	chart := []byte("chart tarball")
	m, _ := json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
		"config": map[string]any{"mediaType": "application/vnd.cncf.helm.config.v1+json", "digest": digest.FromBytes(cfg), "size": len(cfg)},
		"layers": []any{map[string]any{"mediaType": "application/vnd.cncf.helm.chart.content.v1.tar+gzip", "digest": digest.FromBytes(chart), "size": len(chart)}}})
	img := image{manifest: m, digest: digest.FromBytes(m), blobs: map[digest.Digest][]byte{digest.FromBytes(cfg): cfg, digest.FromBytes(chart): chart}}
	if st := s.push(owner, "charts/wordpress", "5.4.0", img); st != 201 {
		t.Fatalf("push chart: %d", st)
	}
	s.do("DELETE", "/v2/charts/wordpress/manifests/"+img.digest.String(), owner, nil)
	got := rc.wait(t, 3)
	for i, want := range []string{"chart_push", "chart_delete"} {
		b := got[i+1].body
		tg := b["target"].(map[string]any)
		if b["action"] != want || tg["name"] != "wordpress" || tg["version"] != "5.4.0" || tg["tag"] != "wordpress-5.4.0.tgz" ||
			tg["mediaType"] != "application/vnd.acr.helm.chart" || b["request"] != nil {
			t.Errorf("%s payload: %s", want, got[i+1].raw)
		}
	}

	refused := []struct {
		name string
		body map[string]any
	}{
		{"not http", map[string]any{"name": "hook1", "serviceUri": "ftp://x/y", "actions": []string{"push"}}},
		{"own management API", map[string]any{"name": "hook2", "serviceUri": s.ts.URL + "/api/v1/registries", "actions": []string{"push"}}},
		{"own API by login server", map[string]any{"name": "hook3", "serviceUri": "http://acre.localhost/oauth2/token", "actions": []string{"push"}}},
		{"unknown action", map[string]any{"name": "hook4", "serviceUri": rc.ts.URL, "actions": []string{"pull"}}},
		{"bad name", map[string]any{"name": "a", "serviceUri": rc.ts.URL, "actions": []string{"push"}}},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			b, _ := json.Marshal(tt.body)
			if resp, body := s.do("POST", "/api/v1/registries/acre/webhooks", owner, b); resp.StatusCode != 400 {
				t.Fatalf("%d %s", resp.StatusCode, body)
			}
		})
	}
	// The Basic SKU allows 2 webhooks.
	for i, want := range []int{201, 201, 400} {
		b, _ := json.Marshal(map[string]any{"name": "limit" + string(rune('a'+i)) + "hook", "serviceUri": rc.ts.URL, "actions": []string{"push"}})
		if resp, body := s.do("POST", "/api/v1/registries/basic/webhooks", owner, b); resp.StatusCode != want {
			t.Fatalf("webhook %d on Basic: %d %s", i+1, resp.StatusCode, body)
		}
	}
}
