// Package server is acre's composition root: it builds the stores, the
// services (registry, lifecycle, auth, webhooks, audit, tasks, web apps,
// Key Vault) and the HTTP handlers from the configuration, and runs them
// with a known start and stop order. It serves the whole HTTP surface,
// dispatching on route.Of to /v2/ (oci), /acr/v1/ and /oauth2/ (acrapi)
// and /api/ (mgmt), plus /metrics, /healthz and /readyz, behind one
// middleware (request ids, access log, metrics, panics as 500s); and it
// runs the background work: webhook delivery, the audit writer, the
// janitor, last-pull recording, the lifecycle loop and the build queue.
package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/acre-project/acre/internal/audit"
	"github.com/acre-project/acre/internal/auth"
	"github.com/acre-project/acre/internal/config"
	"github.com/acre-project/acre/internal/keyvault"
	"github.com/acre-project/acre/internal/lifecycle"
	"github.com/acre-project/acre/internal/meta"
	"github.com/acre-project/acre/internal/metrics"
	"github.com/acre-project/acre/internal/registry"
	"github.com/acre-project/acre/internal/seal"
	"github.com/acre-project/acre/internal/sku"
	skus "github.com/acre-project/acre/internal/sku"
	"github.com/acre-project/acre/internal/tasks"
	"github.com/acre-project/acre/internal/webapps"
	"github.com/acre-project/acre/internal/webhook"
)

// Server is a configured acre service.
type Server struct {
	cfg       config.Config
	log       *slog.Logger
	meta      meta.Store
	views     views // the narrow view of meta each component takes
	svc       *registry.Service
	life      *lifecycle.Service
	pulls     *lifecycle.Pulls
	auth      *auth.Service // nil when authentication is off
	hooks     *webhook.Service
	dispatch  *webhook.Dispatcher
	metrics   *metrics.Metrics
	audit     *audit.Writer
	tasks     *tasks.Service
	buildkit  *tasks.BuildKit // nil when builds are off
	addr      atomic.Value    // the address Serve listens on (string)
	bootstrap auth.BootstrapResult
	apps      *webapps.Service // nil: web apps are off
	vault     *keyvault.Service
	appsHost  *appsHost
	proxies   auth.Proxies
	own       *listeners     // where this server listens: webhooks may not call it
	box       *seal.Box      // seals secrets at rest
	taskGuard *webhook.Guard // what builds and base-image polls may reach
	fetchLn   net.Listener   // the fetch proxy's (nil: none)
}

// New opens the stores under cfg.Data, makes sure the configured registries
// exist and, with authentication on, loads the token keys (until ctx ends)
// and creates the first owner on a fresh store: bootstrapUser and
// bootstrapPassword when given, else "owner" with a generated password.
func New(ctx context.Context, cfg config.Config, log *slog.Logger, bootstrapUser, bootstrapPassword string) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	own := &listeners{}
	guard, err := webhook.NewGuard(cfg.Webhooks.Allow, own.list)
	if err != nil {
		return nil, err
	}
	taskGuard, err := webhook.NewGuardFor("tasks.allow", cfg.Tasks.Allow, own.list)
	if err != nil {
		return nil, err
	}
	// The data directory holds the signing keys and a generated owner
	// password: only its owner may enter it, whatever its mode was.
	if err := os.MkdirAll(cfg.Data, 0o700); err != nil {
		return nil, err
	}
	if err := os.Chmod(cfg.Data, 0o700); err != nil {
		return nil, err
	}
	blobs, err := openBlobs(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open blob store: %w", err)
	}
	m, err := openMeta(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open metadata: %w", err)
	}
	box, err := seal.LoadOrCreate(cfg.KeyFile())
	if err == nil {
		err = checkSealKey(ctx, meta.Narrow(m, func(q meta.Queries) meta.SealKeyCheck { return q }), box, cfg.KeyFile())
	}
	if err != nil {
		m.Close()
		return nil, err
	}
	views := narrowViews(m)
	mx := newMetrics(m, views)
	dispatch := webhook.NewDispatcher(views.webhook, log, guard.Client(10*time.Second), mx.Delivery)
	pulls := lifecycle.NewPulls(meta.Narrow(m, func(q meta.Queries) meta.PullTimes { return q }), log)
	svc := registry.New(registry.Options{Meta: meta.Narrow(m, func(q meta.Queries) registry.Store { return q }),
		Blobs: blobs, Uploads: blobs, Log: log, OnPull: pulls.Record,
		DefaultRegistry: cfg.DefaultRegistry, MaxManifestBytes: cfg.Limits.MaxManifestBytes, Domain: cfg.Domain,
		Notify: dispatch.Kick, GCGrace: cfg.Lifecycle.GCGrace, Limits: func(r *meta.Registry) sku.Limits { return cfg.SKU(r.SKU) },
		Redirect: cfg.Storage.Blobs.Redirect, MaxUploadsPerRegistry: cfg.Limits.MaxUploadsPerRegistry,
		MaxUploadsPerIdentity: cfg.Limits.MaxUploadsPerIdentity, SessionKey: box.Derive("upload sessions"),
		UploadTTL: cfg.Lifecycle.UploadTTL, InlineMax: inlineMax(cfg.Storage.Blobs)})
	life := lifecycle.New(lifecycle.Options{Meta: meta.Narrow(m, func(q meta.Queries) lifecycle.Store { return q }), Core: svc,
		Blobs: blobs, Uploads: blobs, Log: log, GCGrace: cfg.Lifecycle.GCGrace, Notify: dispatch.Kick})
	regs := append([]config.Registry{{Name: cfg.DefaultRegistry}}, cfg.Registries...)
	for _, r := range regs {
		sku := r.SKU
		if sku == "" {
			sku = skus.Default
		}
		if _, err := svc.EnsureRegistry(ctx, r.Name, r.Name+"."+cfg.Domain, sku); err != nil {
			m.Close()
			return nil, fmt.Errorf("create registry %s: %w", r.Name, err)
		}
	}
	proxies, err := auth.ParseProxies(cfg.Auth.TrustedProxies)
	if err != nil {
		m.Close()
		return nil, err
	}
	s := &Server{cfg: cfg, log: log, meta: m, views: views, svc: svc, life: life, pulls: pulls, dispatch: dispatch, metrics: mx,
		audit: audit.New(views.audit, log), proxies: proxies, own: own, box: box,
		taskGuard: taskGuard}
	s.hooks = webhook.NewService(views.webhook, s.ownHosts, dispatch.Kick, cfg.SKU)
	if cfg.Auth.Enabled {
		s.auth = auth.New(auth.Options{Meta: views.auth, Log: log, AccessTTL: cfg.Auth.AccessTokenTTL,
			RefreshTTL: cfg.Auth.RefreshTokenTTL, SessionTTL: cfg.Auth.SessionTTL, KeyRotation: cfg.Auth.KeyRotation,
			OnToken: mx.Token, OnLogin: mx.Login, Limits: cfg.SKU})
		if err := s.auth.Start(ctx); err != nil {
			m.Close()
			return nil, fmt.Errorf("token keys: %w", err)
		}
		if s.bootstrap, err = s.auth.Bootstrap(ctx, bootstrapUser, bootstrapPassword); err != nil {
			m.Close()
			return nil, err
		}
		if s.bootstrap.Password != "" {
			body := fmt.Sprintf("user: %s\npassword: %s\n", s.bootstrap.User, s.bootstrap.Password)
			if err := writeOwnerOnly(BootstrapFile(cfg), []byte(body)); err != nil {
				m.Close()
				return nil, err
			}
		}
	} else {
		log.Warn("authentication is OFF: anyone who reaches this server may push, pull and delete")
	}
	s.newWebApps()
	if n, err := s.vault.SealPlain(ctx); err != nil {
		m.Close()
		return nil, fmt.Errorf("seal Key Vault secrets stored in plain text: %w", err)
	} else if n > 0 {
		log.Info("sealed Key Vault secrets stored in plain text", "secrets", n)
	}
	if cfg.Tasks.Enabled {
		s.tasks = s.newTasks(blobs)
	}
	return s, nil
}

// BootstrapFile is where a generated owner password is written (mode 0600).
func BootstrapFile(cfg config.Config) string { return filepath.Join(cfg.Data, "bootstrap-owner.txt") }

// writeOwnerOnly replaces the file at p with b, readable by its owner only
// (also when a file with a wider mode was there).
func writeOwnerOnly(p string, b []byte) error {
	if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	f, err := os.OpenFile(p, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// Bootstrapped reports the owner created on this start, if any.
func (s *Server) Bootstrapped() auth.BootstrapResult { return s.bootstrap }

// Close releases the stores (and the fetch proxy's port).
func (s *Server) Close() error {
	if s.fetchLn != nil {
		_ = s.fetchLn.Close()
	}
	return s.meta.Close()
}

// Run serves on cfg.Addr until ctx is done, then shuts down gracefully:
// in-flight requests get cfg.ShutdownTimeout to finish, and uploads cut
// short stay resumable because their state lives in the stores.
func (s *Server) Run(ctx context.Context) error {
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return err
	}
	return s.Serve(ctx, ln)
}

// ownHosts lists the host names that reach this server: its listen
// address and every registry's login server.
func (s *Server) ownHosts() []string {
	hosts := []string{s.cfg.Addr}
	if regs, err := s.meta.Read().ListRegistries(context.Background(), meta.Page{N: 1 << 20}); err == nil {
		for _, r := range regs {
			hosts = append(hosts, r.LoginServer)
		}
	}
	return hosts
}

// Background runs the server's background work (webhook delivery, the
// audit writer, the janitor) until ctx ends, and returns when all stopped.
func (s *Server) Background(ctx context.Context) {
	var wg sync.WaitGroup
	runs := []func(context.Context){s.dispatch.Run, s.audit.Run, s.janitor, s.pulls.Run, s.lifecycle}
	if s.tasks != nil {
		if s.buildkit != nil {
			s.buildkit.Reap(ctx)
			if s.fetchLn != nil {
				defer s.serveFetchProxy()()
			}
		}
		runs = append(runs, s.tasks.Work)
	}
	for _, run := range runs {
		wg.Add(1)
		go func() { defer wg.Done(); run(ctx) }()
	}
	wg.Wait()
	if s.buildkit != nil {
		s.buildkit.Close()
	}
}

// janitor deletes, hourly, audit entries past their retention and
// finished webhook deliveries older than 30 days.
func (s *Server) janitor(ctx context.Context) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		now := time.Now()
		err := s.meta.Tx(ctx, func(q meta.Queries) error {
			if err := q.DeleteAuditBefore(ctx, now.Add(-s.cfg.Audit.Retention)); err != nil {
				return err
			}
			return q.DeleteDeliveriesBefore(ctx, now.Add(-30*24*time.Hour))
		})
		if err != nil && ctx.Err() == nil {
			s.log.Warn("janitor", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Serve is Run on an existing listener.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	hs := &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	s.own.add(ln.Addr())
	scheme := "http"
	if s.cfg.TLS.Cert != "" {
		cert, err := tls.LoadX509KeyPair(s.cfg.TLS.Cert, s.cfg.TLS.Key)
		if err != nil {
			return fmt.Errorf("tls: %w", err)
		}
		hs.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		ln = tls.NewListener(ln, hs.TLSConfig)
		scheme = "https"
	}
	s.addr.Store(ln.Addr().String())
	s.log.Info("listening", "addr", ln.Addr().String(), "scheme", scheme, "data", s.cfg.Data,
		"default_registry", s.cfg.DefaultRegistry)
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	if s.cfg.Metrics.Enabled && s.cfg.Metrics.Addr != "" {
		mln, err := net.Listen("tcp", s.cfg.Metrics.Addr)
		if err != nil {
			return fmt.Errorf("metrics listener: %w", err)
		}
		s.own.add(mln.Addr())
		ms := &http.Server{Handler: s.metrics.Handler(), ReadHeaderTimeout: 10 * time.Second}
		go func() { _ = ms.Serve(mln) }()
		defer ms.Close()
		s.log.Info("metrics", "addr", mln.Addr().String())
	}
	bg, stopBG := context.WithCancel(context.WithoutCancel(ctx))
	bgDone := make(chan struct{})
	go func() { s.Background(bg); close(bgDone) }()
	waitApps, err := s.serveWebApps(bg, ln)
	if err != nil {
		stopBG()
		<-bgDone
		return err
	}
	defer func() { stopBG(); waitApps(); <-bgDone }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	s.log.Info("shutting down", "timeout", s.cfg.ShutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	err = hs.Shutdown(sctx)
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return err
}
