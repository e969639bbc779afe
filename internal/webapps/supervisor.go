package webapps

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/http/httputil"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/acre-project/acre/internal/meta"
)

// controller supervises one app: it deploys the configured image, keeps
// the wanted number of instances healthy (restarting crashed or unhealthy
// ones with backoff) and publishes the serving set to the front door.
// Everything but live, changed and logs is owned by its run goroutine.
type controller struct {
	s     *Service
	name  string
	kickc chan struct{}
	done  chan struct{}
	logs  *logBuffer
	live  atomic.Pointer[liveSet]
	// stopped is set while the app is stopped, so the front door answers at once.
	stopped atomic.Bool
	// idle is set while the app sleeps for lack of requests; the front
	// door's next request clears it and wakes the controller.
	idle    atomic.Bool
	lastReq atomic.Int64 // unix nanoseconds of the last request or deployment
	mu      sync.Mutex
	change  chan struct{} // closed and replaced when live changes

	started bool // guarded by Service.mu

	deployed string    // the hash of what runs
	force    bool      // redeploy even when the configuration is the same (CD)
	failures int       // consecutive failed deployments
	retryAt  time.Time // no deployment before
	restarts int
}

// liveSet is the instances serving an app, in turn.
type liveSet struct {
	insts   []*instance
	next    atomic.Uint64
	port    int
	retired atomic.Bool // set before its instances drain
}

func (l *liveSet) pick() *instance {
	if l == nil || len(l.insts) == 0 {
		return nil
	}
	return l.insts[l.next.Add(1)%uint64(len(l.insts))]
}

// instance is a running instance with its connection pool.
type instance struct {
	Instance
	port      int
	transport *http.Transport
	proxy     *httputil.ReverseProxy
	inflight  atomic.Int64
	healthBad int
}

func newController(s *Service, name string) *controller {
	return &controller{s: s, name: name, kickc: make(chan struct{}, 1), done: make(chan struct{}),
		logs: newLogBuffer(filepath.Join(s.o.Dir, "logs", name+".log")), change: make(chan struct{})}
}

func (c *controller) isStarted() bool {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	return c.started
}

func (c *controller) wake() {
	select {
	case c.kickc <- struct{}{}:
	default:
	}
}

// redeploy asks for a new deployment of the configured image (tags are
// resolved again).
func (c *controller) redeploy() {
	c.mu.Lock()
	c.force = true
	c.mu.Unlock()
	c.wake()
}

func (c *controller) setLive(l *liveSet) *liveSet {
	old := c.live.Swap(l)
	c.mu.Lock()
	close(c.change)
	c.change = make(chan struct{})
	c.mu.Unlock()
	return old
}

// waitLive returns the serving set, waiting (until ctx ends) while the
// app has none.
func (c *controller) waitLive(ctx context.Context) *liveSet {
	for {
		c.mu.Lock()
		ch := c.change
		c.mu.Unlock()
		if l := c.live.Load(); l != nil && len(l.insts) > 0 {
			return l
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return nil
		}
	}
}

func (c *controller) run(ctx context.Context) {
	defer close(c.done)
	defer c.logs.close()
	t := time.NewTicker(c.s.o.Probe)
	defer t.Stop()
	for {
		if !c.reconcile(ctx) {
			c.stopAll()
			return
		}
		select {
		case <-ctx.Done():
			c.stopAll()
			return
		case <-c.kickc:
		case <-t.C:
		}
	}
}

// stopAll takes every instance out of service and stops it.
func (c *controller) stopAll() {
	if old := c.setLive(nil); old != nil {
		c.retire(old)
	}
	c.deployed = ""
}

// retire stops the instances of a set once their requests have finished
// (bounded), in the background.
func (c *controller) retire(l *liveSet) {
	l.retired.Store(true)
	var wg sync.WaitGroup
	for _, in := range l.insts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			deadline := time.Now().Add(30 * time.Second)
			for in.inflight.Load() > 0 && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
			}
			in.transport.CloseIdleConnections()
			_ = in.Stop(context.Background())
		}()
	}
	wg.Wait()
}

// reconcile brings the app to its configuration; false when it is gone.
func (c *controller) reconcile(ctx context.Context) bool {
	a, err := c.s.o.Meta.Read().GetWebApp(ctx, c.name)
	if errors.Is(err, meta.ErrNotFound) {
		return false
	}
	if err != nil {
		return true
	}
	cfg, err := parseConfig(a.Config)
	if err != nil {
		c.setStatus(ctx, a.ID, Status{State: "Failed", Message: "configuration: " + err.Error()})
		return true
	}
	c.stopped.Store(cfg.Stopped)
	if cfg.Stopped {
		if c.live.Load() != nil || c.deployed != "" {
			c.logs.platform("stopping the app")
			c.stopAll()
		}
		c.setStatus(ctx, a.ID, Status{State: "Stopped"})
		return true
	}
	plan, err := c.s.o.Meta.Read().GetPlanByID(ctx, a.PlanID)
	if err != nil {
		return true
	}
	settings, refs := c.resolveSettings(ctx, a, cfg)
	want := configHash(a, plan, settings)
	c.mu.Lock()
	force := c.force
	c.mu.Unlock()
	reason := ""
	switch {
	case force:
		reason = "a new image was pushed"
	case want != c.deployed:
		reason = "the configuration changed"
		if c.deployed == "" {
			reason = "the app starts"
		}
	case c.idle.Load():
		return true // asleep until a request comes
	default:
		reason = c.check(ctx, cfg)
		if reason == "" && !cfg.AlwaysOn && time.Since(time.Unix(0, c.lastReq.Load())) > c.s.o.IdleTimeout {
			c.logs.platform("no request for %s and Always On is off: stopping until the next request", c.s.o.IdleTimeout)
			c.idle.Store(true)
			c.stopAll()
			c.deployed = want
			c.setStatus(ctx, a.ID, Status{State: "Running", Message: "idle: the next request starts an instance (Always On is off)"})
			return true
		}
	}
	if reason == "" || time.Now().Before(c.retryAt) {
		return true
	}
	c.mu.Lock()
	c.force = false
	c.mu.Unlock()
	cfg.AppSettings = settings
	st, err := c.deploy(ctx, a, cfg, plan, reason)
	st.KeyVaultReferences = refs
	if err != nil {
		c.failures++
		wait := min(time.Second<<min(c.failures-1, 10), c.s.o.MaxBackoff)
		c.retryAt = time.Now().Add(wait)
		c.logs.platform("deployment failed: %v (retrying in %s)", err, wait)
		st.State, st.Message = "Failed", err.Error()
		if old := c.live.Load(); old != nil && len(old.insts) > 0 {
			st.State = "Running" // the previous deployment still serves
		}
		c.setStatus(ctx, a.ID, st)
		go func() { time.Sleep(wait); c.wake() }()
		return true
	}
	c.failures, c.retryAt, c.deployed = 0, time.Time{}, want
	c.lastReq.Store(time.Now().UnixNano())
	c.idle.Store(false)
	st.Restarts = c.restarts
	c.setStatus(ctx, a.ID, st)
	return true
}

// check reports why running instances need replacing ("" when healthy).
func (c *controller) check(ctx context.Context, cfg Config) string {
	l := c.live.Load()
	if l == nil {
		return "no instance runs"
	}
	for _, in := range l.insts {
		select {
		case <-in.Done():
			c.restarts++
			return fmt.Sprintf("instance %s exited (%v)", in.ID(), in.Err())
		default:
		}
		if cfg.HealthCheckPath == "" {
			continue
		}
		if err := probeHTTP(ctx, in, cfg.HealthCheckPath); err != nil {
			in.healthBad++
			c.logs.platform("health check of %s failed (%d in a row): %v", in.ID(), in.healthBad, err)
			if in.healthBad >= 3 {
				c.restarts++
				return fmt.Sprintf("instance %s is unhealthy", in.ID())
			}
		} else {
			in.healthBad = 0
		}
	}
	return ""
}

func (c *controller) setStatus(ctx context.Context, id int64, st Status) {
	if st.State != "Stopped" {
		if l := c.live.Load(); l != nil {
			st.Instances = st.Instances[:0]
			for _, in := range l.insts {
				st.Instances = append(st.Instances, in.ID())
			}
		}
	}
	st.Restarts = c.restarts
	b := marshal(st)
	err := c.s.o.Meta.Tx(ctx, func(q Store) error {
		a, err := q.GetWebApp(ctx, c.name)
		if err != nil || a.ID != id {
			return err
		}
		var old Status
		_ = json.Unmarshal(a.Status, &old)
		if st.Image == "" && st.State != "Stopped" {
			st.Image, st.Digest, st.LastDeployment = old.Image, old.Digest, old.LastDeployment
			b = marshal(st)
		}
		return q.SetWebAppStatus(ctx, id, b)
	})
	if err != nil && ctx.Err() == nil {
		c.s.o.Log.Warn("web app status", "app", c.name, "err", err)
	}
}

// resolveSettings returns the app settings with Key Vault references
// resolved where the app's identity may read them, and each reference's state.
func (c *controller) resolveSettings(ctx context.Context, a *meta.WebApp, cfg Config) (map[string]string, []RefStatus) {
	out := make(map[string]string, len(cfg.AppSettings))
	var refs []RefStatus
	for _, k := range slices.Sorted(maps.Keys(cfg.AppSettings)) {
		v := cfg.AppSettings[k]
		out[k] = v
		if c.s.o.Secrets == nil {
			continue
		}
		if r, st, isRef := c.s.o.Secrets.ResolveSetting(ctx, a.PrincipalID, v); isRef {
			out[k] = r
			refs = append(refs, RefStatus{Setting: k, Status: st})
		}
	}
	return out, refs
}

// configHash identifies what a deployment runs: the configuration with
// settings as resolved, and the plan's size (the status and CD secret
// excluded), so a rotated secret or a granted role redeploys too.
func configHash(a *meta.WebApp, p *meta.AppPlan, settings map[string]string) string {
	cfg, _ := parseConfig(a.Config)
	cfg.CDSecretHash, cfg.CDEnabled, cfg.Stopped = "", false, false
	cfg.AppSettings = settings
	h := sha256.New()
	h.Write(marshal(cfg))
	fmt.Fprintf(h, "|%d|%s|%d", a.PrincipalID, p.SKU, p.Workers)
	return hex.EncodeToString(h.Sum(nil))
}

func shortID() string {
	var b [4]byte
	_, _ = randRead(b[:])
	return hex.EncodeToString(b[:])
}
