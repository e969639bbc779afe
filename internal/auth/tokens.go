package auth

import (
	"context"
	"strings"
	"sync/atomic"
	"time"

	"github.com/acre-project/acre/internal/meta"
	"github.com/google/uuid"
)

// maxCachedTokens bounds the verified-token cache.
const maxCachedTokens = 50000

type tokenEntry struct {
	c *Claims
}

// Scope is a parsed Docker token scope: "repository:<name>:<actions>" or "registry:catalog:*".
type Scope struct {
	Type    string
	Name    string
	Actions []string
}

// ParseScope parses one scope string; ok is false for a malformed one.
func ParseScope(s string) (Scope, bool) {
	i := strings.Index(s, ":")
	j := strings.LastIndex(s, ":")
	if i <= 0 || j <= i {
		return Scope{}, false
	}
	sc := Scope{Type: s[:i], Name: s[i+1 : j]}
	for _, a := range strings.Split(s[j+1:], ",") {
		if a = strings.TrimSpace(a); a != "" {
			sc.Actions = append(sc.Actions, a)
		}
	}
	return sc, sc.Name != ""
}

func (sc Scope) String() string { return sc.Type + ":" + sc.Name + ":" + strings.Join(sc.Actions, ",") }

// Issued is a signed token with its lifetime.
type Issued struct {
	Token     string
	ExpiresIn int
	IssuedAt  time.Time
}

func (s *Service) sign(typ, aud string, p *meta.Principal, ttl time.Duration, access []Access) (Issued, error) {
	now := time.Now().UTC()
	c := Claims{ID: uuid.NewString(), Audience: aud, Issuer: Issuer, IssuedAt: now.Unix(), NotBefore: now.Unix(),
		ExpiresAt: now.Add(ttl).Unix(), GrantType: typ, Version: "1.0", Access: access}
	if p != nil {
		c.Subject, c.Name, c.TokenGen, c.GrantGen = p.UID, p.Name, p.TokenGen, p.GrantGen
	}
	tok, err := s.keys.Sign(c)
	if err == nil {
		s.opts.OnToken(typ)
	}
	return Issued{Token: tok, ExpiresIn: int(ttl.Seconds()), IssuedAt: now}, err
}

// IssueAccess signs an access token for reg granting the intersection of
// the scopes asked and g. With no scope it is the identity's own token
// (no access), which /oauth2/exchange accepts.
func (s *Service) IssueAccess(reg *meta.Registry, p *meta.Principal, g Grants, scopes []string) (Issued, error) {
	var access []Access
	for _, raw := range scopes {
		for _, one := range strings.Fields(raw) {
			sc, ok := ParseScope(one)
			if !ok {
				continue
			}
			var granted []string
			switch {
			case sc.Type == "repository" || sc.Type == "repository(plugin)":
				granted = ToDocker(g.On(sc.Name), sc.Actions)
			case sc.Type == "registry" && sc.Name == "catalog" && g.Catalog():
				granted = []string{"*"}
			}
			if len(granted) > 0 {
				access = append(access, Access{Type: sc.Type, Name: sc.Name, Actions: granted})
			}
		}
	}
	return s.sign(TypeAccess, reg.LoginServer, p, s.opts.AccessTTL, access)
}

// IssueRefresh signs a refresh token for reg.
func (s *Service) IssueRefresh(reg *meta.Registry, p *meta.Principal) (Issued, error) {
	return s.sign(TypeRefresh, reg.LoginServer, p, s.opts.RefreshTTL, nil)
}

// IssueSession signs a management session token.
func (s *Service) IssueSession(p *meta.Principal) (Issued, error) {
	return s.sign(TypeSession, ManagementAudience, p, s.opts.SessionTTL, nil)
}

// VerifyToken verifies a token of one of the given types for audience and
// returns its claims and principal (nil for an anonymous access token).
// The principal must still exist, be enabled and hold the generations the
// token was issued under: every token dies with a reset or renewed secret
// or a disabled token, and access tokens also when grants were taken away.
// The principal is read from a cache of cacheTTL, so a revocation holds on
// every node within that time (on this one at once).
func (s *Service) VerifyToken(ctx context.Context, token, audience string, types ...string) (*Claims, *meta.Principal, error) {
	c, err := s.verifyCached(token)
	if err != nil && s.keys.unknownKey(token) && s.reloadKeys(ctx) {
		c, err = s.verifyCached(token)
	}
	if err != nil {
		return nil, nil, err
	}
	if c.Audience != audience || !contains(types, c.GrantType) {
		return nil, nil, ErrToken
	}
	if c.Subject == "" {
		if c.GrantType != TypeAccess {
			return nil, nil, ErrToken
		}
		return c, nil, nil
	}
	p, err := s.principal(ctx, c.Subject)
	if err != nil || !p.Enabled || p.TokenGen != c.TokenGen || (c.GrantType == TypeAccess && p.GrantGen != c.GrantGen) {
		return nil, nil, ErrToken
	}
	return c, p, nil
}

func (s *Service) verifyCached(token string) (*Claims, error) {
	now := time.Now()
	if e, ok := s.tokenCache.Load(token); ok {
		c := e.(tokenEntry).c
		if now.Unix() <= c.ExpiresAt {
			return c, nil
		}
		s.tokenCache.Delete(token)
		return nil, ErrToken
	}
	c, err := s.keys.Verify(token, now)
	if err != nil {
		return nil, err
	}
	if atomic.AddInt64(&s.tokenCount, 1) > maxCachedTokens {
		s.tokenCache.Clear()
		atomic.StoreInt64(&s.tokenCount, 0)
	}
	s.tokenCache.Store(token, tokenEntry{c: c})
	return c, nil
}

// TokenGrants turns an access token's claims into Grants.
func TokenGrants(c *Claims) Grants {
	var g Grants
	for _, a := range c.Access {
		switch a.Type {
		case "repository", "repository(plugin)":
			if act := FromDocker(a.Actions); act != 0 {
				if g.exact == nil {
					g.exact = map[string]Actions{}
				}
				g.exact[a.Name] |= act
			}
		case "registry":
			if a.Name == "catalog" {
				g.catalog = true
			}
		}
	}
	return g
}
