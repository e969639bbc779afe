package auth

import (
	"context"
	"errors"
	"net/http/httptest"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestThrottle(t *testing.T) {
	now := time.Now()
	th := newThrottle()
	e := func(addr, user string) throttledEntry { return throttledEntry{addr: addr, user: user, method: "basic"} }
	for range throttleUserFree {
		th.fail(now, "a", "owner")
	}
	if w, audit := th.wait(now, e("a", "owner")); w <= 0 || !audit {
		t.Fatalf("after %d failures: wait %v audit %v, want a wait and an audited first throttled attempt", throttleUserFree, w, audit)
	}
	if w, audit := th.wait(now, e("a", "owner")); w <= 0 || audit {
		t.Fatalf("second throttled attempt: wait %v audit %v, want a wait, counted not audited", w, audit)
	}
	if w, _ := th.wait(now, e("b", "owner")); w != 0 {
		t.Fatalf("the same user from another address waits %v", w)
	}
	if w, _ := th.wait(now, e("a", "someone-else")); w != 0 {
		t.Fatalf("another user from the address waits %v before the address's own limit", w)
	}
	for i := range throttleAddrFree {
		th.fail(now, "c", string(rune('a'+i)))
	}
	if w, _ := th.wait(now, e("c", "new-name")); w <= 0 {
		t.Fatal("an address that failed with many names is not throttled")
	}
	for range 3 {
		th.wait(now, e("c", "new-name"))
	}
	later := now.Add(throttleWindow + time.Second)
	sum := th.sweep(later)
	got := map[string]int{}
	for _, s := range sum {
		got[s.addr] += s.n
	}
	if got["a"] != 1 || got["c"] != 3 {
		t.Fatalf("summaries %+v: want 1 counted attempt from a, 3 from c", sum)
	}
	if w, _ := th.wait(later, e("a", "owner")); w != 0 {
		t.Fatalf("after the window: wait %v", w)
	}
	if len(th.sweep(later)) != 0 || len(th.seen) != 0 {
		t.Fatal("sweep kept ended windows")
	}
}

func TestHashLimiter(t *testing.T) {
	l := &hashLimiter{slots: make(chan struct{}, 2), queue: 3, maxWait: 50 * time.Millisecond}
	l.start(t.Context())
	release := make(chan struct{})
	var running, peak atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- l.run(context.Background(), func() {
				n := running.Add(1)
				for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
				}
				<-release
				running.Add(-1)
			})
		}()
	}
	// Until released, two run and the rest are turned away: at once
	// beyond the queue, after maxWait within it.
	busy := 0
	for busy < 18 {
		var th *ThrottledError
		if err := <-errs; !errors.As(err, &th) || !th.Busy {
			t.Fatalf("got %v, want a busy ThrottledError", err)
		}
		busy++
	}
	// The two admitted checks may not have started yet on a busy machine:
	// wait for both (a deadline only stops a hang) before releasing them.
	for deadline := time.Now().Add(time.Minute); running.Load() < 2 && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if peak.Load() != 2 {
		t.Fatalf("%d hashes ran at once, want 2", peak.Load())
	}
	if l.typical.Load() == 0 {
		t.Fatal("no check was timed")
	}
	// An unknown user's answer takes the time a check takes, without one.
	hashed := false
	if err := l.pace(t.Context(), func() { hashed = true }); err != nil || hashed {
		t.Fatalf("pace: %v, hashed %v", err, hashed)
	}
}

func TestProxiesClient(t *testing.T) {
	ps, err := ParseProxies([]string{"10.0.0.0/8", "::1"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ParseProxies([]string{"10.0.0.0/33"}); err == nil {
		t.Fatal("a bad prefix was accepted")
	}
	tests := []struct {
		peer, xff, want string
	}{
		{"192.0.2.1:5000", "203.0.113.9", "192.0.2.1"},                          // not a proxy: the header is ignored
		{"10.1.1.1:5000", "203.0.113.9", "203.0.113.9"},                         // a proxy names the client
		{"10.1.1.1:5000", "198.51.100.1, 203.0.113.9, 10.2.2.2", "203.0.113.9"}, // right-most untrusted hop
		{"10.1.1.1:5000", "", "10.1.1.1"},                                       // no header: the proxy itself
		{"10.1.1.1:5000", "not-an-address", "10.1.1.1"},                         // garbage is never taken
		{"[::1]:5000", "2001:db8::1", "2001:db8::1"},
		{"[::ffff:10.1.1.1]:5000", "203.0.113.9", "203.0.113.9"},
	}
	for _, tt := range tests {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = tt.peer
		if tt.xff != "" {
			r.Header.Set("X-Forwarded-For", tt.xff)
		}
		if got := ps.Client(r); got != tt.want {
			t.Errorf("peer %s, X-Forwarded-For %q: %q, want %q", tt.peer, tt.xff, got, tt.want)
		}
	}
}

// TestHashMemoryReturned checks that the last password check of a burst
// gives the argon2 work area back to the operating system: right after
// it, the heap holds far less free memory than one work area.
func TestHashMemoryReturned(t *testing.T) {
	hash := HashSecret("secret-1")
	l := newHashLimiter(1)
	l.start(t.Context())
	if err := l.run(t.Context(), func() {
		if ok, err := VerifySecret(hash, "secret-1"); !ok || err != nil {
			t.Errorf("VerifySecret = %v, %v", ok, err)
		}
	}); err != nil {
		t.Fatal(err)
	}
	s := []metrics.Sample{{Name: "/memory/classes/heap/free:bytes"}}
	metrics.Read(s)
	if free := s[0].Value.Uint64(); free >= argonMemory<<10/2 {
		t.Fatalf("%d bytes free in the heap after the burst, want them returned (the work area is %d)", free, argonMemory<<10)
	}
}
