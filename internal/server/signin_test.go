package server

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/acre-project/acre/internal/config"
)

// The security suite's sign-in half (issue 10, items 4 and 6): what a
// client sends is bounded before it is stored, failed sign-ins are
// throttled per address whatever the user name without locking the
// rightful user out elsewhere, and names never shadow one another.

// behindProxy trusts the test client's address as a proxy, so that each
// request may name its client in X-Forwarded-For.
func behindProxy(c *config.Config) { c.Auth.TrustedProxies = []string{"127.0.0.1/32", "::1"} }

// from sends a GET of /v2/ as client addr (through the trusted proxy).
func (s *testServer) from(addr string, c cred, hdr ...string) int {
	s.t.Helper()
	resp, _ := s.do(http.MethodGet, "/v2/", c, nil, append([]string{"X-Forwarded-For", addr}, hdr...)...)
	return resp.StatusCode
}

// inParallel calls fn(0..n-1), eight at a time, and waits for all.
func inParallel(n int, fn func(i int)) {
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() { defer func() { <-sem; wg.Done() }(); fn(i) }()
	}
	wg.Wait()
}

type auditRow struct {
	Identity, UserAgent, CallerIPAddress, ResultType, PrincipalType, PrincipalID, OperationName, Category string
	Attempts                                                                                              int
}

// auditLog reads a registry's audit entries of a category as the owner.
func (s *testServer) auditLog(category string) []auditRow {
	s.t.Helper()
	var out []auditRow
	s.api(http.MethodGet, "/api/v1/registries/acre/audit?n=1000&category="+category, nil, &out)
	return out
}

func dbBytes(t *testing.T, dir string) int64 {
	t.Helper()
	var n int64
	for _, f := range []string{"meta.db", "meta.db-wal"} {
		if fi, err := os.Stat(filepath.Join(dir, f)); err == nil {
			n += fi.Size()
		}
	}
	return n
}

// TestSignInStormStoresBoundedRows: failed sign-ins with a 900 KiB
// User-Agent and random user names store at most 256 bytes of each text,
// and throttled attempts are counted, not written one by one.
func TestSignInStormStoresBoundedRows(t *testing.T) {
	dir := t.TempDir()
	s := newTestServer(t, func(c *config.Config) { c.Data = dir; behindProxy(c) })
	huge := strings.Repeat("x", 900<<10)
	s.from("10.1.0.1", cred{user: "warm", pass: "up"}) // the database file's first growth is not the storm's
	before := dbBytes(t, dir)
	const attempts = 80
	codes := map[int]int{}
	var mu sync.Mutex
	inParallel(attempts, func(i int) {
		st := s.from("10.1.0.1", cred{user: fmt.Sprintf("guess-%d-%s", i, huge[:2000]), pass: "wrong"}, "User-Agent", huge)
		mu.Lock()
		codes[st]++
		mu.Unlock()
	})
	if codes[http.StatusUnauthorized]+codes[http.StatusTooManyRequests] != attempts || codes[http.StatusTooManyRequests] == 0 {
		t.Fatalf("answers %v: want 401s, then 429s once the address is throttled", codes)
	}
	rows := 0
	for _, e := range s.auditLog("login") {
		if e.CallerIPAddress != "10.1.0.1" {
			continue
		}
		rows++
		if len(e.UserAgent) > 256 || len(e.Identity) > 256 {
			t.Fatalf("stored %d bytes of User-Agent and %d of user name", len(e.UserAgent), len(e.Identity))
		}
	}
	// One row per failed attempt until the address is throttled, then one
	// for the first throttled attempt; the rest are counted into one row
	// per window when it ends.
	if want := codes[http.StatusUnauthorized] + 2; rows > want {
		t.Fatalf("%d audit rows for %d attempts (%v), want at most %d", rows, attempts, codes, want)
	}
	if grown := dbBytes(t, dir) - before; grown > 4<<20 {
		t.Fatalf("the metadata grew by %d bytes for %d failed sign-ins", grown, attempts)
	}
}

// TestSignInThrottling: failures are counted per client address whatever
// the user name, and per address and user, so that someone guessing
// elsewhere never locks the rightful user out; X-Forwarded-For counts
// only from trusted proxies.
func TestSignInThrottling(t *testing.T) {
	s := newTestServer(t, behindProxy)
	owner := cred{user: "owner", pass: ownerPass}
	wrongOwner := cred{user: "owner", pass: "wrong"}

	// One check from elsewhere first, so that the server has timed a hash:
	// from then on an unknown name is answered after that time without
	// hashing, and parallel attempts never find the hash slots busy
	// (a busy answer counts as no attempt), however slow the machine.
	if st := s.from("10.2.0.9", cred{user: "random-first", pass: "x"}); st != http.StatusUnauthorized {
		t.Fatalf("first attempt: %d", st)
	}
	// Random user names from one address: the address is throttled.
	inParallel(30, func(i int) {
		if st := s.from("10.2.0.1", cred{user: fmt.Sprintf("random-%d", i), pass: "x"}); st != http.StatusUnauthorized {
			t.Errorf("attempt %d: %d", i, st)
		}
	})
	if st := s.from("10.2.0.1", cred{user: "random-new", pass: "x"}); st != http.StatusTooManyRequests {
		t.Fatalf("a new user name from a throttled address: %d, want 429", st)
	}
	// Someone guessing the owner's password from one address locks out
	// that address only.
	// One after another: each hashes, and parallel ones could wait past
	// the hash queue's limit on a slow machine and be turned away busy.
	for range 5 {
		if st := s.from("10.2.0.2", wrongOwner); st != http.StatusUnauthorized {
			t.Fatalf("a wrong password: %d, want 401", st)
		}
	}
	if st := s.from("10.2.0.2", owner); st != http.StatusTooManyRequests {
		t.Fatalf("the owner from the guessing address: %d, want 429", st)
	}
	for _, addr := range []string{"10.2.0.3", "2001:db8::7"} {
		if st := s.from(addr, owner); st != http.StatusOK {
			t.Fatalf("the owner from %s while others guess: %d, want 200", addr, st)
		}
	}
	// Without trusted proxies, a forged X-Forwarded-For changes nothing:
	// the peer's address is throttled whatever the header says.
	plain := newTestServer(t, nil)
	plain.from("10.3.9.8", cred{user: "random-first", pass: "x"}) // times a hash, as above
	inParallel(30, func(i int) {
		plain.from(fmt.Sprintf("10.3.0.%d", i), cred{user: fmt.Sprintf("random-%d", i), pass: "x"})
	})
	if st := plain.from("10.3.9.9", cred{user: "random-new", pass: "x"}); st != http.StatusTooManyRequests {
		t.Fatalf("forged X-Forwarded-For from an untrusted peer: %d, want 429", st)
	}
}

// TestNamesDoNotShadow: a registry's token cannot take a server-wide
// identity's name (it would lock that identity out of the registry) and
// the reverse; the audit log names principals by kind and uid.
func TestNamesDoNotShadow(t *testing.T) {
	s := newTestServer(t, nil)
	s.runBackground(t) // the audit writer
	owner := cred{user: "owner", pass: ownerPass}
	s.api(http.MethodPost, "/api/v1/identities", map[string]string{"name": "alice", "password": "alice-password"}, nil)
	s.api(http.MethodPost, "/api/v1/roleAssignments", map[string]string{"assignee": "alice", "role": "AcrPush", "scope": "/registries/acre"}, nil)
	body, _ := json.Marshal(map[string]string{"name": "alice", "scopeMap": "_repositories_pull"})
	if resp, b := s.do(http.MethodPost, "/api/v1/registries/acre/tokens", owner, body, "Content-Type", "application/json"); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("a token named like a user: %d %s, want 400", resp.StatusCode, b)
	}
	alice := cred{user: "alice", pass: "alice-password"}
	if st := s.push(alice, "app", "v1", newImage("v1", nil)); st != http.StatusCreated {
		t.Fatalf("alice pushing: %d", st)
	}
	s.api(http.MethodPost, "/api/v1/registries/acre/tokens", map[string]string{"name": "ci-bot", "scopeMap": "_repositories_pull"}, nil)
	body, _ = json.Marshal(map[string]string{"name": "ci-bot", "password": "ci-bot-password"})
	if resp, b := s.do(http.MethodPost, "/api/v1/identities", owner, body, "Content-Type", "application/json"); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("a user named like a token: %d %s, want 400", resp.StatusCode, b)
	}
	body, _ = json.Marshal(map[string]string{"name": "acre", "password": "acre-password-1"})
	if resp, b := s.do(http.MethodPost, "/api/v1/identities", owner, body, "Content-Type", "application/json"); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("a user named like a registry (its admin user): %d %s, want 400", resp.StatusCode, b)
	}
	check := func(category, op string) {
		t.Helper()
		var found bool
		if !within(10*time.Second, func() bool {
			for _, e := range s.auditLog(category) {
				if e.Identity == "alice" && e.OperationName == op {
					found = e.PrincipalType == "user" && len(e.PrincipalID) == 32
					return true
				}
			}
			return false
		}) || !found {
			t.Fatalf("no %s %s entry naming alice by kind and uid: %+v", category, op, s.auditLog(category))
		}
	}
	check("login", "basic")
	check("repository", "Push")
}

// TestManagementTextBounded: text the management API stores is bounded
// and well-formed too, so no caller grows rows without end.
func TestManagementTextBounded(t *testing.T) {
	s := newTestServer(t, nil)
	owner := cred{user: "owner", pass: ownerPass}
	tests := []struct {
		name, path string
		body       map[string]any
	}{
		{"long scope map description", "/api/v1/registries/acre/scopeMaps/long-desc",
			map[string]any{"description": strings.Repeat("d", 2000), "actions": []string{"repositories/app/content/read"}}},
		{"long identity name", "/api/v1/identities", map[string]any{"name": strings.Repeat("n", 200), "password": "some-password-1"}},
		{"identity name with NUL", "/api/v1/identities", map[string]any{"name": "bad\x00name", "password": "some-password-1"}},
		{"service principal name with a colon", "/api/v1/identities", map[string]any{"name": "a:b", "principalType": "serviceprincipal"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body, _ := json.Marshal(tt.body)
			method := http.MethodPost
			if strings.Contains(tt.path, "scopeMaps") {
				method = http.MethodPut
			}
			if resp, b := s.do(method, tt.path, owner, body, "Content-Type", "application/json"); resp.StatusCode != http.StatusBadRequest {
				t.Fatalf("%d %s, want 400", resp.StatusCode, b)
			}
		})
	}
}
