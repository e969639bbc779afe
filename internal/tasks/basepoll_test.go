package tasks

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/acre-project/acre/internal/meta"
)

// fakeOtherRegistry serves one tag behind a Bearer token realm that wants
// user:pass, as another registry would.
func fakeOtherRegistry(t *testing.T, digest *atomic.Value) *httptest.Server {
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/token":
			if u, p, ok := r.BasicAuth(); !ok || u != "puller" || p != "pw-value-4242" || r.URL.Query().Get("scope") != "repository:lib/base:pull" {
				http.Error(w, "no", http.StatusUnauthorized)
				return
			}
			_ = json.NewEncoder(w).Encode(map[string]string{"token": "tok"})
		case r.URL.Path == "/v2/lib/base/manifests/1":
			if r.Header.Get("Authorization") != "Bearer tok" {
				w.Header().Set("WWW-Authenticate", `Bearer realm="`+srv.URL+`/token",service="other"`)
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			w.Header().Set("Docker-Content-Digest", digest.Load().(string))
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestPollBases: a task's credential is stored sealed and added once per
// login server; its password may be a Key Vault secret read as the task's
// identity; a base in another registry (Bearer token with the task's
// credential) that moved queues one Image Update run; another node in
// the same round, or a round that finds the recorded digest, queues none;
// a wrong password queues none.
func TestPollBases(t *testing.T) {
	s, m, reg := newTestService(t, fakeBuilder{})
	current := &atomic.Value{}
	d1, d2 := "sha256:"+strings.Repeat("1", 64), "sha256:"+strings.Repeat("2", 64)
	current.Store(d2)
	srv := fakeOtherRegistry(t, current)
	host := strings.TrimPrefix(srv.URL, "http://")
	s.o.Fetch, s.o.PlainHTTP, s.o.BasePoll = srv.Client(), func(string) bool { return true }, time.Hour
	ctx := t.Context()
	const vaultURL = "https://kv.vault.acre.test/secrets/pullpass"
	s.o.Vault = fakeVault{vaultURL: "pw-value-4242"}
	mkTask := func(name, pass, clientID string) int64 {
		ctxDir, cmd, yes := "/dev/null", "x", true
		tk, err := s.CreateTask(ctx, reg, "owner", TaskInput{Name: name, Context: &ctxDir, Cmd: &cmd, BaseImageTrigger: &yes})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.SetCredential(ctx, reg, name, CredentialAdd, host, RegistryCredential{Username: "puller", Password: pass, Identity: clientID}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.SetCredential(ctx, reg, name, CredentialAdd, host, RegistryCredential{Username: "x", Password: "y"}); err == nil {
			t.Errorf("a second credential for %s was added", host)
		}
		if stored, _ := m.Read().GetTaskByID(ctx, tk.ID); strings.Contains(string(stored.Spec), pass) {
			t.Errorf("the credential's password is stored in plain text: %s", stored.Spec)
		}
		if err := m.Tx(ctx, func(q meta.Queries) error {
			return q.SetTaskBases(ctx, tk.ID, []meta.TaskBase{{TaskID: tk.ID, Ref: host + "/lib/base:1", Digest: d1}})
		}); err != nil {
			t.Fatal(err)
		}
		return tk.ID
	}
	mkTask("good", "pw-value-4242", "")
	mkTask("vault", vaultURL, "[system]")
	mkTask("badpass", "wrong-password", "")
	mkTask("vaultdenied", vaultURL, "someone-else")
	runs := func(task string) []meta.Run {
		rs, err := m.Read().ListRuns(ctx, reg.ID, task, 0, 10)
		if err != nil {
			t.Fatal(err)
		}
		return rs
	}
	s.pollBases(ctx)
	if rs := runs("good"); len(rs) != 1 || rs[0].Trigger != "Image Update" {
		t.Fatalf("after the base moved: %+v", rs)
	}
	if rs := runs("vault"); len(rs) != 1 {
		t.Errorf("with the password in Key Vault: %+v", rs)
	}
	for _, task := range []string{"badpass", "vaultdenied"} {
		if rs := runs(task); len(rs) != 0 {
			t.Errorf("%s: a wrong credential queued runs: %+v", task, rs)
		}
	}
	// Another node in the same round does nothing.
	other := New(s.o)
	other.pollBases(ctx)
	// The next round finds the digest it recorded: nothing more.
	if err := m.Tx(ctx, func(q meta.Queries) error {
		last, err := q.TaskCursor(ctx, basePollCursor)
		if err == nil {
			_, err = q.SetTaskCursor(ctx, basePollCursor, last, 0)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	other.pollBases(ctx)
	if rs := runs("good"); len(rs) != 1 {
		t.Errorf("the same move ran twice: %+v", rs)
	}
}
