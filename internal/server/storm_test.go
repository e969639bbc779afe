package server

import (
	"fmt"
	"net/http"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// stormResult is what a sign-in storm did to authenticated pulls.
type stormResult struct {
	baseP99, stormP99 time.Duration
	samples           int
	peakHeap          uint64 // bytes in use on the heap, highest seen during the storm
	answers           map[int]int
}

// p99 returns the 99th percentile of d (sorted in place).
func p99(d []time.Duration) time.Duration {
	slices.Sort(d)
	return d[min(len(d)-1, len(d)*99/100)]
}

// signInStorm measures authenticated manifest GETs (bearer token) alone,
// then while `attempts` sign-ins with random user names from random
// client addresses arrive, 100 a second from up to 32 clients (the worst
// case: no address is throttled, every attempt asks for a password hash).
func signInStorm(tb testing.TB, s *testServer, attempts int) stormResult {
	owner := cred{user: "owner", pass: ownerPass}
	if st := s.push(owner, "app", "v1", newImage("v1", nil)); st != http.StatusCreated {
		tb.Fatalf("push: %d", st)
	}
	_, tok := s.tokenFor(owner, "acre.localhost", "repository:app:pull")
	get := func() time.Duration {
		t0 := time.Now()
		if st := s.status(manifestPath, cred{bearer: tok}); st != http.StatusOK {
			tb.Errorf("manifest GET: %d", st)
		}
		return time.Since(t0)
	}
	for range 20 { // warm connections and caches
		get()
	}
	var base []time.Duration
	for range 200 {
		base = append(base, get())
	}

	res := stormResult{answers: map[int]int{}}
	var mu sync.Mutex
	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for c := range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1)
				if i > int64(attempts) {
					return
				}
				// Attempts arrive at 100 a second (issue 10's storm: 1,000 in 10 s),
				// or as fast as the clients manage when the machine is slower.
				time.Sleep(time.Until(start.Add(time.Duration(i) * 10 * time.Millisecond)))
				req, _ := http.NewRequest(http.MethodGet, s.ts.URL+"/v2/", nil)
				req.SetBasicAuth(fmt.Sprintf("storm-%d-%d", c, i), "wrong-password")
				req.Header.Set("X-Forwarded-For", fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255))
				resp, err := s.ts.Client().Do(req)
				if err != nil {
					tb.Errorf("sign-in: %v", err)
					return
				}
				resp.Body.Close()
				mu.Lock()
				res.answers[resp.StatusCode]++
				mu.Unlock()
			}
		}()
	}
	stormDone := make(chan struct{})
	go func() { wg.Wait(); close(stormDone) }()
	var during []time.Duration
	var ms runtime.MemStats
	for done := false; !done; {
		select {
		case <-stormDone:
			done = true
		default:
		}
		during = append(during, get())
		runtime.ReadMemStats(&ms)
		res.peakHeap = max(res.peakHeap, ms.HeapInuse)
	}
	res.baseP99, res.stormP99, res.samples = p99(base), p99(during), len(during)
	return res
}

// TestSignInStormKeepsPullsFast (issue 10's performance bound): 1,000
// sign-ins with random user names leave authenticated pulls' p99 within
// a bound of the p99 measured just before, in the same run, and the heap
// under 200 MiB (password hashes are bounded, waiting ones turned away).
func TestSignInStormKeepsPullsFast(t *testing.T) {
	s := newTestServer(t, behindProxy)
	r := signInStorm(t, s, 1000)
	t.Logf("manifest GET p99 %v alone, %v during the storm (%d samples); heap peak %d MiB; answers %v",
		r.baseP99, r.stormP99, r.samples, r.peakHeap>>20, r.answers)
	if r.answers[http.StatusUnauthorized]+r.answers[http.StatusTooManyRequests] != 1000 {
		t.Fatalf("answers %v: want only 401 and 429", r.answers)
	}
	// 50 ms on an idle machine; relative to the baseline so that a busy
	// machine (or the race detector) moves both alike.
	if bound := 50*time.Millisecond + 10*r.baseP99; r.stormP99 > bound {
		t.Fatalf("p99 during the storm %v, over %v (baseline p99 %v)", r.stormP99, bound, r.baseP99)
	}
	if r.peakHeap > 200<<20 {
		t.Fatalf("heap in use reached %d MiB", r.peakHeap>>20)
	}
}

// BenchmarkSignInStorm reports authenticated manifest GET p99 alone and
// during a storm of b.N×100 random-user sign-ins.
//
//	go test -run '^$' -bench SignInStorm -benchtime 10x ./internal/server
func BenchmarkSignInStorm(b *testing.B) {
	s := newTestServer(b, behindProxy)
	b.ResetTimer()
	r := signInStorm(b, s, b.N*100)
	b.ReportMetric(float64(r.baseP99.Microseconds())/1000, "base-p99-ms")
	b.ReportMetric(float64(r.stormP99.Microseconds())/1000, "storm-p99-ms")
	b.ReportMetric(float64(r.stormP99)/float64(r.baseP99), "p99-ratio")
	b.ReportMetric(float64(r.peakHeap>>20), "peak-heap-MiB")
}
