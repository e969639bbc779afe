package server

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// TestAuditRepositoryEvents checks that pushes, pulls, untags and deletes
// land in the audit log, like ACR's RepositoryEvents, without secrets.
func TestAuditRepositoryEvents(t *testing.T) {
	s := newTestServer(t, nil)
	s.runBackground(t)
	owner := cred{user: "owner", pass: ownerPass}
	img := newImage("v1", nil)
	if st := s.push(owner, "app", "v1", img); st != 201 {
		t.Fatalf("push: %d", st)
	}
	s.do("GET", "/v2/app/manifests/v1", owner, nil)
	s.do("GET", "/v2/app/manifests/nope", owner, nil)
	s.do("DELETE", "/v2/app/manifests/v1", owner, nil)
	s.do("DELETE", "/v2/app/manifests/"+img.digest.String(), owner, nil)
	type entry struct {
		Category, OperationName, Identity, Repository, Tag, Digest, ResultType, CallerIPAddress string
	}
	want := []entry{
		{"repository", "Push", "owner", "app", "v1", img.digest.String(), "Success", ""},
		{"repository", "Pull", "owner", "app", "v1", img.digest.String(), "Success", ""},
		{"repository", "Pull", "owner", "app", "nope", "", "Failed: manifest_unknown", ""},
		{"repository", "Untag", "owner", "app", "v1", "", "Success", ""},
		{"repository", "Delete", "owner", "app", "", img.digest.String(), "Success", ""},
	}
	var got []entry
	deadline := time.Now().Add(time.Minute) // generous: a busy machine is slow
	for time.Now().Before(deadline) {
		_, b := s.do("GET", "/api/v1/registries/acre/audit?category=repository", owner, nil)
		got = nil
		_ = json.Unmarshal(b, &got)
		if len(got) >= len(want) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if len(got) != len(want) {
		t.Fatalf("audit entries: %+v", got)
	}
	for i := range want {
		got[i].CallerIPAddress = ""
		if got[i] != want[i] {
			t.Errorf("entry %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	_, raw := s.do("GET", "/api/v1/registries/acre/audit?format=jsonl", owner, nil)
	lines := strings.Split(strings.TrimSpace(string(raw)), "\n")
	if len(lines) < len(want) || strings.Contains(string(raw), ownerPass) {
		t.Fatalf("JSON lines export: %d lines, or a secret leaked", len(lines))
	}
}

// TestMetrics scrapes /metrics and parses it with the Prometheus text parser.
func TestMetrics(t *testing.T) {
	s := newTestServer(t, nil)
	owner := cred{user: "owner", pass: ownerPass}
	if st := s.push(owner, "app", "v1", newImage("v1", nil)); st != 201 {
		t.Fatalf("push: %d", st)
	}
	s.do("GET", "/v2/app/manifests/v1", owner, nil)
	s.tokenFor(owner, "acre.localhost", "repository:app:pull")
	s.do("GET", "/v2/app/manifests/v1", cred{user: "owner", pass: "wrong"}, nil)
	resp, b := s.do("GET", "/metrics", owner, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/metrics: %d", resp.StatusCode)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	families, err := p.TextToMetricFamilies(strings.NewReader(string(b)))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	has := func(name string, labels map[string]string) float64 {
		f := families[name]
		if f == nil {
			t.Errorf("no metric %s", name)
			return 0
		}
		total := 0.0
	next:
		for _, m := range f.Metric {
			for k, v := range labels {
				ok := false
				for _, l := range m.Label {
					if l.GetName() == k && l.GetValue() == v {
						ok = true
					}
				}
				if !ok {
					continue next
				}
			}
			switch {
			case m.Counter != nil:
				total += m.Counter.GetValue()
			case m.Gauge != nil:
				total += m.Gauge.GetValue()
			case m.Histogram != nil:
				total += float64(m.Histogram.GetSampleCount())
			}
		}
		return total
	}
	checks := []struct {
		name   string
		labels map[string]string
	}{
		{"acre_http_request_duration_seconds", map[string]string{"route": "v2_manifest", "method": "PUT", "status": "201"}},
		{"acre_http_request_duration_seconds", map[string]string{"route": "v2_manifest", "method": "GET", "status": "200"}},
		{"acre_http_request_bytes_total", map[string]string{"route": "v2_upload"}},
		{"acre_http_response_bytes_total", map[string]string{"route": "v2_manifest"}},
		{"acre_registry_storage_bytes", map[string]string{"registry": "acre"}},
		{"acre_tokens_issued_total", map[string]string{"kind": "access_token"}},
		{"acre_logins_total", map[string]string{"result": "Failed"}},
		{"acre_meta_transactions_total", nil},
		{"acre_meta_commits_total", nil},
	}
	for _, c := range checks {
		if v := has(c.name, c.labels); v <= 0 {
			t.Errorf("%s%v = %v, want > 0", c.name, c.labels, v)
		}
	}
	if _, ok := families["acre_uploads_in_progress"]; !ok {
		t.Error("no acre_uploads_in_progress")
	}
	for name := range families {
		if !model.IsValidLegacyMetricName(name) {
			t.Errorf("invalid metric name %q", name)
		}
	}
}
