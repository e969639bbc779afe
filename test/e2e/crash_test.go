//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"
)

// TestCrashDuringPushes kills the server with SIGKILL again and again while
// several clients push, restarts it on the same data directory, and checks
// that every push it acknowledged pulls back byte for byte and is listed in
// the catalog and its tag list, and that everything listed is whole. Each
// round runs until enough pushes are acknowledged and kills the server at a
// random point of the next one, however fast the machine is.
func TestCrashDuringPushes(t *testing.T) {
	const (
		rounds        = 6
		writers       = 6
		ackedPerRound = 4 // acknowledged pushes before each kill
	)
	data := t.TempDir()
	var acked []testImage
	var mu sync.Mutex
	seq := 0
	var sharedTxs float64 // transactions that shared a commit with another
	for round := range rounds {
		a := StartAcre(t, data)
		c := newPushClient(a)
		acked = append(acked, killLoad{
			clients: []*pushClient{c},
			writers: writers,
			image: func(w, _ int) testImage {
				mu.Lock()
				seq++
				n := seq
				mu.Unlock()
				return randomImage(fmt.Sprintf("crash/w%d", w), fmt.Sprintf("r%d-%d", round, n), 2, 16<<10+n%4096)
			},
			before: ackedPerRound,
			kill: func() {
				if txs, commits, err := c.commitStats(context.Background()); err == nil {
					sharedTxs += txs - commits
				}
				a.Kill() // SIGKILL, mid-write
			},
		}.run(t)...)
	}
	// Concurrent pushes go through group commit; the kills must have hit it.
	if sharedTxs <= 0 {
		t.Errorf("no metadata transaction shared a commit among %d concurrent writers", writers)
	}

	start := time.Now()
	a := StartAcre(t, data)
	t.Logf("restart after %d kills took %v; verifying %d acknowledged pushes", rounds, time.Since(start), len(acked))
	c := newPushClient(a)
	ctx := context.Background()
	for _, img := range acked {
		if err := c.verify(ctx, img); err != nil {
			t.Errorf("acknowledged push lost or damaged: %v", err)
		}
	}
	var cat struct{ Repositories []string }
	if err := c.getJSON(ctx, "/v2/_catalog", &cat); err != nil {
		t.Fatal(err)
	}
	byRepo := map[string][]testImage{}
	for _, img := range acked {
		byRepo[img.Repo] = append(byRepo[img.Repo], img)
	}
	for repo, imgs := range byRepo {
		if !slices.Contains(cat.Repositories, repo) {
			t.Errorf("catalog %v lacks %s", cat.Repositories, repo)
		}
		var tl struct{ Tags []string }
		if err := c.getJSON(ctx, "/v2/"+repo+"/tags/list", &tl); err != nil {
			t.Fatal(err)
		}
		for _, img := range imgs {
			if !slices.Contains(tl.Tags, img.Tag) {
				t.Errorf("tag list of %s lacks %s", repo, img.Tag)
			}
		}
		// Whatever is listed, acknowledged or not, must be whole.
		for _, tag := range tl.Tags {
			var m struct {
				Config struct{ Digest string }
				Layers []struct{ Digest string }
			}
			if err := c.getJSON(ctx, "/v2/"+repo+"/manifests/"+tag, &m); err != nil {
				t.Errorf("listed tag %s:%s: %v", repo, tag, err)
				continue
			}
			for _, d := range append([]string{m.Config.Digest}, func() (ds []string) {
				for _, l := range m.Layers {
					ds = append(ds, l.Digest)
				}
				return
			}()...) {
				resp, _, err := c.do(ctx, "HEAD", "/v2/"+repo+"/blobs/"+d, nil, nil)
				if err != nil || resp.StatusCode != 200 {
					t.Errorf("listed tag %s:%s references missing blob %s", repo, tag, d)
				}
			}
		}
	}
}
