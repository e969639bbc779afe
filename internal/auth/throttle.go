package auth

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// ThrottledError is returned while a client is slowed down after failed
// sign-ins, or when too many password checks are already under way.
type ThrottledError struct {
	RetryAfter time.Duration
	Busy       bool // the server is busy checking passwords, not this client's fault
}

func (e *ThrottledError) Error() string {
	if e.Busy {
		return "too many sign-ins in progress; retry later"
	}
	return "too many failed sign-ins from this client; retry later"
}

// Failed sign-ins allowed per window before the client waits: per client
// address and user name (so that someone guessing elsewhere never locks
// the rightful user out), and per client address whatever the user name
// (so that guessing many names from one address is slowed down too).
const (
	throttleWindow   = time.Minute
	throttleUserFree = 5
	throttleAddrFree = 30
	throttleMaxKeys  = 100000
)

// throttle counts failed sign-ins per address and per address and user.
type throttle struct {
	mu   sync.Mutex
	seen map[string]*failures
}

type failures struct {
	n          int
	since      time.Time
	suppressed int            // throttled attempts not written to the audit log one by one
	last       throttledEntry // the latest of them, for the summary
}

// throttledEntry describes throttled attempts for the audit log.
type throttledEntry struct {
	registryID                int64
	user, method, addr, agent string
	n                         int
}

func newThrottle() *throttle { return &throttle{seen: map[string]*failures{}} }

func userKey(addr, user string) string { return "u\x00" + addr + "\x00" + user }
func addrKey(addr string) string       { return "a\x00" + addr }

// wait returns how long the client must wait before trying again (0: it
// may try now). For a throttled attempt, audit reports whether to write it
// to the audit log on its own (the first of its window); later ones are
// counted into one summary that sweep returns.
func (t *throttle) wait(now time.Time, e throttledEntry) (wait time.Duration, audit bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, k := range []struct {
		key  string
		free int
	}{{userKey(e.addr, e.user), throttleUserFree}, {addrKey(e.addr), throttleAddrFree}} {
		f := t.seen[k.key]
		if f == nil || f.n < k.free {
			continue
		}
		left := throttleWindow - now.Sub(f.since)
		if left <= 0 {
			continue
		}
		if left > wait {
			wait = left
		}
		if f.n == k.free {
			f.n++ // the first throttled attempt is audited on its own
			audit = true
		} else if !audit {
			f.suppressed++
			f.last = e
		}
		break
	}
	return wait, audit
}

// fail counts a failed sign-in.
func (t *throttle) fail(now time.Time, addr, user string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.seen) > throttleMaxKeys {
		t.sweepLocked(now, nil)
		if len(t.seen) > throttleMaxKeys {
			clear(t.seen)
		}
	}
	for _, k := range []string{userKey(addr, user), addrKey(addr)} {
		f := t.seen[k]
		if f == nil || now.Sub(f.since) > throttleWindow {
			f = &failures{since: now}
			t.seen[k] = f
		}
		f.n++
	}
}

// sweep drops windows that ended and returns the throttled attempts they
// counted but did not audit one by one.
func (t *throttle) sweep(now time.Time) []throttledEntry {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []throttledEntry
	t.sweepLocked(now, &out)
	return out
}

func (t *throttle) sweepLocked(now time.Time, out *[]throttledEntry) {
	for k, f := range t.seen {
		if now.Sub(f.since) <= throttleWindow {
			continue
		}
		if f.suppressed > 0 && out != nil {
			e := f.last
			e.n = f.suppressed
			*out = append(*out, e)
		}
		delete(t.seen, k)
	}
}

// hashLimiter bounds the password hashes running at once (each argon2id
// check takes argonMemory), and the requests waiting for one: a request
// waits at most hashWait, and beyond hashQueue waiting ones it is turned
// away at once, so that a storm of sign-ins neither grows memory nor
// queues without end. Once started, hashes run on worker threads of the
// lowest scheduling priority, so that a storm of sign-ins takes CPU from
// sign-ins, not from the requests of those already signed in. The last
// hash of a burst returns the hashes' memory to the operating system.
type hashLimiter struct {
	slots   chan struct{}
	jobs    chan func() // nil until start
	waiting atomic.Int64
	queue   int64
	maxWait time.Duration
	typical atomic.Int64 // nanoseconds a check took lately, waiting included (see pace)
	pacing  atomic.Int64 // requests in pace
}

// maxPacing bounds the requests pace keeps waiting.
const maxPacing = 4096

const hashWait = 3 * time.Second

// newHashLimiter allows n hashes at once (0: half the CPUs, 1 to 4, which
// keeps the hashes' memory under 80 MiB and leaves CPUs for other requests).
func newHashLimiter(n int) *hashLimiter {
	if n <= 0 {
		n = min(max(runtime.GOMAXPROCS(0)/2, 1), 4)
	}
	return &hashLimiter{slots: make(chan struct{}, n), queue: int64(16 * n), maxWait: hashWait}
}

// start runs the worker threads until ctx ends.
func (l *hashLimiter) start(ctx context.Context) {
	l.jobs = make(chan func())
	for range cap(l.slots) {
		go func() {
			runtime.LockOSThread() // never unlocked: the thread ends with the worker
			lowerThreadPriority()
			for {
				select {
				case <-ctx.Done():
					return
				case job := <-l.jobs:
					job()
				}
			}
		}()
	}
}

// run calls fn holding a slot, or fails with a busy ThrottledError.
func (l *hashLimiter) run(ctx context.Context, fn func()) error {
	start := time.Now()
	busy := &ThrottledError{RetryAfter: time.Second, Busy: true}
	select {
	case l.slots <- struct{}{}:
	default:
		if l.waiting.Add(1) > l.queue {
			l.waiting.Add(-1)
			return busy
		}
		t := time.NewTimer(l.maxWait)
		select {
		case l.slots <- struct{}{}:
			t.Stop()
			l.waiting.Add(-1)
		case <-t.C:
			l.waiting.Add(-1)
			return busy
		case <-ctx.Done():
			t.Stop()
			l.waiting.Add(-1)
			return ctx.Err()
		}
	}
	defer func() { <-l.slots }()
	if l.jobs == nil {
		fn()
	} else {
		done := make(chan struct{})
		l.jobs <- func() { defer close(done); fn() }
		<-done
	}
	if len(l.slots) == 1 && l.waiting.Load() == 0 {
		returnHashMemory() // the burst is over: no other hash runs or waits
	}
	// A moving average of what a check takes, for pace.
	d := int64(time.Since(start))
	if old := l.typical.Load(); old != 0 {
		d = old + (d-old)/8
	}
	l.typical.Store(d)
	return nil
}

// pace takes as long as a password check has lately (the average of
// waiting for a slot and hashing), without hashing: the answer for an
// unknown user name comes as late as for a known one, while a storm of
// made-up names costs neither CPU nor memory and takes no slot from the
// rightful users. Until a check was timed, it hashes.
func (l *hashLimiter) pace(ctx context.Context, hash func()) error {
	d := time.Duration(l.typical.Load())
	if d == 0 {
		return l.run(ctx, hash)
	}
	if l.pacing.Add(1) > maxPacing {
		l.pacing.Add(-1)
		return &ThrottledError{RetryAfter: time.Second, Busy: true}
	}
	defer l.pacing.Add(-1)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
