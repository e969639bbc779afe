package metatest

import (
	"context"
	"errors"
	"testing"

	"github.com/acre-project/acre/internal/meta"
	"github.com/opencontainers/go-digest"
)

// testRunQueue: runs are claimed oldest first by one owner at a time,
// renewed only by their owner, found stale when the lease lapses, and
// canceled at once while queued.
func testRunQueue(t *testing.T, s meta.Store) {
	ctx := context.Background()
	reg := mkRegistry(t, s, "runs")
	var runs []*meta.Run
	for i := 0; i < 3; i++ {
		r := &meta.Run{RegistryID: reg.ID, Trigger: "Manual", Spec: []byte(`{}`), State: meta.RunQueued, CreatedAt: at(i)}
		tx(t, s, func(q meta.Queries) error { return q.CreateRun(ctx, r) })
		runs = append(runs, r)
	}
	var got *meta.Run
	tx(t, s, func(q meta.Queries) (err error) { got, err = q.ClaimRun(ctx, "a", at(10), at(20)); return err })
	if got.ID != runs[0].ID || got.State != meta.RunRunning || got.Node != "a" {
		t.Fatalf("claimed %+v, want the oldest run, running, owned by a", got)
	}
	sameTime(t, "started", got.StartedAt, at(10))
	// Another owner cannot renew it.
	err := s.Tx(ctx, func(q meta.Queries) error { _, err := q.RenewRun(ctx, got.ID, "b", at(30)); return err })
	wantErr(t, "renew by another owner", err, meta.ErrNotFound)
	tx(t, s, func(q meta.Queries) error { return q.RequestCancel(ctx, runs[1].ID, "stop", at(11)) })
	r1, err := s.Read().GetRun(ctx, runs[1].ID)
	ok(t, "get", err)
	if r1.State != meta.RunCanceled || r1.Reason != "stop" {
		t.Errorf("queued run after cancel: %s %q", r1.State, r1.Reason)
	}
	tx(t, s, func(q meta.Queries) error { return q.RequestCancel(ctx, got.ID, "stop", at(12)) })
	var cancel bool
	tx(t, s, func(q meta.Queries) (err error) { cancel, err = q.RenewRun(ctx, got.ID, "a", at(40)); return err })
	if !cancel {
		t.Errorf("renew did not report the cancellation request")
	}
	stale, err := s.Read().StaleRuns(ctx, at(41))
	ok(t, "stale", err)
	if len(stale) != 1 || stale[0].ID != got.ID {
		t.Errorf("stale runs at 41 s: %+v", stale)
	}
	if stale, _ := s.Read().StaleRuns(ctx, at(39)); len(stale) != 0 {
		t.Errorf("stale runs before the lease ends: %+v", stale)
	}
	// The next claim takes the third run (the second was canceled).
	tx(t, s, func(q meta.Queries) (err error) { got, err = q.ClaimRun(ctx, "b", at(50), at(60)); return err })
	if got.ID != runs[2].ID {
		t.Errorf("second claim got %d, want %d", got.ID, runs[2].ID)
	}
	err = s.Tx(ctx, func(q meta.Queries) error { _, err := q.ClaimRun(ctx, "b", at(50), at(60)); return err })
	if !errors.Is(err, meta.ErrNotFound) {
		t.Errorf("claim of an empty queue: %v", err)
	}
	got.State, got.FinishedAt, got.LogDigest, got.Output = meta.RunSucceeded, at(70), "sha256:abc", []byte(`{"x":1}`)
	got.Spec = []byte(`{"wiped":true}`)
	tx(t, s, func(q meta.Queries) error { return q.FinishRun(ctx, got) })
	list, err := s.Read().ListRuns(ctx, reg.ID, "", 0, 10)
	ok(t, "list", err)
	if len(list) != 3 || list[0].ID != runs[2].ID || list[0].LogDigest != "sha256:abc" || string(list[0].Output) != `{"x":1}` ||
		string(list[0].Spec) != `{"wiped":true}` {
		t.Errorf("runs newest first: %+v", list)
	}
	old, err := s.Read().RunsFinishedBefore(ctx, at(71), 10)
	ok(t, "finished before", err)
	if len(old) != 2 { // the canceled one and the finished one
		t.Errorf("finished before 71 s: %d runs", len(old))
	}
	if n, _ := s.Read().RunsUsingBlob(ctx, "sha256:abc"); n != 1 {
		t.Errorf("runs using the log blob: %d", n)
	}
}

// testRunLogs: chunks come back in order after a position; deleting a run
// deletes its log.
func testRunLogs(t *testing.T, s meta.Store) {
	ctx := context.Background()
	reg := mkRegistry(t, s, "logs")
	r := &meta.Run{RegistryID: reg.ID, Trigger: "Manual", Spec: []byte(`{}`), State: meta.RunQueued, CreatedAt: at(0)}
	tx(t, s, func(q meta.Queries) error { return q.CreateRun(ctx, r) })
	for i, c := range []string{"one\n", "two\n", "three\n"} {
		tx(t, s, func(q meta.Queries) error { return q.AppendRunLog(ctx, r.ID, int64(i+1), []byte(c)) })
	}
	chunks, err := s.Read().RunLog(ctx, r.ID, 1)
	ok(t, "log", err)
	if len(chunks) != 2 || string(chunks[0].Data) != "two\n" || chunks[1].Seq != 3 {
		t.Errorf("chunks after 1: %+v", chunks)
	}
	tx(t, s, func(q meta.Queries) error { return q.DeleteRun(ctx, r.ID) })
	if chunks, _ := s.Read().RunLog(ctx, r.ID, 0); len(chunks) != 0 {
		t.Errorf("log after the run's deletion: %+v", chunks)
	}
}

// testTasks: task names are unique per registry; the timer moves by
// compare-and-set; bases are found by reference; cursors compare-and-set.
func testTasks(t *testing.T, s meta.Store) {
	ctx := context.Background()
	reg := mkRegistry(t, s, "tasks")
	tk := &meta.Task{RegistryID: reg.ID, Name: "app", Spec: []byte(`{}`), Enabled: true, NextTimerAt: at(5), CreatedAt: at(0), UpdatedAt: at(0)}
	tx(t, s, func(q meta.Queries) error { return q.PutTask(ctx, tk) })
	dup := &meta.Task{RegistryID: reg.ID, Name: "app", Spec: []byte(`{}`), CreatedAt: at(0), UpdatedAt: at(0)}
	wantErr(t, "duplicate task", s.Tx(ctx, func(q meta.Queries) error { return q.PutTask(ctx, dup) }), meta.ErrConflict)
	var moved bool
	tx(t, s, func(q meta.Queries) (err error) { moved, err = q.SetTaskTimer(ctx, tk.ID, at(5), at(65)); return err })
	if !moved {
		t.Errorf("timer did not move")
	}
	tx(t, s, func(q meta.Queries) (err error) { moved, err = q.SetTaskTimer(ctx, tk.ID, at(5), at(125)); return err })
	if moved {
		t.Errorf("timer moved from a stale value")
	}
	got, err := s.Read().GetTask(ctx, reg.ID, "app")
	ok(t, "get task", err)
	sameTime(t, "next timer", got.NextTimerAt, at(65))
	tx(t, s, func(q meta.Queries) error {
		return q.SetTaskBases(ctx, tk.ID, []meta.TaskBase{{TaskID: tk.ID, Ref: "h/base:1", Digest: "sha256:1"}})
	})
	bases, err := s.Read().TasksWithBase(ctx, "h/base:1")
	ok(t, "bases", err)
	if len(bases) != 1 || bases[0].TaskID != tk.ID || bases[0].Digest != "sha256:1" {
		t.Errorf("tasks with base: %+v", bases)
	}
	all, err := s.Read().ListTaskBases(ctx)
	ok(t, "list bases", err)
	if len(all) != 1 || all[0].Ref != "h/base:1" {
		t.Errorf("list bases: %+v", all)
	}
	tx(t, s, func(q meta.Queries) (err error) {
		moved, err = q.MoveTaskBase(ctx, tk.ID, "h/base:1", "sha256:1", "sha256:2")
		return err
	})
	if !moved {
		t.Errorf("base digest did not move")
	}
	tx(t, s, func(q meta.Queries) (err error) {
		moved, err = q.MoveTaskBase(ctx, tk.ID, "h/base:1", "sha256:1", "sha256:3")
		return err
	})
	if bases, _ := s.Read().TasksWithBase(ctx, "h/base:1"); moved || len(bases) != 1 || bases[0].Digest != "sha256:2" {
		t.Errorf("base moved from a stale digest (%v): %+v", moved, bases)
	}
	_, err = s.Read().TaskCursor(ctx, "events")
	wantErr(t, "unset cursor", err, meta.ErrNotFound)
	tx(t, s, func(q meta.Queries) (err error) { moved, err = q.SetTaskCursor(ctx, "events", 0, 7); return err })
	tx(t, s, func(q meta.Queries) (err error) { moved, err = q.SetTaskCursor(ctx, "events", 3, 9); return err })
	if moved {
		t.Errorf("cursor moved from a stale value")
	}
	if v, _ := s.Read().TaskCursor(ctx, "events"); v != 7 {
		t.Errorf("cursor %d, want 7", v)
	}
	tx(t, s, func(q meta.Queries) error { return q.DeleteTask(ctx, tk.ID) })
	if bases, _ := s.Read().TasksWithBase(ctx, "h/base:1"); len(bases) != 0 {
		t.Errorf("bases outlived their task: %+v", bases)
	}
}

func testTaskSources(t *testing.T, s meta.Store) {
	ctx := t.Context()
	reg := mkRegistry(t, s, "alpha")
	other := mkRegistry(t, s, "beta")
	d := digest.FromString("a build context")
	putBlob(t, s, d, 15, at(0))
	for range 2 { // recording again is a no-op
		tx(t, s, func(q meta.Queries) error { return q.RecordSource(ctx, reg.ID, d, at(1)) })
	}
	recorded := func(regID int64) bool {
		t.Helper()
		ok, err := s.Read().SourceRecorded(ctx, regID, d)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if !recorded(reg.ID) || recorded(other.ID) {
		t.Fatalf("SourceRecorded: own %v, other %v; want true, false", recorded(reg.ID), recorded(other.ID))
	}
	tx(t, s, func(q meta.Queries) error { return q.DeleteBlob(ctx, d) })
	if recorded(reg.ID) {
		t.Fatal("SourceRecorded after the blob's record was deleted")
	}
}
