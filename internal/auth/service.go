package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/acre-project/acre/internal/meta"
	"github.com/acre-project/acre/internal/sku"
)

// Store is the part of the metadata store auth uses: identities with their
// credentials and roles, scope maps, token signing keys, the audit log of
// sign-ins and the registries that scope names and roles.
type Store interface {
	meta.Registries
	meta.Principals
	meta.Credentials
	meta.RoleAssignments
	meta.ScopeMaps
	meta.SigningKeys
	meta.Audit
}

// Options configure the Service.
type Options struct {
	Meta meta.View[Store]
	Log  *slog.Logger
	// AccessTTL is the lifetime of access tokens (default 75 minutes, as ACR's).
	AccessTTL time.Duration
	// RefreshTTL is the lifetime of refresh tokens, such as the one
	// `acre login` writes into the Docker config (default 3 hours).
	RefreshTTL time.Duration
	// SessionTTL is the lifetime of a CLI sign-in (default 12 hours).
	SessionTTL time.Duration
	// KeyRotation is how long a signing key signs before a new one takes
	// over (default 30 days). Old keys verify until their tokens expire.
	KeyRotation time.Duration
	// OnToken and OnLogin, when set, are told of each token issued (by
	// kind) and each login attempt (by method and result), for metrics.
	OnToken func(kind string)
	OnLogin func(method, result string)
	// Limits returns a SKU's limits (default: ACR's).
	Limits func(sku string) sku.Limits
	// Hashes bounds the password hashes checked at once (default: half
	// the CPUs, 1 to 4; each takes 7 MiB).
	Hashes int
}

// Service authenticates identities, computes what they may do and issues tokens.
type Service struct {
	meta meta.View[Store]
	log  *slog.Logger
	keys *KeyRing
	opts Options

	credCache  sync.Map // credential fingerprint -> credEntry
	tokenCache sync.Map // token -> tokenEntry
	tokenCount int64
	princCache sync.Map // principal uid -> princEntry
	grantCache sync.Map // grantKey -> grantEntry
	throttle   *throttle
	hashes     *hashLimiter
	fpKey      []byte // per-process key for credential fingerprints
	mu         sync.Mutex
	lastReload time.Time // of keys, on an unknown key id (guarded by mu)
}

// New builds a Service; call Start before use.
func New(o Options) *Service {
	if o.AccessTTL <= 0 {
		o.AccessTTL = 75 * time.Minute
	}
	if o.RefreshTTL <= 0 {
		o.RefreshTTL = 3 * time.Hour
	}
	if o.SessionTTL <= 0 {
		o.SessionTTL = 12 * time.Hour
	}
	if o.KeyRotation <= 0 {
		o.KeyRotation = 30 * 24 * time.Hour
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Limits == nil {
		o.Limits = sku.Of
	}
	if o.OnToken == nil {
		o.OnToken = func(string) {}
	}
	if o.OnLogin == nil {
		o.OnLogin = func(string, string) {}
	}
	return &Service{meta: o.Meta, log: o.Log, keys: NewKeyRing(), opts: o, throttle: newThrottle(),
		hashes: newHashLimiter(o.Hashes), fpKey: []byte(NewSecret(32))}
}

// maxTokenTTL is the longest lifetime of any token kind.
func (s *Service) maxTokenTTL() time.Duration {
	return max(s.opts.AccessTTL, s.opts.RefreshTTL, s.opts.SessionTTL)
}

// Start loads the signing keys (creating or rotating the signer when due)
// and keeps them fresh until ctx ends, so that keys rotated by another node
// are picked up; it also writes the audit summaries of throttled sign-ins.
func (s *Service) Start(ctx context.Context) error {
	if err := s.LoadKeys(ctx); err != nil {
		return err
	}
	s.hashes.start(ctx)
	go func() {
		keys := time.NewTicker(time.Minute)
		defer keys.Stop()
		sweep := time.NewTicker(throttleWindow / 4)
		defer sweep.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-keys.C:
				if err := s.LoadKeys(ctx); err != nil && ctx.Err() == nil {
					s.log.Warn("reload signing keys", "err", err)
				}
			case now := <-sweep.C:
				s.auditThrottled(ctx, now)
			}
		}
	}()
	return nil
}

// LoadKeys reads the signing keys, adding a new signer when there is none
// or the newest is older than KeyRotation, and dropping keys whose tokens
// have all expired.
func (s *Service) LoadKeys(ctx context.Context) error {
	now := time.Now().UTC()
	var keys []meta.SigningKey
	err := s.meta.Tx(ctx, func(q Store) error {
		var err error
		if keys, err = q.ListSigningKeys(ctx); err != nil {
			return err
		}
		var newest *meta.SigningKey
		for i := range keys {
			if keys[i].RetiredAt.IsZero() && (newest == nil || keys[i].CreatedAt.After(newest.CreatedAt)) {
				newest = &keys[i]
			}
		}
		if newest != nil && now.Sub(newest.CreatedAt) < s.opts.KeyRotation {
			return nil
		}
		return s.rotate(ctx, q, now)
	})
	if err != nil {
		return err
	}
	if keys, err = s.meta.Read().ListSigningKeys(ctx); err != nil {
		return err
	}
	return s.useKeys(keys)
}

// RotateKeys makes a new signing key now; tokens signed before stay valid.
func (s *Service) RotateKeys(ctx context.Context) error {
	err := s.meta.Tx(ctx, func(q Store) error { return s.rotate(ctx, q, time.Now().UTC()) })
	if err != nil {
		return err
	}
	keys, err := s.meta.Read().ListSigningKeys(ctx)
	if err != nil {
		return err
	}
	return s.useKeys(keys)
}

func (s *Service) rotate(ctx context.Context, q meta.SigningKeys, now time.Time) error {
	if err := q.RetireSigningKeys(ctx, now.Add(time.Nanosecond), now); err != nil {
		return err
	}
	if err := q.DeleteSigningKeys(ctx, now.Add(-s.maxTokenTTL()-clockSkew)); err != nil {
		return err
	}
	id, der, err := GenerateKey()
	if err != nil {
		return err
	}
	s.log.Info("new token signing key", "kid", id)
	return q.AddSigningKey(ctx, &meta.SigningKey{ID: id, PrivateKey: der, CreatedAt: now})
}

func (s *Service) useKeys(keys []meta.SigningKey) error {
	m := map[string][]byte{}
	var signer string
	var newest time.Time
	for _, k := range keys {
		m[k.ID] = k.PrivateKey
		if k.RetiredAt.IsZero() && !k.CreatedAt.Before(newest) {
			signer, newest = k.ID, k.CreatedAt
		}
	}
	return s.keys.Set(m, signer)
}

// BootstrapResult says what Bootstrap did.
type BootstrapResult struct {
	Created  bool
	User     string
	Password string // only when generated
}

// Bootstrap creates the first owner when no identity exists yet: user with
// password (a random one when password is empty), Owner of every registry.
func (s *Service) Bootstrap(ctx context.Context, user, password string) (BootstrapResult, error) {
	var res BootstrapResult
	if user == "" {
		user = "owner"
	}
	err := s.meta.Tx(ctx, func(q Store) error {
		n, err := q.CountPrincipals(ctx)
		if err != nil || n > 0 {
			return err
		}
		if password == "" {
			password = NewSecret(24)
			res.Password = password
		}
		now := time.Now().UTC()
		p := &meta.Principal{Kind: meta.KindUser, Name: user, Enabled: true, CreatedAt: now}
		if err := q.CreatePrincipal(ctx, p); err != nil {
			return err
		}
		if err := q.PutCredential(ctx, &meta.Credential{PrincipalID: p.ID, Name: "password", Hash: HashSecret(password), CreatedAt: now}); err != nil {
			return err
		}
		res.Created, res.User = true, user
		return q.CreateRoleAssignment(ctx, &meta.RoleAssignment{PrincipalID: p.ID, Role: RoleOwner, CreatedAt: now})
	})
	if errors.Is(err, meta.ErrConflict) {
		return BootstrapResult{}, nil // another node bootstrapped at the same moment
	}
	if err != nil {
		return BootstrapResult{}, fmt.Errorf("bootstrap owner: %w", err)
	}
	return res, nil
}

// Forget drops every cached decision, after a change to identities,
// credentials, roles, scope maps or registry settings.
func (s *Service) Forget() {
	for _, m := range []*sync.Map{&s.credCache, &s.princCache, &s.grantCache} {
		m.Clear()
	}
}

// ErrDenied is matched by every refused sign-in (see DeniedError).
var ErrDenied = errors.New("authentication failed")

// reloadKeys reads the signing keys again when a token names a key this
// node has not seen (another node just rotated), at most once a second.
func (s *Service) reloadKeys(ctx context.Context) bool {
	s.mu.Lock()
	if time.Since(s.lastReload) < time.Second {
		s.mu.Unlock()
		return false
	}
	s.lastReload = time.Now()
	s.mu.Unlock()
	keys, err := s.meta.Read().ListSigningKeys(ctx)
	return err == nil && s.useKeys(keys) == nil
}
