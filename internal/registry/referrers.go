package registry

import (
	"context"
	"errors"

	"github.com/acre-project/acre/internal/meta"
	"github.com/opencontainers/go-digest"
)

// Referrers (signatures, SBOMs, attestations: manifests with a subject)
// live and die with their subject, as in ACR: lifecycle jobs never delete
// a referrer whose subject is still there, and deleting a subject deletes
// its referrers, theirs in turn, in the same transaction.

// subjectPresent reports whether m is a referrer whose subject manifest
// is in the repository.
func subjectPresent(ctx context.Context, q meta.Queries, m *meta.Manifest) (bool, error) {
	if m.Subject == "" {
		return false, nil
	}
	_, err := q.GetManifest(ctx, m.RepositoryID, m.Subject, false)
	if errors.Is(err, meta.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// referrerTree lists every manifest of the repository that refers to d,
// directly or through other referrers, hidden ones included.
func referrerTree(ctx context.Context, q meta.Queries, repoID int64, d digest.Digest) ([]meta.Manifest, error) {
	var out []meta.Manifest
	seen := map[digest.Digest]bool{d: true}
	for next := []digest.Digest{d}; len(next) > 0; {
		subject := next[0]
		next = next[1:]
		ms, err := q.Referrers(ctx, repoID, subject, "", true)
		if err != nil {
			return nil, err
		}
		for _, m := range ms {
			if !seen[m.Digest] {
				seen[m.Digest] = true
				out = append(out, m)
				next = append(next, m.Digest)
			}
		}
	}
	return out, nil
}

// checkCascadeDelete refuses deleting m when it, a tag of it or any of
// its referrers is locked against deletion; it returns the referrers.
func checkCascadeDelete(ctx context.Context, q meta.Queries, repo *meta.Repository, m *meta.Manifest) ([]meta.Manifest, error) {
	if err := checkManifestDelete(ctx, q, repo, m); err != nil {
		return nil, err
	}
	refs, err := referrerTree(ctx, q, repo.ID, m.Digest)
	if err != nil {
		return nil, err
	}
	for i := range refs {
		if err := checkManifestDelete(ctx, q, repo, &refs[i]); err != nil {
			return nil, err
		}
	}
	return refs, nil
}

// removeWithReferrers deletes m and refs (its referrers, from
// checkCascadeDelete), announcing each.
func (s *Service) removeWithReferrers(ctx context.Context, q meta.Queries, r Repo, m *meta.Manifest, refs []meta.Manifest) error {
	for i := range refs {
		if err := s.removeManifest(ctx, q, r, &refs[i]); err != nil {
			return err
		}
	}
	return s.removeManifest(ctx, q, r, m)
}
