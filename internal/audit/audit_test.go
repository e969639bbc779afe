package audit

import (
	"context"
	"io"
	"log/slog"
	"strconv"
	"sync"
	"testing"

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
