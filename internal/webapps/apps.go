package webapps

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/acre-project/acre/internal/meta"
)

// AppView is a web app as the API shows it (after az webapp show).
type AppView struct {
	Name            string         `json:"name"`
	Kind            string         `json:"kind"`
	State           string         `json:"state"` // Running or Stopped: what the user asked
	ServerFarm      string         `json:"appServicePlan"`
	DefaultHostName string         `json:"defaultHostName"`
	HostNames       []string       `json:"hostNames"`
	URL             string         `json:"url,omitempty"` // through the front door, without DNS
	SiteConfig      SiteConfigView `json:"siteConfig"`
	Identity        *IdentityView  `json:"identity,omitempty"`
	Status          Status         `json:"status"` // what the platform observed
	CreatedAt       time.Time      `json:"createdTime"`
	UpdatedAt       time.Time      `json:"lastModifiedTimeUtc"`
}

// SiteConfigView is the app's configuration (az webapp config show).
type SiteConfigView struct {
	LinuxFxVersion  string `json:"linuxFxVersion"`
	AcrUseIdentity  bool   `json:"acrUseManagedIdentityCreds"`
	AppCommandLine  string `json:"appCommandLine"`
	HealthCheckPath string `json:"healthCheckPath"`
	AlwaysOn        bool   `json:"alwaysOn"`
	Workers         int    `json:"numberOfWorkers"`
	CDEnabled       bool   `json:"continuousDeployment"`
}

// IdentityView is a system-assigned managed identity.
type IdentityView struct {
	Type        string `json:"type"`
	PrincipalID string `json:"principalId"`
}

func (s *Service) view(ctx context.Context, a *meta.WebApp) (AppView, error) {
	cfg, err := parseConfig(a.Config)
	if err != nil {
		return AppView{}, err
	}
	var st Status
	_ = json.Unmarshal(a.Status, &st)
	plan, err := s.o.Meta.Read().GetPlanByID(ctx, a.PlanID)
	if err != nil {
		return AppView{}, err
	}
	host := a.Name + "." + s.o.Domain
	v := AppView{Name: a.Name, Kind: "app,linux,container", State: "Running", ServerFarm: plan.Name, DefaultHostName: host,
		HostNames: []string{host}, Status: st, CreatedAt: a.CreatedAt, UpdatedAt: a.UpdatedAt,
		SiteConfig: SiteConfigView{LinuxFxVersion: "DOCKER|" + cfg.Image, AcrUseIdentity: cfg.AcrUseIdentity, AppCommandLine: cfg.StartupFile,
			HealthCheckPath: cfg.HealthCheckPath, AlwaysOn: cfg.AlwaysOn, Workers: workersOf(cfg, plan), CDEnabled: cfg.CDEnabled}}
	if base := s.o.URL(); base != "" {
		v.URL = base + "/" + a.Name + "/"
	}
	if cfg.Stopped {
		v.State = "Stopped"
	}
	if a.PrincipalID != 0 && s.o.Identities != nil {
		name, err := s.o.Identities.PrincipalName(ctx, a.PrincipalID)
		if err == nil {
			v.Identity = &IdentityView{Type: "SystemAssigned", PrincipalID: name}
		}
	}
	return v, nil
}

func workersOf(cfg Config, plan *meta.AppPlan) int {
	if cfg.Workers > 0 {
		return cfg.Workers
	}
	return plan.Workers
}

// CreateApp creates an app on plan running image, and starts it.
func (s *Service) CreateApp(ctx context.Context, name, plan string, cfg Config) (AppView, error) {
	if err := checkName("app", name); err != nil {
		return AppView{}, err
	}
	if cfg.Image == "" {
		return AppView{}, invalid("give the image: --container-image-name <registry>/<repository>:<tag>")
	}
	if err := checkConfig(cfg); err != nil {
		return AppView{}, err
	}
	now := time.Now().UTC()
	a := &meta.WebApp{Name: name, Config: marshal(cfg), Status: marshal(Status{State: "Starting"}), CreatedAt: now, UpdatedAt: now}
	err := s.o.Meta.Tx(ctx, func(q Store) error {
		p, err := q.GetPlan(ctx, plan)
		if errors.Is(err, meta.ErrNotFound) {
			return invalid("no plan named %q: create it with acre appservice plan create", plan)
		} else if err != nil {
			return err
		}
		a.PlanID = p.ID
		if err := q.CreateWebApp(ctx, a); errors.Is(err, meta.ErrConflict) {
			return invalid("an app named %q exists", name)
		} else {
			return err
		}
	})
	if err != nil {
		return AppView{}, err
	}
	s.controller(name).wake()
	return s.view(ctx, a)
}

func checkConfig(cfg Config) error {
	if _, err := ParseImageRef(cfg.Image); err != nil {
		return invalid("%v", err)
	}
	if cfg.HealthCheckPath != "" && !strings.HasPrefix(cfg.HealthCheckPath, "/") {
		return invalid("the health check path must start with /")
	}
	if cfg.Workers < 0 || cfg.Workers > 10 {
		return invalid("number of workers: 1 to 10")
	}
	for k := range cfg.AppSettings {
		if k == "" || strings.ContainsAny(k, "=\x00") {
			return invalid("app setting name %q is not valid", k)
		}
	}
	for k, c := range cfg.ConnectionStrings {
		if k == "" || strings.ContainsAny(k, "=\x00") {
			return invalid("connection string name %q is not valid", k)
		}
		if _, ok := connPrefixes[c.Type]; !ok {
			return invalid("connection string type %q: use PostgreSQL, SQLAzure, MySql, SQLServer or Custom", c.Type)
		}
	}
	return nil
}

// App shows an app.
func (s *Service) App(ctx context.Context, name string) (AppView, error) {
	a, err := s.o.Meta.Read().GetWebApp(ctx, name)
	if err != nil {
		return AppView{}, err
	}
	return s.view(ctx, a)
}

// Config returns an app's configuration (settings in clear, for their owner).
func (s *Service) Config(ctx context.Context, name string) (Config, error) {
	a, err := s.o.Meta.Read().GetWebApp(ctx, name)
	if err != nil {
		return Config{}, err
	}
	cfg, err := parseConfig(a.Config)
	cfg.CDSecretHash = ""
	return cfg, err
}

// Apps lists apps.
func (s *Service) Apps(ctx context.Context) ([]AppView, error) {
	as, err := s.o.Meta.Read().ListWebApps(ctx)
	if err != nil {
		return nil, err
	}
	out := []AppView{}
	for i := range as {
		v, err := s.view(ctx, &as[i])
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// Configure applies change to an app's configuration; a valid result is
// stored and the app redeploys with it (zero downtime: new instances
// start and pass their checks before the old ones stop).
func (s *Service) Configure(ctx context.Context, name string, change func(c *Config) error) (AppView, error) {
	var a *meta.WebApp
	err := s.o.Meta.Tx(ctx, func(q Store) error {
		var err error
		if a, err = q.GetWebApp(ctx, name); err != nil {
			return err
		}
		cfg, err := parseConfig(a.Config)
		if err != nil {
			return err
		}
		if err := change(&cfg); err != nil {
			return err
		}
		if err := checkConfig(cfg); err != nil {
			return err
		}
		a.Config, a.UpdatedAt = marshal(cfg), time.Now().UTC()
		return q.UpdateWebApp(ctx, a)
	})
	if err != nil {
		return AppView{}, err
	}
	s.controller(name).wake()
	return s.view(ctx, a)
}

// DeleteApp stops and deletes an app and its managed identity.
func (s *Service) DeleteApp(ctx context.Context, name string) error {
	var a *meta.WebApp
	err := s.o.Meta.Tx(ctx, func(q Store) error {
		var err error
		if a, err = q.GetWebApp(ctx, name); err != nil {
			return err
		}
		return q.DeleteWebApp(ctx, a.ID)
	})
	if err != nil {
		return err
	}
	if c := s.lookup(name); c != nil {
		c.wake()
		if c.isStarted() {
			<-c.done
		}
		s.forget(name)
	}
	if a.PrincipalID != 0 && s.o.Identities != nil {
		if err := s.o.Identities.DeleteIdentity(ctx, a.PrincipalID); err != nil && !errors.Is(err, meta.ErrNotFound) {
			return err
		}
	}
	return nil
}

// AssignIdentity gives the app a system-assigned managed identity (once).
func (s *Service) AssignIdentity(ctx context.Context, name string) (IdentityView, error) {
	if s.o.Identities == nil {
		return IdentityView{}, invalid("managed identities need authentication on")
	}
	a, err := s.o.Meta.Read().GetWebApp(ctx, name)
	if err != nil {
		return IdentityView{}, err
	}
	if a.PrincipalID != 0 {
		n, err := s.o.Identities.PrincipalName(ctx, a.PrincipalID)
		return IdentityView{Type: "SystemAssigned", PrincipalID: n}, err
	}
	id, pname, err := s.o.Identities.CreateManagedIdentity(ctx)
	if err != nil {
		return IdentityView{}, err
	}
	err = s.o.Meta.Tx(ctx, func(q Store) error {
		cur, err := q.GetWebApp(ctx, name)
		if err != nil {
			return err
		}
		if cur.PrincipalID != 0 {
			return errAlreadyAssigned
		}
		cur.PrincipalID, cur.UpdatedAt = id, time.Now().UTC()
		return q.UpdateWebApp(ctx, cur)
	})
	if err != nil {
		_ = s.o.Identities.DeleteIdentity(ctx, id)
		if errors.Is(err, errAlreadyAssigned) {
			return s.AssignIdentity(ctx, name)
		}
		return IdentityView{}, err
	}
	s.controller(name).wake()
	return IdentityView{Type: "SystemAssigned", PrincipalID: pname}, nil
}

var errAlreadyAssigned = errors.New("identity already assigned")

// Logs returns the app's recent log lines and, with follow, a channel of
// the next ones (stop ends it).
func (s *Service) Logs(ctx context.Context, name string) ([]string, <-chan string, func(), error) {
	if _, err := s.o.Meta.Read().GetWebApp(ctx, name); err != nil {
		return nil, nil, nil, err
	}
	rec, ch, stop := s.controller(name).logs.follow()
	return rec, ch, stop, nil
}
