package registry

import (
	"sync"
	"time"
)

// The lock check made when an upload starts (the repository takes
// pushes) refuses early what would fail later: the transaction that links
// the blob checks the lock again. So a passing early check is remembered
// for earlyTTL per repository: a lock set meanwhile on another node is
// seen at most that much later by early checks (at once on this node, and
// always by the linking transaction). A failing check is never
// remembered, so lifting a lock takes effect at once.
const (
	earlyTTL     = time.Second
	earlyEntries = 4096 // past this many repositories, the memory starts over
)

type earlyKey struct {
	registry int64
	repo     string
}

// earlyPasses remembers the repositories whose early checks passed.
type earlyPasses struct {
	mu sync.Mutex
	m  map[earlyKey]time.Time // when the pass stops counting
}

func (e *earlyPasses) passed(k earlyKey, now time.Time) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	until, ok := e.m[k]
	return ok && now.Before(until)
}

func (e *earlyPasses) remember(k earlyKey, now time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.m == nil || len(e.m) >= earlyEntries {
		e.m = make(map[earlyKey]time.Time)
	}
	e.m[k] = now.Add(earlyTTL)
}

// forget drops every remembered pass (a lock changed on this node).
func (e *earlyPasses) forget() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.m = nil
}
