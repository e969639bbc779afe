package server

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/acre-project/acre/internal/auth"
	"github.com/acre-project/acre/internal/keyvault"
	"github.com/acre-project/acre/internal/meta"
	"github.com/acre-project/acre/internal/webapps"
)

// appsHost connects web apps to the rest of the server: it pulls from this
// server's registries through its own listener, and mints the apps'
// managed identity tokens.
type appsHost struct {
	s    *Server
	mu   sync.Mutex
	self string // the registry listener's address, once serving
	door string // the front door's base URL, once serving
}

func (h *appsHost) set(self, door string) {
	h.mu.Lock()
	h.self, h.door = self, door
	h.mu.Unlock()
}

func (h *appsHost) get() (self, door string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.self, h.door
}

// own reports whether host (with its port) names this server's registry
// listener: its address, or a registry's login server.
func (h *appsHost) own(ctx context.Context, host string) (*meta.Registry, bool) {
	self, _ := h.get()
	name, port, err := net.SplitHostPort(host)
	if err != nil {
		name = host
	}
	_, selfPort, _ := net.SplitHostPort(self)
	if host == self || host == h.s.cfg.Addr || ((name == "localhost" || name == "127.0.0.1") && port == selfPort) {
		r, err := h.s.svc.RegistryForHost(ctx, "")
		return r, err == nil
	}
	r, err := h.s.svc.RegistryByLoginServer(ctx, name)
	return r, err == nil
}

func (h *appsHost) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	var d net.Dialer
	if _, ok := h.own(ctx, addr); ok {
		self, _ := h.get()
		return d.DialContext(ctx, network, self)
	}
	return d.DialContext(ctx, network, addr)
}

func (h *appsHost) scheme(host string) string {
	if _, ok := h.own(context.Background(), host); ok && h.s.cfg.TLS.Cert == "" {
		return "http"
	}
	return "https"
}

func (h *appsHost) CreateManagedIdentity(ctx context.Context) (int64, string, error) {
	p, _, err := h.s.auth.CreateIdentity(ctx, meta.KindManagedIdentity, "", "")
	if err != nil {
		return 0, "", err
	}
	return p.ID, p.Name, nil
}

func (h *appsHost) DeleteIdentity(ctx context.Context, id int64) error {
	p, err := h.s.meta.Read().GetPrincipal(ctx, id)
	if err != nil {
		return err
	}
	return h.s.auth.DeleteIdentity(ctx, p.Name)
}

func (h *appsHost) PrincipalName(ctx context.Context, id int64) (string, error) {
	p, err := h.s.meta.Read().GetPrincipal(ctx, id)
	if err != nil {
		return "", err
	}
	return p.Name, nil
}

// PullCredentials mints a refresh token of the identity for the registry
// (what `az acr login --identity` obtains), used as the password of the
// token flow; what it may pull is decided by its role assignments there.
func (h *appsHost) PullCredentials(ctx context.Context, id int64, host string) (webapps.Credentials, bool, error) {
	reg, ok := h.own(ctx, host)
	if !ok {
		return webapps.Credentials{}, false, nil
	}
	p, err := h.s.meta.Read().GetPrincipal(ctx, id)
	if err != nil {
		return webapps.Credentials{}, true, fmt.Errorf("the app's managed identity: %w", err)
	}
	tok, err := h.s.auth.IssueRefresh(reg, p)
	if err != nil {
		return webapps.Credentials{}, true, err
	}
	return webapps.Credentials{Username: auth.RefreshTokenUser, Password: tok.Token}, true, nil
}

// newWebApps builds the web app service when the configuration turns it on.
func (s *Server) newWebApps() {
	s.vault = keyvault.New(s.views.keyvault, s.cfg.Domain, s.box)
	w := s.cfg.WebApps
	if w.Addr == "" {
		return
	}
	h := &appsHost{s: s}
	dir := filepath.Join(s.cfg.Data, "webapps")
	domain := w.Domain
	if domain == "" {
		domain = s.cfg.Domain
	}
	o := webapps.Options{Meta: s.views.webapps, Dir: dir, Domain: domain, Log: s.log, Probe: w.Probe, StartTimeout: w.StartTimeout,
		MaxBackoff: w.MaxBackoff, IdleTimeout: w.IdleTimeout, URL: func() string { _, door := h.get(); return door },
		Runtime: &webapps.Runc{Binary: w.Runtime, Root: filepath.Join(dir, "runc"), Dir: filepath.Join(dir, "bundles"), Grace: w.StopGrace},
		Puller: &webapps.Puller{Cache: filepath.Join(dir, "images"), Scheme: h.scheme,
			Client: &http.Client{Timeout: 30 * time.Minute, Transport: &http.Transport{DialContext: h.dial, ForceAttemptHTTP2: true,
				TLSHandshakeTimeout: 10 * time.Second, ResponseHeaderTimeout: time.Minute, TLSClientConfig: s.pullTLS()}}}}
	if s.auth != nil {
		o.Identities, o.Secrets = h, s.vault
	}
	s.apps, s.appsHost = webapps.New(o), h
}

// pullTLS trusts the system's roots and acre's own certificate, so that
// apps pull from this server when its certificate is self-signed.
func (s *Server) pullTLS() *tls.Config {
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	if s.cfg.TLS.Cert != "" {
		if b, err := os.ReadFile(s.cfg.TLS.Cert); err == nil {
			pool.AppendCertsFromPEM(b)
		}
	}
	return &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
}

// serveWebApps starts the front door next to the registry listener ln and
// runs the apps until ctx ends; the returned function waits for both.
func (s *Server) serveWebApps(ctx context.Context, ln net.Listener) (func(), error) {
	if s.apps == nil {
		return func() {}, nil
	}
	fl, err := net.Listen("tcp", s.cfg.WebApps.Addr)
	if err != nil {
		return nil, fmt.Errorf("web apps front door: %w", err)
	}
	s.own.add(fl.Addr())
	scheme := "http"
	if s.cfg.TLS.Cert != "" {
		scheme = "https"
	}
	s.appsHost.set(ln.Addr().String(), scheme+"://"+fl.Addr().String())
	hs := &http.Server{Handler: s.apps.FrontDoor(scheme == "https"), ReadHeaderTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute}
	s.log.Info("web apps front door", "addr", fl.Addr().String())
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		if err := serveMaybeTLS(hs, fl, s.cfg.TLS.Cert, s.cfg.TLS.Key); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("web apps front door", "err", err)
		}
	}()
	go func() { defer wg.Done(); s.apps.Run(ctx) }()
	return func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = hs.Shutdown(sctx)
		wg.Wait()
	}, nil
}

func serveMaybeTLS(hs *http.Server, ln net.Listener, cert, key string) error {
	if cert != "" {
		return hs.ServeTLS(ln, cert, key)
	}
	return hs.Serve(ln)
}
