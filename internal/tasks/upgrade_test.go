package tasks

import (
	"bytes"
	"testing"
	"time"

	"github.com/acre-project/acre/internal/meta"
)

// TestSealStored: a task and a finished run written before secrets were
// sealed (plain text in their rows) are sealed and wiped on start, the
// task still reads back whole, and a second pass finds nothing to do.
func TestSealStored(t *testing.T) {
	s, m, reg := newTestService(t, fakeBuilder{})
	ctx, now := t.Context(), time.Now().UTC()
	task := &meta.Task{RegistryID: reg.ID, Name: "legacy", Enabled: true, CreatedAt: now, UpdatedAt: now,
		Spec: []byte(`{"context":"/dev/null","identity":"owner","gitToken":"legacy-git-token","secretArgs":{"K":"legacy-arg"},` +
			`"webhookSecret":"legacy-hook","enabled":true}`)}
	run := &meta.Run{RegistryID: reg.ID, Trigger: "Manual", State: meta.RunQueued, CreatedAt: now,
		Spec: []byte(`{"kind":"build","context":"/dev/null","secretArgs":{"K":"legacy-run-arg"},"gitToken":"legacy-run-token"}`)}
	if err := m.Tx(ctx, func(q meta.Queries) error {
		if err := q.PutTask(ctx, task); err != nil {
			return err
		}
		if err := q.CreateRun(ctx, run); err != nil {
			return err
		}
		run.State, run.FinishedAt = meta.RunSucceeded, now
		return q.FinishRun(ctx, run)
	}); err != nil {
		t.Fatal(err)
	}
	if tasks, runs, err := s.sealStored(ctx); err != nil || tasks != 1 || runs != 1 {
		t.Fatalf("sealStored: %d tasks, %d runs, %v", tasks, runs, err)
	}
	row, _ := m.Read().GetTask(ctx, reg.ID, "legacy")
	gotRun, _ := m.Read().GetRun(ctx, run.ID)
	for _, leak := range []string{"legacy-git-token", "legacy-arg", "legacy-hook", "legacy-run-arg", "legacy-run-token"} {
		if bytes.Contains(row.Spec, []byte(leak)) || bytes.Contains(gotRun.Spec, []byte(leak)) {
			t.Errorf("%q is still stored in plain text", leak)
		}
	}
	got, err := s.GetTask(ctx, reg, "legacy")
	if err != nil || got.Spec.GitToken != "legacy-git-token" || got.Spec.SecretArgs["K"] != "legacy-arg" || got.Spec.WebhookSecret != "legacy-hook" {
		t.Errorf("the sealed task reads back as %+v, %v", got, err)
	}
	if gotRun.State != meta.RunSucceeded {
		t.Errorf("the wiped run is %s", gotRun.State)
	}
	if tasks, runs, err := s.sealStored(ctx); err != nil || tasks+runs != 0 {
		t.Errorf("second pass: %d tasks, %d runs, %v", tasks, runs, err)
	}
}
