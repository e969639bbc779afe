// Package webapps runs containers from the registry the way App Service
// for containers does: plans and apps with az's model, images pulled with
// the app's managed identity, settings as environment variables, each
// instance an OCI container (Runtime; runc by default) in its own
// namespaces behind a front door that routes <app>.<domain> and /<app>/.
package webapps

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/acre-project/acre/internal/meta"
)

// Identities is what web apps need of the identity model: system-assigned
// managed identities and the registry credentials they pull with.
type Identities interface {
	// CreateManagedIdentity creates an identity and returns its id and
	// principal name (what role assignments name as the assignee).
	CreateManagedIdentity(ctx context.Context) (id int64, name string, err error)
	DeleteIdentity(ctx context.Context, id int64) error
	PrincipalName(ctx context.Context, id int64) (string, error)
	// PullCredentials returns credentials of identity id for the registry
	// at host, or ok false when host is not one of this server's registries.
	PullCredentials(ctx context.Context, id int64, host string) (c Credentials, ok bool, err error)
}

// ImagePuller brings an image's unpacked tree (Puller over the
// distribution API).
type ImagePuller interface {
	Pull(ctx context.Context, ref ImageRef, cred Credentials) (*Image, error)
}

// Secrets resolves Key Vault references in app settings.
type Secrets interface {
	// ResolveSetting returns what value resolves to for the identity
	// (0: none): a reference resolved with status "Resolved", or left as
	// it is with the reason; isRef is false for plain values.
	ResolveSetting(ctx context.Context, principalID int64, value string) (resolved, status string, isRef bool)
}

// Store is the part of the metadata store web apps use: plans, apps and
// the audit log of SSH sessions.
type Store interface {
	meta.AppPlans
	meta.WebApps
	meta.Audit
}

// Options configure a Service.
type Options struct {
	Meta       meta.View[Store]
	Runtime    Runtime
	Puller     ImagePuller
	Identities Identities // nil: authentication is off (apps pull anonymously)
	Secrets    Secrets    // nil: references stay as they are
	Dir        string     // state: logs, /home volumes
	Domain     string     // apps answer at <app>.<domain>
	Log        *slog.Logger
	// Probe is how often instances are checked (default 10s).
	Probe time.Duration
	// StartTimeout bounds how long a new instance may take to answer on
	// its port (default 230s, App Service's WEBSITES_CONTAINER_START_TIME_LIMIT).
	StartTimeout time.Duration
	// MaxBackoff caps the wait between failed deployments (default 60s).
	MaxBackoff time.Duration
	// IdleTimeout: an app without Always On that served no request for
	// this long is stopped until the next request (default 20m).
	IdleTimeout time.Duration
	// URL returns the front door's base URL (for show and the CD URL).
	URL func() string
}

// Service manages plans and apps and supervises their instances.
type Service struct {
	o     Options
	mu    sync.Mutex
	ctx   context.Context // set by Run
	ctrls map[string]*controller
	bufs  *bufferPool
}

// New returns a Service; Run starts supervising.
func New(o Options) *Service {
	if o.Probe <= 0 {
		o.Probe = 10 * time.Second
	}
	if o.StartTimeout <= 0 {
		o.StartTimeout = 230 * time.Second
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = 60 * time.Second
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = 20 * time.Minute
	}
	if o.URL == nil {
		o.URL = func() string { return "" }
	}
	return &Service{o: o, ctrls: map[string]*controller{}, bufs: newBufferPool()}
}

// Run supervises every app until ctx ends, then stops their instances.
func (s *Service) Run(ctx context.Context) {
	for _, d := range []string{"logs", "home", "images"} {
		_ = os.MkdirAll(filepath.Join(s.o.Dir, d), 0o700)
	}
	if c, ok := s.o.Runtime.(interface{ Cleanup(context.Context) }); ok {
		c.Cleanup(ctx)
	}
	s.mu.Lock()
	s.ctx = ctx
	for _, c := range s.ctrls {
		if !c.started {
			c.started = true
			go c.run(ctx)
		}
	}
	s.mu.Unlock()
	apps, err := s.o.Meta.Read().ListWebApps(ctx)
	if err != nil {
		s.o.Log.Error("web apps: list", "err", err)
	}
	for _, a := range apps {
		s.controller(a.Name).wake()
	}
	<-ctx.Done()
	s.mu.Lock()
	ctrls := make([]*controller, 0, len(s.ctrls))
	for _, c := range s.ctrls {
		if c.started {
			ctrls = append(ctrls, c)
		}
	}
	s.mu.Unlock()
	for _, c := range ctrls {
		<-c.done
	}
}

// controller returns the app's controller, starting it when Run has.
func (s *Service) controller(name string) *controller {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.ctrls[name]; ok {
		return c
	}
	c := newController(s, name)
	s.ctrls[name] = c
	if s.ctx != nil {
		c.started = true
		go c.run(s.ctx)
	}
	return c
}

func (s *Service) lookup(name string) *controller {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ctrls[name]
}

func (s *Service) forget(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.ctrls, name)
}

// PlanView is a plan as the API shows it.
type PlanView struct {
	Name      string    `json:"name"`
	Kind      string    `json:"kind"`
	Reserved  bool      `json:"reserved"` // Linux
	SKU       SKUView   `json:"sku"`
	Workers   int       `json:"numberOfWorkers"`
	Apps      int       `json:"numberOfSites"`
	CreatedAt time.Time `json:"createdTime"`
}

// SKUView is a plan's SKU with the limits each instance gets.
type SKUView struct {
	Name        string `json:"name"`
	Capacity    int    `json:"capacity"`
	MemoryBytes int64  `json:"memoryBytes"`
	PidsLimit   int64  `json:"pidsLimit"`
}

func (s *Service) planView(ctx context.Context, p *meta.AppPlan) PlanView {
	sku, _ := LookupSKU(p.SKU)
	n := 0
	if apps, err := s.o.Meta.Read().ListWebApps(ctx); err == nil {
		for _, a := range apps {
			if a.PlanID == p.ID {
				n++
			}
		}
	}
	return PlanView{Name: p.Name, Kind: "linux", Reserved: true, Workers: p.Workers, Apps: n, CreatedAt: p.CreatedAt,
		SKU: SKUView{Name: sku.Name, Capacity: p.Workers, MemoryBytes: sku.Memory, PidsLimit: sku.Pids}}
}

// CreatePlan creates a Linux plan.
func (s *Service) CreatePlan(ctx context.Context, name, skuName string, workers int) (PlanView, error) {
	if err := checkName("plan", name); err != nil {
		return PlanView{}, err
	}
	if skuName == "" {
		skuName = "B1"
	}
	sku, ok := LookupSKU(skuName)
	if !ok {
		return PlanView{}, invalid("unknown SKU %q: use one of %s", skuName, skuNames())
	}
	if workers <= 0 {
		workers = 1
	}
	if workers > 10 {
		return PlanView{}, invalid("a plan runs at most 10 workers here")
	}
	p := &meta.AppPlan{Name: name, SKU: sku.Name, Workers: workers, CreatedAt: time.Now().UTC()}
	err := s.o.Meta.Tx(ctx, func(q Store) error { return q.CreatePlan(ctx, p) })
	if errors.Is(err, meta.ErrConflict) {
		return PlanView{}, invalid("a plan named %q exists", name)
	}
	if err != nil {
		return PlanView{}, err
	}
	return s.planView(ctx, p), nil
}

// Plan shows a plan.
func (s *Service) Plan(ctx context.Context, name string) (PlanView, error) {
	p, err := s.o.Meta.Read().GetPlan(ctx, name)
	if err != nil {
		return PlanView{}, err
	}
	return s.planView(ctx, p), nil
}

// Plans lists plans.
func (s *Service) Plans(ctx context.Context) ([]PlanView, error) {
	ps, err := s.o.Meta.Read().ListPlans(ctx)
	if err != nil {
		return nil, err
	}
	out := []PlanView{}
	for i := range ps {
		out = append(out, s.planView(ctx, &ps[i]))
	}
	return out, nil
}

// UpdatePlan changes a plan's SKU or worker count ("" and 0 keep them);
// its apps are redeployed with the new size.
func (s *Service) UpdatePlan(ctx context.Context, name, skuName string, workers int) (PlanView, error) {
	var p *meta.AppPlan
	err := s.o.Meta.Tx(ctx, func(q Store) error {
		var err error
		if p, err = q.GetPlan(ctx, name); err != nil {
			return err
		}
		if skuName != "" {
			sku, ok := LookupSKU(skuName)
			if !ok {
				return invalid("unknown SKU %q: use one of %s", skuName, skuNames())
			}
			p.SKU = sku.Name
		}
		if workers > 10 {
			return invalid("a plan runs at most 10 workers here")
		}
		if workers > 0 {
			p.Workers = workers
		}
		return q.UpdatePlan(ctx, p)
	})
	if err != nil {
		return PlanView{}, err
	}
	s.wakePlan(ctx, p.ID)
	return s.planView(ctx, p), nil
}

func (s *Service) wakePlan(ctx context.Context, planID int64) {
	apps, _ := s.o.Meta.Read().ListWebApps(ctx)
	for _, a := range apps {
		if a.PlanID == planID {
			s.controller(a.Name).wake()
		}
	}
}

// DeletePlan deletes a plan that no app uses.
func (s *Service) DeletePlan(ctx context.Context, name string) error {
	err := s.o.Meta.Tx(ctx, func(q Store) error {
		p, err := q.GetPlan(ctx, name)
		if err != nil {
			return err
		}
		return q.DeletePlan(ctx, p.ID)
	})
	if errors.Is(err, meta.ErrConflict) {
		return invalid("plan %q still has apps: delete them first", name)
	}
	return err
}

func marshal(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("webapps: marshal %T: %v", v, err)) // plain structs always marshal
	}
	return b
}
