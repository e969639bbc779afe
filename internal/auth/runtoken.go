package auth

import (
	"context"
	"fmt"
	"time"

	"github.com/acre-project/acre/internal/meta"
)

// RunToken returns a refresh token valid for ttl (at most the refresh
// token lifetime) with which a build run by the identity named name pulls
// and pushes in reg, after checking that the identity may push to every
// repository of repos (AcrPush); the error says which it may not.
func (s *Service) RunToken(ctx context.Context, reg *meta.Registry, name string, repos []string, ttl time.Duration) (string, error) {
	p, err := s.opts.Meta.Read().PrincipalByName(ctx, reg.ID, name)
	if err != nil {
		return "", fmt.Errorf("identity %q: %w", name, err)
	}
	if !p.Enabled {
		return "", fmt.Errorf("identity %q is disabled", name)
	}
	g, err := s.Grants(ctx, reg, p)
	if err != nil {
		return "", err
	}
	for _, repo := range repos {
		if !g.Allows(repo, ContentRead|ContentWrite) {
			return "", fmt.Errorf("identity %q may not push to %s/%s: it needs the AcrPush role there "+
				"(acre role assignment create --assignee %s --role AcrPush --scope /registries/%s)", name, reg.Name, repo, name, reg.Name)
		}
	}
	if ttl <= 0 || ttl > s.opts.RefreshTTL {
		ttl = s.opts.RefreshTTL
	}
	is, err := s.sign(TypeRefresh, reg.LoginServer, p, ttl, nil)
	return is.Token, err
}
