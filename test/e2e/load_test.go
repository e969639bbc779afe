//go:build e2e

package e2e

import (
	"context"
	"math/rand/v2"
	"sync"
	"testing"
	"time"
)

// loadDeadline bounds how long a round may take to reach its amount of
// work. It is generous on purpose: a busy machine is slow, never wrong.
const loadDeadline = 3 * time.Minute

// killLoad describes a round of pushes that ends with a kill.
type killLoad struct {
	clients []*pushClient            // writer w pushes through clients[w%len(clients)]
	writers int                      // concurrent writers
	image   func(w, i int) testImage // the i-th image of writer w
	before  int                      // acknowledged pushes before the kill
	after   int                      // acknowledged pushes after the kill (through surviving nodes)
	kill    func()                   // kills the server (SIGKILL)
}

// run pushes until l.before pushes are acknowledged, then kills the server
// at a random point of a push that started after that (a random fraction of
// the mean acknowledged push's duration, so the point scales with the
// machine's speed), then keeps pushing until l.after more pushes are
// acknowledged. It returns every acknowledged image. It never ends on a
// clock, only on work done; a round that cannot do its work within
// loadDeadline fails the test.
func (l killLoad) run(t *testing.T) []testImage {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var (
		mu       sync.Mutex
		acked    []testImage
		total    time.Duration // summed duration of acknowledged pushes
		killed   bool
		afterN   int
		started  = make(chan struct{}, 1) // a push started after enough work
		enough   = make(chan struct{})
		finished = make(chan struct{})
		once     sync.Once
		doneOnce sync.Once
	)
	var wg sync.WaitGroup
	for w := range l.writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := l.clients[w%len(l.clients)]
			for i := 0; ctx.Err() == nil; i++ {
				img := l.image(w, i)
				select {
				case <-enough:
					select {
					case started <- struct{}{}:
					default:
					}
				default:
				}
				t0 := time.Now()
				if err := c.push(ctx, img); err != nil {
					if ctx.Err() == nil {
						time.Sleep(10 * time.Millisecond) // a dead node refuses at once; do not spin
					}
					continue
				}
				mu.Lock()
				acked = append(acked, img)
				total += time.Since(t0)
				if killed {
					afterN++
				}
				n, after := len(acked), killed && afterN >= l.after
				mu.Unlock()
				if n >= l.before {
					once.Do(func() { close(enough) })
				}
				if after {
					doneOnce.Do(func() { close(finished) })
				}
			}
		}()
	}
	fail := func(format string, args ...any) {
		cancel()
		l.kill()
		wg.Wait()
		t.Fatalf(format, args...)
	}
	deadline := time.NewTimer(loadDeadline)
	defer deadline.Stop()
	select {
	case <-enough:
	case <-deadline.C:
		mu.Lock()
		n := len(acked)
		mu.Unlock()
		fail("only %d of %d pushes acknowledged within %v", n, l.before, loadDeadline)
	}
	select {
	case <-started:
	case <-deadline.C:
		fail("no push started within %v", loadDeadline)
	}
	mu.Lock()
	mean := total / time.Duration(len(acked))
	mu.Unlock()
	time.Sleep(time.Duration(rand.Int64N(int64(mean) + 1)))
	l.kill()
	mu.Lock()
	killed = true
	mu.Unlock()
	if l.after > 0 {
		select {
		case <-finished:
		case <-deadline.C:
			fail("fewer than %d pushes acknowledged after the kill within %v", l.after, loadDeadline)
		}
	}
	cancel()
	wg.Wait()
	return acked
}
