package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"time"

	"github.com/acre-project/acre/internal/meta"
	"github.com/acre-project/acre/internal/tasks"
	"github.com/acre-project/acre/internal/webhook"
)

// newTasks builds the tasks service: BuildKit under <data>/buildkit (0700)
// and run sources under <data>/tasks. Builds need authentication (a run
// pushes as an identity); without it, or without BuildKit, runs fail with
// a message saying so.
func (s *Server) newTasks(blobs blobStore) *tasks.Service {
	tc := s.cfg.Tasks
	var builder tasks.Builder
	if s.auth != nil {
		kitd, ctl := lookTool(tc.Buildkitd, "buildkitd"), lookTool(tc.Buildctl, "buildctl")
		if kitd != "" && ctl != "" {
			s.buildkit = &tasks.BuildKit{Buildkitd: kitd, Buildctl: ctl, Root: filepath.Join(s.cfg.Data, "buildkit"),
				Insecure: s.plainHosts, Own: s.registryHosts, Allow: tc.Allow, Log: s.log, Proxy: s.listenFetchProxy()}
			builder = s.buildkit
		} else {
			s.log.Warn("builds are off: buildkitd or buildctl not found (tasks.buildkitd, tasks.buildctl)")
		}
	}
	var creds tasks.Credentials
	if s.auth != nil {
		creds = s.auth
	}
	read := ContentStore(blobs, s.meta) // build contexts may have been pushed inline
	return tasks.New(tasks.Options{Meta: s.views.tasks, Blobs: read, Uploads: blobs, Builder: builder, Creds: creds, Log: s.log,
		WorkDir: filepath.Join(s.cfg.Data, "tasks"), RegistryHost: s.registryHost, Concurrency: tc.Concurrency,
		History: tc.History, Platform: "linux/" + runtime.GOARCH, AllowHostNetwork: tc.AllowHostNetwork,
		OwnHost: s.ownHost, CommitPoll: tc.CommitPoll, Box: s.box, Vault: taskVault{s}, GitProxy: s.buildkitProxy(),
		BasePoll: tc.BasePoll, Fetch: s.fetchClient(),
		PlainHTTP: func(host string) bool { return slices.Contains(tc.InsecureRegistries, host) }})
}

// taskVault reads Key Vault secrets for runs, as the run's identity.
type taskVault struct{ s *Server }

// ReadSecret implements tasks.VaultSecrets.
func (v taskVault) ReadSecret(ctx context.Context, reg *meta.Registry, identity, clientID, secretURL string) (string, error) {
	if v.s.vault == nil {
		return "", errors.New("Key Vault is off on this server")
	}
	ref, err := v.s.vault.ParseSecretURL(secretURL)
	if err != nil {
		return "", err
	}
	p, err := v.s.meta.Read().PrincipalByName(ctx, reg.ID, identity)
	if errors.Is(err, meta.ErrNotFound) {
		return "", fmt.Errorf("the run's identity %q does not exist", identity)
	} else if err != nil {
		return "", err
	}
	if !p.Enabled {
		return "", fmt.Errorf("the run's identity %q is disabled", identity)
	}
	if clientID != "" && clientID != p.Name && clientID != p.UID {
		return "", fmt.Errorf("clientID %q is not the run's identity (%s): a run reads secrets as its task's identity "+
			"(acre task update --assign-identity)", clientID, p.Name)
	}
	return v.s.vault.Resolve(ctx, p.ID, ref)
}

// fetchClient is the client for what runs and tasks fetch (tarball
// contexts, base-image polls): every connection, redirects' included, is
// checked by the tasks.allow guard; no proxy; no overall timeout (contexts
// may be large), but 30 s to connect and to the response's headers.
func (s *Server) fetchClient() *http.Client {
	return &http.Client{Transport: &http.Transport{Proxy: nil, DialContext: s.taskGuard.Dialer(30 * time.Second),
		TLSHandshakeTimeout: 30 * time.Second, ResponseHeaderTimeout: 30 * time.Second, IdleConnTimeout: 90 * time.Second}}
}

// buildkitProxy is the fetch proxy's URL, "" when builds are off.
func (s *Server) buildkitProxy() string {
	if s.buildkit == nil {
		return ""
	}
	return s.buildkit.Proxy
}

func lookTool(configured, name string) string {
	if configured != "" {
		return configured
	}
	p, err := exec.LookPath(name)
	if err != nil {
		return ""
	}
	return p
}

// registryHost is the address through which builds reach a registry of
// this server: the listen address for the default registry (served on
// addresses that name no registry), else <login server>:<port>.
func (s *Server) registryHost(reg *meta.Registry) string {
	addr := s.cfg.Addr
	if a, ok := s.addr.Load().(string); ok {
		addr = a
	}
	host, port, _ := net.SplitHostPort(addr)
	if reg.Name == s.cfg.DefaultRegistry {
		if host == "" || host == "0.0.0.0" || host == "::" {
			host = "127.0.0.1"
		}
		return net.JoinHostPort(host, port)
	}
	return net.JoinHostPort(reg.LoginServer, port)
}

// registryHosts are the host:port through which builds reach this
// server's registries.
func (s *Server) registryHosts() []string {
	regs := []meta.Registry{{Name: s.cfg.DefaultRegistry}}
	if all, err := s.meta.Read().ListRegistries(context.Background(), meta.Page{N: 1 << 20}); err == nil {
		regs = append(regs, all...)
	}
	var hosts []string
	for i := range regs {
		if h := s.registryHost(&regs[i]); !slices.Contains(hosts, h) {
			hosts = append(hosts, h)
		}
	}
	return hosts
}

// plainHosts are the registry hosts BuildKit reaches without TLS
// verification: this server's (plain HTTP unless TLS is configured) and
// the other registries configured in tasks.insecure_registries.
func (s *Server) plainHosts() []string {
	hosts := s.registryHosts()
	for _, h := range s.cfg.Tasks.InsecureRegistries {
		if !slices.Contains(hosts, h) {
			hosts = append(hosts, h)
		}
	}
	return hosts
}

// listenFetchProxy opens the loopback port of the forward proxy that
// buildkitd's own fetches (Dockerfile ADD <url>, git sources, base images
// of other registries) and acre's git fetches go through, records it as
// this server's own, and returns its URL ("" when it cannot listen: then
// they connect directly, which is logged). Background serves it.
func (s *Server) listenFetchProxy() string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		s.log.Error("build fetch proxy: builds and git contexts connect directly", "err", err)
		return ""
	}
	s.own.add(ln.Addr())
	s.fetchLn = ln
	return "http://" + ln.Addr().String()
}

// serveFetchProxy serves the fetch proxy until stop is called: every
// connection it makes is checked by the tasks.allow guard, but for this
// server's registries.
func (s *Server) serveFetchProxy() (stop func()) {
	pass := func(hostport string) bool { return slices.Contains(s.registryHosts(), hostport) }
	hs := &http.Server{Handler: &webhook.Proxy{Guard: s.taskGuard, Pass: pass, Log: s.log}, ReadHeaderTimeout: 30 * time.Second}
	go func() { _ = hs.Serve(s.fetchLn) }()
	return func() { _ = hs.Close() }
}

// ownHost reports whether hostport reaches this server: its port on a
// loopback or unspecified address, or a registry's login server.
func (s *Server) ownHost(hostport string) bool {
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		return false
	}
	addr := s.cfg.Addr
	if a, ok := s.addr.Load().(string); ok {
		addr = a
	}
	lhost, lport, _ := net.SplitHostPort(addr)
	if port != lport {
		return false
	}
	if host == "localhost" || host == lhost {
		return true
	}
	if ip := net.ParseIP(host); ip != nil && (ip.IsLoopback() || ip.IsUnspecified()) {
		return true
	}
	if ips, err := net.LookupIP(host); err == nil {
		for _, ip := range ips {
			if ip.IsLoopback() || ip.String() == lhost {
				return true
			}
		}
	}
	_, err = s.meta.Read().RegistryByLoginServer(context.Background(), host)
	return err == nil
}
