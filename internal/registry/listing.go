package registry

import (
	"context"

	"github.com/acre-project/acre/internal/meta"
	"github.com/opencontainers/go-digest"
)

// The /v2/ listings. Tags and repositories come in key-range pages (after
// a key, at most n); a subject's referrers come whole. Entries with
// listEnabled=false are left out of every listing (ACR's detailed
// listings with their orders are in details.go).

// ListTags lists tag names in lexical order after last, at most n.
func (s *Service) ListTags(ctx context.Context, r Repo, p meta.Page) ([]string, error) {
	q := s.meta.Read()
	repo, err := s.repository(ctx, q, r, nameUnknown(r))
	if err != nil {
		return nil, err
	}
	return q.ListTags(ctx, repo.ID, p)
}

// Catalog lists repository names in lexical order after last, at most n.
func (s *Service) Catalog(ctx context.Context, reg *meta.Registry, p meta.Page) ([]string, error) {
	return s.meta.Read().ListRepositories(ctx, reg.ID, p)
}

// Referrers lists the manifests whose subject is d, optionally filtered by
// artifact type, leaving out those with listEnabled=false (as every
// listing does). An unknown repository or subject has no referrers.
func (s *Service) Referrers(ctx context.Context, r Repo, d digest.Digest, artifactType string) ([]meta.Manifest, error) {
	q := s.meta.Read()
	repo, err := s.repository(ctx, q, r, nil)
	if err != nil {
		return nil, err
	}
	if repo == nil {
		return nil, nil
	}
	return q.Referrers(ctx, repo.ID, d, artifactType, false)
}
