package tasks

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/acre-project/acre/internal/blob/fs"
	"github.com/acre-project/acre/internal/meta"
	"github.com/acre-project/acre/internal/meta/sqlstore"
)

// fakeBuilder is an in-memory Builder: it writes a line per build and
// blocks while block is open.
type fakeBuilder struct{ block chan struct{} }

func (f fakeBuilder) Build(ctx context.Context, req BuildRequest, log io.Writer) (BuildResult, error) {
	fmt.Fprintf(log, "#1 [1/1] FROM 127.0.0.1:1/base:1@sha256:%064d\nbuilding %v secret=%s\n", 1, req.Tags, req.Secrets["tok"])
	if f.block != nil {
		select {
		case <-f.block:
		case <-ctx.Done():
			return BuildResult{}, ctx.Err()
		}
	}
	return BuildResult{Digest: "sha256:" + strings.Repeat("a", 64), Bases: []ImageRef{{Registry: "127.0.0.1:1", Repository: "base", Tag: "1"}}}, nil
}

type allowAll struct{}

func (allowAll) RunToken(context.Context, *meta.Registry, string, []string, time.Duration) (string, error) {
	return "run-token-value", nil
}

func newTestService(t *testing.T, b Builder) (*Service, meta.Store, *meta.Registry) {
	t.Helper()
	dir := t.TempDir()
	m, err := sqlstore.OpenSQLite(t.Context(), filepath.Join(dir, "meta.db"), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	blobs, err := fs.New(filepath.Join(dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	reg := &meta.Registry{Name: "acre", LoginServer: "acre.localhost", SKU: "Standard", CreatedAt: time.Now(), UpdatedAt: time.Now()}
	if err := m.Tx(t.Context(), func(q meta.Queries) error { return q.CreateRegistry(t.Context(), reg) }); err != nil {
		t.Fatal(err)
	}
	s := New(Options{Meta: storeView(m), Blobs: blobs, Uploads: blobs, Builder: b, Creds: allowAll{}, Log: slog.New(slog.DiscardHandler),
		WorkDir: filepath.Join(dir, "work"), RegistryHost: func(*meta.Registry) string { return "127.0.0.1:1" }})
	return s, m, reg
}

func waitState(t *testing.T, s *Service, id int64, want ...string) *meta.Run {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		if r, err := s.Get(t.Context(), id); err == nil && slices.Contains(want, r.State) {
			return r
		}
		time.Sleep(20 * time.Millisecond)
	}
	r, _ := s.Get(t.Context(), id)
	t.Fatalf("run %d: state %s, want %v", id, r.State, want)
	return nil
}

// TestServiceRunsAndKeepsLog: a queued build runs, its log (secrets and
// the run's token masked) ends in a blob, and its output names the image.
func TestServiceRunsAndKeepsLog(t *testing.T) {
	s, _, reg := newTestService(t, fakeBuilder{})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { s.Work(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	if _, err := s.SubmitQuick(t.Context(), reg, RunSpec{Images: []string{"app:1"}, Identity: "owner"}); err == nil {
		t.Fatalf("a build without a context was accepted")
	}
	r, err := s.Submit(t.Context(), reg, 0, "", "Manual", RunSpec{Kind: KindBuild, Context: "/dev/null",
		Images: []string{"app:{{.Run.ID}}"}, SecretArgs: map[string]string{"tok": "very-secret"}, Identity: "owner"})
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(r.Spec, []byte("very-secret")) || !bytes.Contains(r.Spec, []byte("acre-sealed:v1:")) {
		t.Errorf("the queued run's spec holds the secret unsealed: %s", r.Spec)
	}
	got := waitState(t, s, r.ID, meta.RunSucceeded)
	if got.LogDigest == "" {
		t.Fatalf("no log blob")
	}
	if bytes.Contains(got.Spec, []byte("acre-sealed")) || !bytes.Contains(got.Spec, []byte(`"tok":"*****"`)) {
		t.Errorf("the finished run's spec still holds its secret: %s", got.Spec)
	}
	var buf bytes.Buffer
	if err := s.WriteLog(t.Context(), r.ID, &buf, false, func() {}); err != nil {
		t.Fatal(err)
	}
	log := buf.String()
	for _, want := range []string{"Successfully pushed image: 127.0.0.1:1/app:" + RunName(r.ID), "secret=*****",
		"Run ID: " + RunName(r.ID) + " was successful"} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
	if strings.Contains(log, "very-secret") || strings.Contains(log, "run-token-value") {
		t.Errorf("a secret reached the log:\n%s", log)
	}
}

// TestServiceFailsStaleRuns: a running run whose lease lapsed (its node
// died) ends Failed with the reason; a run canceled while running ends
// Canceled.
func TestServiceFailsStaleRuns(t *testing.T) {
	block := make(chan struct{})
	s, m, reg := newTestService(t, fakeBuilder{block: block})
	spec := RunSpec{Kind: KindBuild, Context: "/dev/null", Identity: "owner"}
	stale, err := s.Submit(t.Context(), reg, 0, "", "Manual", spec)
	if err != nil {
		t.Fatal(err)
	}
	// Another "node" claims it and dies.
	if err := m.Tx(t.Context(), func(q meta.Queries) error {
		_, err := q.ClaimRun(t.Context(), "dead-node", time.Now(), time.Now().Add(-time.Second))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { s.Work(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	if r := waitState(t, s, stale.ID, meta.RunFailed); !strings.Contains(r.Reason, "lease expired") {
		t.Errorf("reason %q", r.Reason)
	}
	running, err := s.Submit(t.Context(), reg, 0, "", "Manual", spec)
	if err != nil {
		t.Fatal(err)
	}
	waitState(t, s, running.ID, meta.RunRunning)
	if err := s.Cancel(t.Context(), running.ID); err != nil {
		t.Fatal(err)
	}
	waitState(t, s, running.ID, meta.RunCanceled)
	close(block)
}

// TestTaskSecretsSealed: a task's git token, secret arguments and webhook
// secret are sealed in its row and open again through the service.
func TestTaskSecretsSealed(t *testing.T) {
	s, m, reg := newTestService(t, fakeBuilder{})
	ctx, tok, args := t.Context(), "git-token-value", map[string]string{"API_KEY": "task-secret-value"}
	ctxURL := "/dev/null"
	created, err := s.CreateTask(ctx, reg, "owner", TaskInput{Name: "sealed", Context: &ctxURL, GitToken: &tok, SecretArgs: &args})
	if err != nil {
		t.Fatal(err)
	}
	row, err := m.Read().GetTask(ctx, reg.ID, "sealed")
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{tok, "task-secret-value", created.Spec.WebhookSecret} {
		if bytes.Contains(row.Spec, []byte(v)) {
			t.Errorf("the task row holds %q unsealed: %s", v, row.Spec)
		}
	}
	got, err := s.GetTask(ctx, reg, "sealed")
	if err != nil {
		t.Fatal(err)
	}
	if got.Spec.GitToken != tok || got.Spec.SecretArgs["API_KEY"] != "task-secret-value" || got.Spec.WebhookSecret != created.Spec.WebhookSecret {
		t.Errorf("the task reads back as %+v", got.Spec)
	}
	// A sealed value moved to another field does not open there.
	var raw map[string]any
	if err := json.Unmarshal(row.Spec, &raw); err != nil {
		t.Fatal(err)
	}
	raw["gitToken"] = raw["webhookSecret"]
	row.Spec, _ = json.Marshal(raw)
	if _, err := s.decodeTask(row); err == nil {
		t.Error("a sealed value opened under another field's label")
	}
}

// TestCancelQueuedWipesSecrets: a run canceled before any node claimed it
// ends Canceled with its secret values gone from its spec.
func TestCancelQueuedWipesSecrets(t *testing.T) {
	s, _, reg := newTestService(t, fakeBuilder{})
	r, err := s.Submit(t.Context(), reg, 0, "", "Manual", RunSpec{Kind: KindBuild, Context: "/dev/null",
		SecretArgs: map[string]string{"tok": "queued-secret"}, GitToken: "queued-git-token", Identity: "owner"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Cancel(t.Context(), r.ID); err != nil {
		t.Fatal(err)
	}
	got, err := s.Get(t.Context(), r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != meta.RunCanceled || bytes.Contains(got.Spec, []byte("acre-sealed")) || !bytes.Contains(got.Spec, []byte(`"tok":"*****"`)) {
		t.Errorf("canceled queued run: %s %s", got.State, got.Spec)
	}
}
