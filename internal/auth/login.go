package auth

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"strconv"
	"time"

	"github.com/acre-project/acre/internal/meta"
)

// RefreshTokenUser is the user name that goes with a refresh token used as
// a password (as `az acr login --expose-token` prints it).
const RefreshTokenUser = "00000000-0000-0000-0000-000000000000"

// cacheTTL bounds how long a verified credential's principal, a principal's
// state and its grants are reused before being read again; it is how long
// a revocation made on another node may take to hold here.
const cacheTTL = 2 * time.Second

// credCacheTTL bounds how long a verified password is remembered (as a
// keyed fingerprint, never the plaintext) to spare the slow hash.
const credCacheTTL = time.Minute

type credEntry struct {
	uid      string
	tokenGen int64 // a reset secret moves it on, forgetting the entry everywhere
	expires  time.Time
}

type princEntry struct {
	p       *meta.Principal // nil: no such principal
	expires time.Time
}

type grantKey struct {
	principal, registry, gen int64
}

type grantEntry struct {
	g       Grants
	expires time.Time
}

// login checks a user name and password against a registry (nil: a
// server-wide sign-in): a refresh token (user RefreshTokenUser), the
// registry's admin user, a token of the registry, or a user, service
// principal or managed identity. fresh reports a check that did not come
// from the cache. Password hashes run under the hash limiter.
func (s *Service) login(ctx context.Context, reg *meta.Registry, user, password string) (p *meta.Principal, fresh bool, err error) {
	if user == RefreshTokenUser {
		if reg == nil {
			return nil, true, errWrongPassword
		}
		c, p, err := s.VerifyToken(ctx, password, reg.LoginServer, TypeRefresh)
		if err != nil || c.Subject == "" || !s.usable(p, reg) {
			return nil, true, errWrongPassword
		}
		return p, false, nil
	}
	var regID int64
	if reg != nil {
		regID = reg.ID
	}
	fp := s.fingerprint(regID, user, password)
	if e, ok := s.credCache.Load(fp); ok && time.Now().Before(e.(credEntry).expires) {
		p, err := s.principal(ctx, e.(credEntry).uid)
		if err == nil && p.TokenGen == e.(credEntry).tokenGen && s.usable(p, reg) {
			return p, false, nil
		}
		s.credCache.Delete(fp)
	}
	q := s.meta.Read()
	p, err = q.PrincipalByName(ctx, regID, user)
	if errors.Is(err, meta.ErrNotFound) {
		// Take the time a real check takes.
		if err := s.hashes.pace(ctx, func() { HashSecret(password) }); err != nil {
			return nil, true, err
		}
		return nil, true, errWrongPassword
	}
	if err != nil {
		return nil, true, err
	}
	if !s.usable(p, reg) {
		return nil, true, errWrongPassword
	}
	creds, err := q.ListCredentials(ctx, p.ID)
	if err != nil {
		return nil, true, err
	}
	now := time.Now()
	var match *meta.Credential
	herr := s.hashes.run(ctx, func() {
		for i, c := range creds {
			if !c.ExpiresAt.IsZero() && now.After(c.ExpiresAt) {
				continue
			}
			if ok, err := VerifySecret(c.Hash, password); err == nil && ok {
				match = &creds[i]
				return
			}
		}
	})
	if herr != nil {
		return nil, true, herr
	}
	if match == nil {
		return nil, true, errWrongPassword
	}
	if !hashCurrent(match.Hash) {
		s.rehash(ctx, *match, password)
	}
	exp := now.Add(credCacheTTL)
	if !match.ExpiresAt.IsZero() && match.ExpiresAt.Before(exp) {
		exp = match.ExpiresAt
	}
	s.credCache.Store(fp, credEntry{uid: p.UID, tokenGen: p.TokenGen, expires: exp})
	return p, true, nil
}

// rehash stores a credential's hash again with today's parameters once its
// secret has been verified: hashes keep the parameters they were made with,
// so new parameters reach old credentials at their next sign-in. The hash
// is replaced only if it is still the one verified (a password reset
// meanwhile wins); a failure is logged and does not fail the sign-in.
func (s *Service) rehash(ctx context.Context, c meta.Credential, secret string) {
	var h string
	if err := s.hashes.run(ctx, func() { h = HashSecret(secret) }); err != nil {
		return
	}
	err := s.meta.Tx(ctx, func(q Store) error {
		cs, err := q.ListCredentials(ctx, c.PrincipalID)
		if err != nil {
			return err
		}
		for _, cur := range cs {
			if cur.Name == c.Name && cur.Hash == c.Hash {
				cur.Hash = h
				return q.PutCredential(ctx, &cur)
			}
		}
		return nil
	})
	if err != nil {
		s.log.WarnContext(ctx, "store a credential's hash with today's parameters", "principal", c.PrincipalID, "err", err)
	}
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

// principal loads a principal by uid, cached (also its absence) for cacheTTL.
func (s *Service) principal(ctx context.Context, uid string) (*meta.Principal, error) {
	if e, ok := s.princCache.Load(uid); ok && time.Now().Before(e.(princEntry).expires) {
		if p := e.(princEntry).p; p != nil {
			return p, nil
		}
		return nil, meta.ErrNotFound
	}
	p, err := s.meta.Read().PrincipalByUID(ctx, uid)
	if err != nil && !errors.Is(err, meta.ErrNotFound) {
		return nil, err
	}
	s.princCache.Store(uid, princEntry{p: p, expires: time.Now().Add(cacheTTL)})
	if p == nil {
		return nil, meta.ErrNotFound
	}
	return p, nil
}

// Grants computes what p may do in reg now: an admin user everything; a
// token what its scope map lists; other identities what their role
// assignments at server, registry and repository scope allow. Cached for
// cacheTTL.
func (s *Service) Grants(ctx context.Context, reg *meta.Registry, p *meta.Principal) (Grants, error) {
	k := grantKey{p.ID, reg.ID, p.GrantGen}
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
