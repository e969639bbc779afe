package audit

import (
	"context"
	"io"
	"log/slog"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/acre-project/acre/internal/meta"
)

// memAudit keeps the batches written; only AppendAuditBatch is used.
type memAudit struct {
	meta.Audit
	mu      sync.Mutex
	written []meta.AuditEntry
}

func (m *memAudit) AppendAuditBatch(_ context.Context, es []meta.AuditEntry) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.written = append(m.written, es...)
	return nil
}

// memView is a meta.View of memAudit.
type memView struct{ m *memAudit }

func (v memView) Read() Store                                        { return v.m }
func (v memView) Tx(_ context.Context, fn func(q Store) error) error { return fn(v.m) }
func (v memView) Ping(context.Context) error                         { return nil }

func TestWriterWritesEveryQueuedEntry(t *testing.T) {
	for _, tc := range []struct {
		name     string
		recorded int
		want     int
	}{
		{"none", 0, 0},
		{"a few, written at shutdown", 3, 3},
		{"a full batch and more", batchSize + 7, batchSize + 7},
		{"past the queue's bound, the rest dropped", queueSize + 5, queueSize},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := &memAudit{}
			w := New(memView{m}, slog.New(slog.NewTextHandler(io.Discard, nil)))
			for i := range tc.recorded {
				w.Record(meta.AuditEntry{Operation: "Pull", Repository: "r" + strconv.Itoa(i)})
			}
			ctx, cancel := context.WithCancel(t.Context())
			cancel()
			w.Run(ctx) // returns after writing what was queued
			if len(m.written) != tc.want {
				t.Fatalf("written %d entries, want %d", len(m.written), tc.want)
			}
			for i, e := range m.written {
				if e.Repository != "r"+strconv.Itoa(i) {
					t.Fatalf("entry %d is %q: order lost", i, e.Repository)
				}
			}
		})
	}
}

func TestWriterWritesWhileRunning(t *testing.T) {
	m := &memAudit{}
	w := New(memView{m}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { w.Run(ctx); close(done) }()
	const n = 3*batchSize + 1
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range n {
				w.Record(meta.AuditEntry{Operation: "Push", Repository: strconv.Itoa(g*n + i)})
			}
		}()
	}
	wg.Wait()
	cancel()
	<-done
	seen := map[string]bool{}
	for _, e := range m.written {
		seen[e.Repository] = true
	}
	if len(m.written) != 4*n || len(seen) != 4*n {
		t.Fatalf("written %d entries (%d distinct), want %d", len(m.written), len(seen), 4*n)
	}
}

func TestWriterMergesLikePulls(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	pull := func(sec int, ms int64, change func(e *meta.AuditEntry)) meta.AuditEntry {
		e := meta.AuditEntry{At: t0.Add(time.Duration(sec) * time.Second), RegistryID: 1, Category: "repository", Operation: "Pull",
			Identity: "ci", Repository: "app", Tag: "v1", Digest: "sha256:aa", CallerIP: "10.0.0.1", UserAgent: "crane", Result: "Success",
			DurationMS: ms}
		if change != nil {
			change(&e)
		}
		return e
	}
	same := func(*meta.AuditEntry) {}
	for _, tc := range []struct {
		name     string
		entries  []meta.AuditEntry
		attempts []int // of each entry written, in order
	}{
		{"alike pulls become one", []meta.AuditEntry{pull(0, 3, nil), pull(1, 9, same), pull(2, 1, nil)}, []int{3}},
		{"another tag", []meta.AuditEntry{pull(0, 1, nil), pull(1, 1, func(e *meta.AuditEntry) { e.Tag = "v2" }), pull(2, 1, nil)}, []int{2, 1}},
		{"another caller", []meta.AuditEntry{pull(0, 1, nil), pull(1, 1, func(e *meta.AuditEntry) { e.CallerIP = "10.0.0.2" })}, []int{1, 1}},
		{"a failed pull", []meta.AuditEntry{pull(0, 1, nil), pull(1, 1, func(e *meta.AuditEntry) { e.Result = "Failed: manifest_unknown" })}, []int{1, 1}},
		{"pushes stay apart", []meta.AuditEntry{pull(0, 1, func(e *meta.AuditEntry) { e.Operation = "Push" }),
			pull(1, 1, func(e *meta.AuditEntry) { e.Operation = "Push" })}, []int{1, 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := &memAudit{}
			w := New(memView{m}, slog.New(slog.NewTextHandler(io.Discard, nil)))
			for _, e := range tc.entries {
				w.Record(e)
			}
			ctx, cancel := context.WithCancel(t.Context())
			cancel()
			w.Run(ctx)
			if len(m.written) != len(tc.attempts) {
				t.Fatalf("written %d entries, want %d", len(m.written), len(tc.attempts))
			}
			for i, e := range m.written {
				if e.Attempts != tc.attempts[i] {
					t.Errorf("entry %d: attempts %d, want %d", i, e.Attempts, tc.attempts[i])
				}
			}
			if first := m.written[0]; first.At != t0 || (tc.attempts[0] == 3 && first.DurationMS != 9) {
				t.Errorf("merged entry at %v, duration %d ms: want the first time and the longest duration", first.At, first.DurationMS)
			}
		})
	}
}
