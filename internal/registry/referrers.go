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

// SubjectPresent reports whether m is a referrer whose subject manifest
// is in the repository: lifecycle jobs keep such a referrer.
func SubjectPresent(ctx context.Context, q meta.Manifests, m *meta.Manifest) (bool, error) {
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
func referrerTree(ctx context.Context, q Store, repoID int64, d digest.Digest) ([]meta.Manifest, error) {
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
func checkCascadeDelete(ctx context.Context, q Store, repo *meta.Repository, m *meta.Manifest) ([]meta.Manifest, error) {
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
func (s *Service) removeWithReferrers(ctx context.Context, q Store, r Repo, m *meta.Manifest, refs []meta.Manifest) error {
	for i := range refs {
		if err := s.removeManifest(ctx, q, r, &refs[i]); err != nil {
			return err
		}
	}
	return s.removeManifest(ctx, q, r, m)
}

// DeleteUnreferenced deletes m (of repo, in r's registry) with its
// referrers inside q's transaction, announcing each, when nothing keeps
// it: no tag points at it, no index of the repository references it, it
// is not a referrer whose subject is there, and neither it nor a tag or
// referrer of it is locked. It reports whether it deleted; retention
// calls it for a manifest that has been untagged long enough.
func (s *Service) DeleteUnreferenced(ctx context.Context, q Store, r Repo, repo *meta.Repository, m *meta.Manifest) (bool, error) {
	if tags, err := q.TagsOf(ctx, m.ID); err != nil || len(tags) > 0 {
		return false, err
	}
	if ref, err := q.ReferencedBy(ctx, repo.ID, m.Digest); err != nil || ref {
		return false, err
	}
	if keep, err := SubjectPresent(ctx, q, m); err != nil || keep {
		return false, err // a referrer goes with its subject
	}
	refs, err := checkCascadeDelete(ctx, q, repo, m)
	if err != nil {
		return false, nil // locked (it or a referrer): kept
	}
	return true, s.removeWithReferrers(ctx, q, r, m, refs)
}
