package server

import (
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/acre-project/acre/internal/config"
)

// hitCounter is a receiver that counts requests and answers body.
func hitCounter(t *testing.T, body string) (*httptest.Server, *atomic.Int64) {
	var n atomic.Int64
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(ts.Close)
	return ts, &n
}

// deliveryEvent is one entry of a webhook's event list.
type deliveryEvent struct {
	State    string
	Attempts int
	Error    string
	Response struct {
		StatusCode string `json:"statusCode"`
		Content    string `json:"content"`
	} `json:"eventResponseMessage"`
}

// firstAttempt pings the webhook and waits (generously) until the ping's
// first delivery attempt is recorded; it returns the event as c sees it.
func (s *testServer) firstAttempt(t *testing.T, hook string, c cred) deliveryEvent {
	t.Helper()
	s.api(http.MethodPost, "/api/v1/registries/acre/webhooks/"+hook+"/ping", nil, nil)
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, b := s.do("GET", "/api/v1/registries/acre/webhooks/"+hook+"/events", c, nil)
		var evs []deliveryEvent
		if resp.StatusCode != 200 || json.Unmarshal(b, &evs) != nil {
			t.Fatalf("events: %d %s", resp.StatusCode, b)
		}
		if len(evs) > 0 && evs[0].Attempts > 0 {
			return evs[0]
		}
		if time.Now().After(deadline) {
			t.Fatalf("no delivery attempt for %s: %s", hook, b)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestWebhookSSRF checks that deliveries are decided on the address
// actually dialled: acre's own API behind an encoded path, a name that
// resolves to loopback, an IPv4-mapped loopback address, the cloud metadata
// address and a receiver that redirects to loopback never reach their
// target; an allowed private receiver does; and only those who may manage
// webhooks see what a receiver answered.
func TestWebhookSSRF(t *testing.T) {
	canary, canaryHits := hitCounter(t, "canary")
	allowed, allowedHits := hitCounter(t, "receiver-secret")
	redirector := httptest.NewServer(http.RedirectHandler(canary.URL+"/stolen", http.StatusTemporaryRedirect))
	t.Cleanup(redirector.Close)
	s := newTestServer(t, func(c *config.Config) {
		c.Webhooks.Allow = []string{allowed.Listener.Addr().String(), redirector.Listener.Addr().String()}
	})
	s.runBackground(t)
	_, acrePort, _ := net.SplitHostPort(s.ts.Listener.Addr().String())
	_, canaryPort, _ := net.SplitHostPort(canary.Listener.Addr().String())
	owner := cred{user: "owner", pass: ownerPass}

	tests := []struct {
		name, uri string
		reach     bool
	}{
		{"acre's own API by an encoded path", "http://127.0.0.1:" + acrePort + "/%76%32/", false},
		{"a name that resolves to loopback", "http://localhost:" + canaryPort + "/hook", false},
		{"IPv4-mapped loopback", "http://[::ffff:127.0.0.1]:" + canaryPort + "/hook", false},
		{"cloud metadata service", "http://169.254.169.254/latest/meta-data/", false},
		{"redirect to loopback", redirector.URL + "/hook", false},
		{"allowed private receiver", allowed.URL + "/hook", true},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name := "ssrfhook" + string(rune('a'+i))
			s.api(http.MethodPost, "/api/v1/registries/acre/webhooks", map[string]any{"name": name, "serviceUri": tt.uri,
				"actions": []string{"push"}, "customHeaders": map[string]string{"Authorization": "Bearer hook-secret"}}, nil)
			ev := s.firstAttempt(t, name, owner)
			if tt.reach {
				if ev.State != "delivered" || ev.Response.Content != "receiver-secret" || allowedHits.Load() == 0 {
					t.Fatalf("allowed receiver: %+v", ev)
				}
				return
			}
			if ev.State == "delivered" || strings.Contains(ev.Response.Content, "errors") {
				t.Fatalf("delivered to a refused destination: %+v", ev)
			}
			if tt.name == "redirect to loopback" {
				if ev.Response.StatusCode != "307" {
					t.Fatalf("the redirect is not the answer: %+v", ev)
				}
			} else if !strings.Contains(ev.Error, "refused") {
				t.Fatalf("error does not say the destination was refused: %+v", ev)
			}
		})
	}
	if n := canaryHits.Load(); n != 0 {
		t.Fatalf("a loopback service was reached %d times", n)
	}

	t.Run("a Reader sees the status, not the body", func(t *testing.T) {
		s.api(http.MethodPost, "/api/v1/identities", map[string]string{"name": "hookreader", "password": "hookreader-password"}, nil)
		s.api(http.MethodPost, "/api/v1/roleAssignments", map[string]string{"assignee": "hookreader", "role": "Reader", "scope": "/registries/acre"}, nil)
		name := "ssrfhook" + string(rune('a'+len(tests)-1)) // the allowed receiver's
		ev := s.firstAttempt(t, name, cred{user: "hookreader", pass: "hookreader-password"})
		if ev.Response.StatusCode != "200" || ev.Response.Content != "" {
			t.Fatalf("as a Reader: %+v", ev)
		}
	})
}
