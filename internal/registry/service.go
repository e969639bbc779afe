// Package registry is acre's transport-free core: the registries a server
// hosts and their blobs, uploads, manifests, tags and referrers, listings,
// locks (changeable attributes) and events, with the rules that keep them
// consistent. Every change is one metadata transaction that also writes
// its events to the outbox. On the push and delete paths the core keeps
// what lifecycle jobs go by: it queues garbage-collection work, keeps each
// registry's usage exact (and refuses pushes past the SKU's quota) and
// records when a manifest lost its last tag. Garbage collection,
// retention, purge and schedules themselves are package lifecycle, which
// uses this package; this package does not use it.
package registry

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/acre-project/acre/internal/blob"
	"github.com/acre-project/acre/internal/errcode"
	"github.com/acre-project/acre/internal/meta"
	"github.com/acre-project/acre/internal/reference"
	"github.com/acre-project/acre/internal/sku"
)

// DefaultMaxManifestBytes is ACR's manifest size limit (4 MiB).
const DefaultMaxManifestBytes = 4 << 20

// Default caps on upload sessions open at once.
const (
	DefaultMaxUploadsPerRegistry = 10000
	DefaultMaxUploadsPerIdentity = 1000
)

// Store is the metadata the core reads and changes: the content's
// aggregates, with the GC queue, usage and untagged times that the push
// and delete paths keep.
type Store interface {
	meta.Registries
	meta.Repositories
	meta.Blobs
	meta.BlobContents
	meta.Manifests
	meta.Tags
	meta.Uploads
	meta.Outbox
	meta.Details
	meta.GCQueue
	meta.Usage
	meta.UntaggedTimes
}

// DefaultGCGrace is how long a new blob link may wait for a manifest to
// reference it, and an unlinked blob for a new link, before garbage
// collection looks at it.
const DefaultGCGrace = time.Hour

// Options configure a Service.
type Options struct {
	Meta    meta.View[Store]
	Blobs   blob.Store
	Uploads blob.Uploads
	Log     *slog.Logger
	// DefaultRegistry names the registry served on addresses that name no
	// registry's login server (a plain IP address, for example).
	DefaultRegistry string
	// MaxManifestBytes bounds manifest bodies (default 4 MiB).
	MaxManifestBytes int64
	// Domain: a registry's login server is <name>.<domain>.
	Domain string
	// Notify, when set, is called after a commit that wrote events.
	Notify func()
	// OnPull, when set, is told of every manifest pulled (with the tag it
	// was pulled by, or ""): lifecycle.Pulls keeps last-pull times.
	OnPull func(m *meta.Manifest, tag string)
	// Limits returns a registry's SKU limits (default: ACR's).
	Limits func(reg *meta.Registry) sku.Limits
	// GCGrace is how long a blob link may wait for a manifest to reference
	// it before garbage collection may drop it (default DefaultGCGrace).
	GCGrace time.Duration
	// Redirect sends blob downloads to the store's own URLs when it has them.
	Redirect bool
	// MaxUploadsPerRegistry and MaxUploadsPerIdentity cap the upload
	// sessions open at once (defaults 10,000 and 1,000); sessions end when
	// committed, cancelled or removed as idle.
	MaxUploadsPerRegistry, MaxUploadsPerIdentity int
	// SessionKey authenticates the ids of upload sessions that hold no
	// bytes yet (see sessions.go); every node of a cluster must have the
	// same. Default: a random key, for a single process.
	SessionKey []byte
	// UploadTTL is how long such a session stays usable (default 24h, the
	// idle time after which stored sessions are removed).
	UploadTTL time.Duration
	// InlineMax: a blob of at most this many bytes pushed whole (one PUT
	// or POST with every byte) is kept in the metadata store, in the
	// transaction that links it, instead of in Blobs (see inline.go).
	// 0 keeps every blob in Blobs.
	InlineMax int
}

// Service implements the registry operations.
type Service struct {
	meta            meta.View[Store]
	blobs           blob.Store // reads: Blobs, then the metadata store's blob contents
	files           blob.Store // Blobs itself
	uploads         blob.Uploads
	log             *slog.Logger
	defaultRegistry string
	domain          string
	maxManifest     int64
	notifyFn        func()
	limits          func(reg *meta.Registry) sku.Limits
	gcGrace         time.Duration
	onPull          func(m *meta.Manifest, tag string)
	redirect        bool
	maxUploads      struct{ registry, identity int }
	sessions        sessionKeys
	inline          inliner
	early           earlyPasses
	hosts           sync.Map // host -> hostEntry
}

type hostEntry struct {
	reg     *meta.Registry
	expires time.Time
}

// hostCacheTTL bounds how long a host-to-registry lookup is reused.
const hostCacheTTL = 5 * time.Second

// New builds a Service.
func New(o Options) *Service {
	if o.MaxManifestBytes <= 0 {
		o.MaxManifestBytes = DefaultMaxManifestBytes
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Limits == nil {
		o.Limits = func(reg *meta.Registry) sku.Limits { return sku.Of(reg.SKU) }
	}
	if o.GCGrace <= 0 {
		o.GCGrace = DefaultGCGrace
	}
	o.Domain = HostName(o.Domain)
	if o.MaxUploadsPerRegistry <= 0 {
		o.MaxUploadsPerRegistry = DefaultMaxUploadsPerRegistry
	}
	if o.MaxUploadsPerIdentity <= 0 {
		o.MaxUploadsPerIdentity = DefaultMaxUploadsPerIdentity
	}
	s := &Service{redirect: o.Redirect, limits: o.Limits, gcGrace: o.GCGrace, onPull: o.OnPull,
		meta: o.Meta, blobs: o.Blobs, files: o.Blobs, uploads: o.Uploads, log: o.Log,
		defaultRegistry: o.DefaultRegistry, domain: o.Domain, maxManifest: o.MaxManifestBytes, notifyFn: o.Notify}
	s.maxUploads.registry, s.maxUploads.identity = o.MaxUploadsPerRegistry, o.MaxUploadsPerIdentity
	s.sessions = newSessionKeys(o.SessionKey, o.UploadTTL)
	// Blobs stored inline stay readable after InlineMax is lowered or
	// turned off: reads always fall back to the metadata store.
	s.blobs = NewContentStore(o.Blobs, meta.Within(o.Meta, func(q Store) meta.BlobContents { return q }))
	if o.InlineMax > 0 {
		s.inline = newInliner(o.InlineMax)
	}
	return s
}

// Limits returns a registry's SKU limits.
func (s *Service) Limits(reg *meta.Registry) sku.Limits { return s.limits(reg) }

// DefaultRegistry names the registry served on addresses that name none.
func (s *Service) DefaultRegistry() string { return s.defaultRegistry }

func (s *Service) notify() {
	if s.notifyFn != nil {
		s.notifyFn()
	}
}

// MaxManifestBytes is the largest manifest body accepted.
func (s *Service) MaxManifestBytes() int64 { return s.maxManifest }

// EnsureRegistry creates the named registry with login server host unless
// it exists. Host names are stored lower-case, as they are compared.
func (s *Service) EnsureRegistry(ctx context.Context, name, loginServer, sku string) (*meta.Registry, error) {
	var out *meta.Registry
	err := s.meta.Tx(ctx, func(q Store) error {
		r, err := q.GetRegistry(ctx, name)
		if err == nil {
			out = r
			return nil
		}
		if !errors.Is(err, meta.ErrNotFound) {
			return err
		}
		now := time.Now().UTC()
		out = &meta.Registry{Name: name, LoginServer: HostName(loginServer), SKU: sku, CreatedAt: now, UpdatedAt: now}
		return q.CreateRegistry(ctx, out)
	})
	if errors.Is(err, meta.ErrConflict) { // another node may have created it at the same moment
		if r, gerr := s.meta.Read().GetRegistry(ctx, name); gerr == nil {
			return r, nil
		}
	}
	return out, err
}

// RegistryForHost routes a request's Host header to a registry: the one whose
// login server is that host name, else the default registry.
func (s *Service) RegistryForHost(ctx context.Context, host string) (*meta.Registry, error) {
	host = HostName(host)
	if e, ok := s.hosts.Load(host); ok && time.Now().Before(e.(hostEntry).expires) {
		return e.(hostEntry).reg, nil
	}
	r, err := s.meta.Read().RegistryByLoginServer(ctx, host)
	if errors.Is(err, meta.ErrNotFound) && s.defaultRegistry != "" {
		r, err = s.meta.Read().GetRegistry(ctx, s.defaultRegistry)
	}
	if errors.Is(err, meta.ErrNotFound) {
		return nil, errcode.Errorf(errcode.NameUnknown, "no registry is served at %q", host)
	}
	if err != nil {
		return nil, err
	}
	s.hosts.Store(host, hostEntry{reg: r, expires: time.Now().Add(hostCacheTTL)})
	return r, nil
}

// HostName reduces a Host header or service name to the form login servers
// are stored in: without a port, lower-case, without the trailing dot of a
// fully qualified name. Host names are case-insensitive (RFC 4343), and
// "beta.localhost." names the same host as "beta.localhost".
func HostName(host string) string {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	return strings.TrimRight(strings.ToLower(host), ".")
}

// RegistryByLoginServer finds a registry by its login server host name
// (with or without a port, in any case).
func (s *Service) RegistryByLoginServer(ctx context.Context, host string) (*meta.Registry, error) {
	r, err := s.meta.Read().RegistryByLoginServer(ctx, HostName(host))
	if errors.Is(err, meta.ErrNotFound) {
		return nil, errcode.Errorf(errcode.NameUnknown, "no registry has login server %q", host)
	}
	return r, err
}

// ForgetRegistries drops cached host routes, after a registry changed.
func (s *Service) ForgetRegistries() { s.hosts.Clear() }

// Repo names one repository of one registry.
type Repo struct {
	Registry *meta.Registry
	Name     string
}

func validName(name string) error {
	if err := reference.ValidateName(name); err != nil {
		return errcode.Errorf(errcode.NameInvalid, "invalid repository name %q", name).WithDetail(map[string]string{"name": name})
	}
	return nil
}

// repository loads an existing repository or fails with notFound (or
// returns nil, nil when notFound is nil).
func (s *Service) repository(ctx context.Context, q Store, r Repo, notFound *errcode.Error) (*meta.Repository, error) {
	if err := validName(r.Name); err != nil {
		return nil, err
	}
	repo, err := q.GetRepository(ctx, r.Registry.ID, r.Name)
	if errors.Is(err, meta.ErrNotFound) {
		if notFound == nil {
			return nil, nil
		}
		return nil, notFound
	}
	return repo, err
}

func nameUnknown(r Repo) *errcode.Error {
	return errcode.Errorf(errcode.NameUnknown, "repository %q is not known to registry %q", r.Name, r.Registry.Name).
		WithDetail(map[string]string{"name": r.Name})
}
