package auth

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"strconv"
	"sync"
	"time"

	"github.com/acre-project/acre/internal/meta"
)

// RefreshTokenUser is the user name that goes with a refresh token used as
// a password (as `az acr login --expose-token` prints it).
const RefreshTokenUser = "00000000-0000-0000-0000-000000000000"

// cacheTTL bounds how long a verified credential, a principal's state and
// its grants are reused before being read again.
const cacheTTL = 2 * time.Second

// credCacheTTL bounds how long a verified password is remembered (as a
// keyed fingerprint, never the plaintext) to spare the slow hash.
const credCacheTTL = time.Minute

type credEntry struct {
	principalID int64
	expires     time.Time
}

type princEntry struct {
	p       *meta.Principal
	expires time.Time
}

type grantKey struct{ principal, registry int64 }

type grantEntry struct {
	g       Grants
	expires time.Time
}

// Login checks a user name and password against a registry: a refresh
// token (user RefreshTokenUser), the registry's admin user, a token of the
// registry, or a user, service principal or managed identity. Repeated
// failures from one client are slowed down (ErrThrottled).
// fresh reports a check that did not come from the cache (a login to audit).
func (s *Service) Login(ctx context.Context, reg *meta.Registry, user, password, client string) (p *meta.Principal, fresh bool, err error) {
	if wait := s.throttle.wait(client, user); wait > 0 {
		return nil, true, &ThrottledError{RetryAfter: wait}
	}
	p, fresh, err = s.login(ctx, reg, user, password)
	if errors.Is(err, ErrDenied) {
		s.throttle.fail(client, user)
	}
	return p, fresh, err
}

func (s *Service) login(ctx context.Context, reg *meta.Registry, user, password string) (*meta.Principal, bool, error) {
	if user == RefreshTokenUser {
		if reg == nil {
			return nil, true, ErrDenied
		}
		c, p, err := s.VerifyToken(ctx, password, reg.LoginServer, TypeRefresh)
		if err != nil || c.Subject == "" || !s.usable(p, reg) {
			return nil, true, ErrDenied
		}
		return p, false, nil
	}
	var regID int64
	if reg != nil {
		regID = reg.ID
	}
	fp := s.fingerprint(regID, user, password)
	if e, ok := s.credCache.Load(fp); ok && time.Now().Before(e.(credEntry).expires) {
		p, err := s.principal(ctx, e.(credEntry).principalID)
		if err == nil && s.usable(p, reg) {
			return p, false, nil
		}
		s.credCache.Delete(fp)
		return nil, true, ErrDenied
	}
	q := s.meta.Read()
	p, err := q.PrincipalByName(ctx, regID, user)
	if errors.Is(err, meta.ErrNotFound) {
		HashSecret(password) // spend the same time as a real check
		return nil, true, ErrDenied
	}
	if err != nil {
		return nil, true, err
	}
	if !s.usable(p, reg) {
		return nil, true, ErrDenied
	}
	creds, err := q.ListCredentials(ctx, p.ID)
	if err != nil {
		return nil, true, err
	}
	now := time.Now()
	for _, c := range creds {
		if !c.ExpiresAt.IsZero() && now.After(c.ExpiresAt) {
			continue
		}
		if ok, err := VerifySecret(c.Hash, password); err == nil && ok {
			exp := now.Add(credCacheTTL)
			if !c.ExpiresAt.IsZero() && c.ExpiresAt.Before(exp) {
				exp = c.ExpiresAt
			}
			s.credCache.Store(fp, credEntry{principalID: p.ID, expires: exp})
			return p, true, nil
		}
	}
	return nil, true, ErrDenied
}

// usable reports whether p may authenticate to reg now.
func (s *Service) usable(p *meta.Principal, reg *meta.Registry) bool {
	if !p.Enabled {
		return false
	}
	if p.RegistryID != 0 && (reg == nil || reg.ID != p.RegistryID) {
		return false
	}
	if p.Kind == meta.KindAdmin && (reg == nil || !reg.Settings.AdminEnabled) {
		return false
	}
	return true
}

func (s *Service) fingerprint(regID int64, user, password string) string {
	m := hmac.New(sha256.New, s.fpKey)
	m.Write([]byte(strconv.FormatInt(regID, 10) + "\x00" + user + "\x00" + password))
	return string(m.Sum(nil))
}

// principal loads a principal, cached briefly.
func (s *Service) principal(ctx context.Context, id int64) (*meta.Principal, error) {
	if e, ok := s.princCache.Load(id); ok && time.Now().Before(e.(princEntry).expires) {
		return e.(princEntry).p, nil
	}
	p, err := s.meta.Read().GetPrincipal(ctx, id)
	if err != nil {
		return nil, err
	}
	s.princCache.Store(id, princEntry{p: p, expires: time.Now().Add(cacheTTL)})
	return p, nil
}

// Grants computes what p may do in reg: an admin user everything; a token
// what its scope map lists; other identities what their role assignments
// at server, registry and repository scope allow. Cached briefly.
func (s *Service) Grants(ctx context.Context, reg *meta.Registry, p *meta.Principal) (Grants, error) {
	k := grantKey{p.ID, reg.ID}
	if e, ok := s.grantCache.Load(k); ok && time.Now().Before(e.(grantEntry).expires) {
		return e.(grantEntry).g, nil
	}
	var g Grants
	q := s.meta.Read()
	switch p.Kind {
	case meta.KindAdmin:
		g.Add("*", AllActions)
	case meta.KindToken:
		actions, ok := SystemScopeMap(p.ScopeMap)
		if !ok {
			m, err := q.GetScopeMap(ctx, reg.ID, p.ScopeMap)
			if err != nil && !errors.Is(err, meta.ErrNotFound) {
				return g, err
			}
			if m != nil {
				actions = m.Actions
			}
		}
		for _, a := range actions {
			if repo, act, err := ParseScopeMapAction(a); err == nil {
				g.Add(repo, act)
			}
		}
	default:
		as, err := q.ListRoleAssignments(ctx, p.ID)
		if err != nil {
			return g, err
		}
		for _, a := range as {
			if a.RegistryID != 0 && a.RegistryID != reg.ID {
				continue
			}
			repo := a.Repository
			if repo == "" {
				repo = "*"
				g.manage |= roleManagement[a.Role]
			}
			g.Add(repo, roleActions[a.Role])
		}
	}
	s.grantCache.Store(k, grantEntry{g: g, expires: time.Now().Add(cacheTTL)})
	return g, nil
}

// AnonymousGrants is what unauthenticated clients may do: where the
// registry allows anonymous pull, pull and list repositories (as ACR's
// clients expect), and nothing else.
func AnonymousGrants(reg *meta.Registry) Grants {
	var g Grants
	if reg != nil && reg.Settings.AnonymousPull {
		g.Add("*", ContentRead)
	}
	return g
}

// ThrottledError is returned while a client is slowed down after failures.
type ThrottledError struct{ RetryAfter time.Duration }

func (e *ThrottledError) Error() string { return "too many failed logins; retry later" }

// throttle slows down repeated failed logins per client and user name.
type throttle struct {
	mu   sync.Mutex
	seen map[string]*failures
}

type failures struct {
	n     int
	since time.Time
}

const (
	throttleWindow = time.Minute
	throttleFree   = 5 // failures allowed per window before waiting
)

func newThrottle() *throttle { return &throttle{seen: map[string]*failures{}} }

func (t *throttle) wait(client, user string) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	f := t.seen[client+"\x00"+user]
	if f == nil || f.n < throttleFree {
		return 0
	}
	if left := throttleWindow - time.Since(f.since); left > 0 {
		return left
	}
	delete(t.seen, client+"\x00"+user)
	return 0
}

func (t *throttle) fail(client, user string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.seen) > 100000 {
		clear(t.seen)
	}
	k := client + "\x00" + user
	f := t.seen[k]
	if f == nil || time.Since(f.since) > throttleWindow {
		f = &failures{since: time.Now()}
		t.seen[k] = f
	}
	f.n++
}
