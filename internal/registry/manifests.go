package registry

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"time"

	"github.com/acre-project/acre/internal/errcode"
	"github.com/acre-project/acre/internal/meta"
	"github.com/acre-project/acre/internal/reference"
	"github.com/opencontainers/go-digest"
)

func manifestUnknown(ref string) *errcode.Error {
	return errcode.Errorf(errcode.ManifestUnknown, "manifest %s is not known to this repository", ref).WithDetail(map[string]string{"reference": ref})
}

// checkRef validates a manifest reference (a tag or a digest).
func checkRef(ref string) error {
	if reference.IsDigest(ref) {
		_, err := ParseDigest(ref)
		return err
	}
	if reference.ValidateTag(ref) != nil {
		return errcode.Errorf(errcode.ManifestInvalid, "invalid tag %q", ref).WithDetail(map[string]string{"tag": ref})
	}
	return nil
}

// GetManifest resolves ref (a tag or a digest) in the repository, with
// one metadata read (this is the hot path of every pull).
func (s *Service) GetManifest(ctx context.Context, r Repo, ref string, withContent bool) (*meta.Manifest, error) {
	if err := validName(r.Name); err != nil {
		return nil, err
	}
	if err := checkRef(ref); err != nil {
		return nil, err
	}
	repo, tag, m, err := s.meta.Read().ResolveManifest(ctx, r.Registry.ID, r.Name, ref, withContent)
	if errors.Is(err, meta.ErrNotFound) {
		return nil, nameUnknown(r)
	} else if err != nil {
		return nil, err
	}
	if err := checkRead(repo, nil, nil); err != nil {
		return nil, err
	}
	if m == nil {
		return nil, manifestUnknown(ref)
	}
	if err := checkRead(repo, tag, m); err != nil {
		return nil, err
	}
	if withContent {
		name := ""
		if tag != nil {
			name = tag.Name
		}
		if s.onPull != nil {
			s.onPull(m, name)
		}
	}
	return m, nil
}

// PutManifest stores a manifest under ref (a tag or its digest) and under
// any extra tags. Every blob and child manifest it references must already
// be in the repository. It returns the stored manifest.
func (s *Service) PutManifest(ctx context.Context, r Repo, ref, contentType string, body io.Reader, tags []string) (*meta.Manifest, error) {
	if err := validName(r.Name); err != nil {
		return nil, err
	}
	if err := checkRef(ref); err != nil {
		return nil, err
	}
	for _, t := range tags {
		if err := checkRef(t); err != nil || reference.IsDigest(t) {
			return nil, errcode.Errorf(errcode.ManifestInvalid, "invalid tag %q", t)
		}
	}
	content, err := io.ReadAll(io.LimitReader(body, s.maxManifest+1))
	if err != nil {
		return nil, err
	}
	if int64(len(content)) > s.maxManifest {
		return nil, errcode.Errorf(errcode.ManifestTooLarge, "manifest exceeds the %d byte limit", s.maxManifest)
	}
	alg := digest.Canonical
	if reference.IsDigest(ref) {
		alg = digest.Digest(ref).Algorithm()
	}
	d := alg.FromBytes(content)
	if reference.IsDigest(ref) && d.String() != ref {
		return nil, errcode.Errorf(errcode.DigestInvalid, "manifest content has digest %s, not %s", d, ref).WithDetail(map[string]string{"digest": ref})
	}
	p, err := ParseManifest(contentType, content)
	if err != nil {
		return nil, err
	}
	now := time.Now().UTC()
	m := &meta.Manifest{Digest: d, MediaType: p.MediaType, ArtifactType: p.ArtifactType, Subject: p.Subject,
		Size: int64(len(content)), ImageSize: p.ImageSize, Annotations: p.Annotations, Content: content,
		Refs: p.refs(), CreatedAt: now, UpdatedAt: now}
	var helm *chart
	if p.Config != nil {
		m.ConfigMediaType = p.Config.MediaType
		m.Architecture, m.OS = s.platform(ctx, p.Config)
		helm = s.chart(ctx, p.Config)
	}
	if !reference.IsDigest(ref) {
		tags = append([]string{ref}, tags...)
	}
	err = s.meta.Tx(ctx, func(q Store) error {
		repo, err := q.EnsureRepository(ctx, r.Registry.ID, r.Name)
		if err != nil {
			return err
		}
		if err := checkRepoWrite(repo); err != nil {
			return err
		}
		if err := s.checkQuota(ctx, q, r.Registry); err != nil {
			return err
		}
		for _, t := range tags {
			if err := checkTagMove(ctx, q, repo, t, d); err != nil {
				return err
			}
		}
		if err := s.checkRefs(ctx, q, repo.ID, p); err != nil {
			return err
		}
		m.RepositoryID = repo.ID
		if len(tags) == 0 {
			m.UntaggedAt = now // pushed by digest: untagged from the start
		}
		created, err := q.PutManifest(ctx, m)
		if err != nil {
			return err
		}
		if created {
			if err := q.AddUsage(ctx, r.Registry.ID, m.Size); err != nil {
				return err
			}
		}
		if err := s.retag(ctx, q, repo.ID, tags, m.ID, now); err != nil {
			return err
		}
		if err := q.TouchRepository(ctx, repo.ID, now); err != nil {
			return err
		}
		if helm != nil {
			if err := appendChartEvent(ctx, q, r.Registry.ID, "chart_push", r.Name, d, m.ImageSize, *helm); err != nil {
				return err
			}
		}
		if len(tags) == 0 {
			return appendEvent(ctx, q, r.Registry.ID, "push", r.Name, "", d, p.MediaType, m.Size)
		}
		for _, t := range tags {
			if err := appendEvent(ctx, q, r.Registry.ID, "push", r.Name, t, d, p.MediaType, m.Size); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.notify()
	return m, nil
}

// chart reads a Helm chart's name and version from its config, or nil.
func (s *Service) chart(ctx context.Context, cfg *descriptor) *chart {
	if cfg.MediaType != MediaTypeHelmConfig || cfg.Size > maxConfigRead {
		return nil
	}
	var c chart
	if !s.readConfig(ctx, digest.Digest(cfg.Digest), &c) || c.Name == "" {
		return nil
	}
	return &c
}

// readConfig decodes a small config blob into v.
func (s *Service) readConfig(ctx context.Context, d digest.Digest, v any) bool {
	rc, err := s.blobs.Open(ctx, d, 0)
	if err != nil {
		return false
	}
	defer rc.Close()
	return json.NewDecoder(io.LimitReader(rc, maxConfigRead)).Decode(v) == nil
}

// checkRefs fails with MANIFEST_BLOB_UNKNOWN when a referenced blob is not
// linked in the repository or an index names a manifest the repository does
// not hold (as the distribution registry answers), and with MANIFEST_INVALID
// when a blob's size differs from its descriptor's.
func (s *Service) checkRefs(ctx context.Context, q Store, repoID int64, p *ParsedManifest) error {
	for _, b := range p.Blobs {
		d := digest.Digest(b.Digest)
		size, err := q.LinkedBlob(ctx, repoID, d)
		if errors.Is(err, meta.ErrNotFound) {
			return errcode.Errorf(errcode.ManifestBlobUnknown, "blob %s referenced by the manifest is not in the repository", d).
				WithDetail(map[string]string{"digest": d.String()})
		} else if err != nil {
			return err
		}
		if size != b.Size {
			return errcode.Errorf(errcode.ManifestInvalid, "blob %s has %d bytes, the manifest says %d", d, size, b.Size).
				WithDetail(map[string]string{"digest": d.String()})
		}
	}
	for _, c := range p.Children {
		d := digest.Digest(c.Digest)
		if _, err := q.GetManifest(ctx, repoID, d, false); errors.Is(err, meta.ErrNotFound) {
			return errcode.Errorf(errcode.ManifestBlobUnknown, "manifest %s referenced by the index is not in the repository", d).
				WithDetail(map[string]string{"digest": d.String()})
		} else if err != nil {
			return err
		}
	}
	return nil
}

// maxConfigRead bounds how much of a config blob is read for its platform.
const maxConfigRead = 1 << 20

// platform reads architecture and OS from an image config, best effort.
func (s *Service) platform(ctx context.Context, cfg *descriptor) (arch, os string) {
	if (cfg.MediaType != MediaTypeOCIConfig && cfg.MediaType != MediaTypeDockerConfig) || cfg.Size > maxConfigRead {
		return "", ""
	}
	var c imageConfig
	if !s.readConfig(ctx, digest.Digest(cfg.Digest), &c) {
		return "", ""
	}
	return c.Architecture, c.OS
}

// DeleteManifest deletes by reference: a tag is untagged (the manifest
// stays); a digest deletes the manifest, every tag pointing at it and its
// referrers (refused when any of them is locked).
func (s *Service) DeleteManifest(ctx context.Context, r Repo, ref string) error {
	if err := validName(r.Name); err != nil {
		return err
	}
	if err := checkRef(ref); err != nil {
		return err
	}
	defer s.notify()
	return s.meta.Tx(ctx, func(q Store) error {
		repo, err := s.repository(ctx, q, r, nameUnknown(r))
		if err != nil {
			return err
		}
		if !reference.IsDigest(ref) {
			return untag(ctx, q, repo, ref)
		}
		d := digest.Digest(ref)
		m, err := q.GetManifest(ctx, repo.ID, d, false)
		if errors.Is(err, meta.ErrNotFound) {
			return manifestUnknown(ref)
		} else if err != nil {
			return err
		}
		refs, err := checkCascadeDelete(ctx, q, repo, m)
		if err != nil {
			return err
		}
		if err := s.removeWithReferrers(ctx, q, r, m, refs); err != nil {
			return err
		}
		return q.TouchRepository(ctx, repo.ID, time.Now().UTC())
	})
}

// removeManifest deletes a manifest with its tags, announces it, gives
// back its bytes and queues its blob links for garbage collection.
func (s *Service) removeManifest(ctx context.Context, q Store, r Repo, m *meta.Manifest) error {
	// The events first: a chart's event reads the manifest being deleted.
	if err := s.deleteEvents(ctx, q, r, m); err != nil {
		return err
	}
	refs, err := q.RefsOf(ctx, m.ID)
	if err != nil {
		return err
	}
	if err := q.DeleteManifest(ctx, m.RepositoryID, m.Digest); err != nil {
		return err
	}
	if err := q.AddUsage(ctx, r.Registry.ID, -m.Size); err != nil {
		return err
	}
	now := time.Now().UTC()
	for _, ref := range refs {
		if ref.Kind == meta.RefBlob {
			if err := q.EnqueueGC(ctx, meta.GCItem{Kind: meta.GCLink, RepositoryID: m.RepositoryID, Digest: ref.Digest, NotBefore: now}); err != nil {
				return err
			}
		} else if err := markIfUntagged(ctx, q, childID(ctx, q, m.RepositoryID, ref.Digest), now); err != nil {
			return err
		}
	}
	return nil
}

// childID finds an index child's id (0 when absent).
func childID(ctx context.Context, q Store, repoID int64, d digest.Digest) int64 {
	c, err := q.GetManifest(ctx, repoID, d, false)
	if err != nil {
		return 0
	}
	return c.ID
}

// deleteEvents announces a deleted manifest: delete, and chart_delete for a chart.
func (s *Service) deleteEvents(ctx context.Context, q Store, r Repo, m *meta.Manifest) error {
	if m.ConfigMediaType == MediaTypeHelmConfig {
		var full meta.Manifest
		if mm, err := q.GetManifest(ctx, m.RepositoryID, m.Digest, true); err == nil {
			full = *mm
		}
		var env envelope
		if json.Unmarshal(full.Content, &env) == nil && env.Config != nil {
			if c := s.chart(ctx, env.Config); c != nil {
				if err := appendChartEvent(ctx, q, r.Registry.ID, "chart_delete", r.Name, m.Digest, m.ImageSize, *c); err != nil {
					return err
				}
			}
		}
	}
	return appendEvent(ctx, q, r.Registry.ID, "delete", r.Name, "", m.Digest, m.MediaType, 0)
}

// retag points tags at manifest id: the manifest is tagged again (never
// collected by retention), and a manifest that loses its last tag by a
// move starts its untagged time.
func (s *Service) retag(ctx context.Context, q Store, repoID int64, tags []string, id int64, now time.Time) error {
	for _, t := range tags {
		old, err := q.GetTag(ctx, repoID, t)
		if err != nil && !errors.Is(err, meta.ErrNotFound) {
			return err
		}
		if err := q.PutTag(ctx, repoID, t, id, now); err != nil {
			return err
		}
		if old != nil && old.ManifestID != id {
			if err := markIfUntagged(ctx, q, old.ManifestID, now); err != nil {
				return err
			}
		}
	}
	if len(tags) > 0 {
		return q.SetUntagged(ctx, id, time.Time{})
	}
	return nil
}

// markIfUntagged starts a manifest's untagged time when no tag is left.
func markIfUntagged(ctx context.Context, q Store, manifestID int64, now time.Time) error {
	if manifestID == 0 {
		return nil
	}
	left, err := q.TagsOf(ctx, manifestID)
	if err != nil || len(left) > 0 {
		return err
	}
	return q.SetUntagged(ctx, manifestID, now)
}

// untag removes a tag (the manifest stays), unless it is locked.
func untag(ctx context.Context, q Store, repo *meta.Repository, tag string) error {
	t, err := q.GetTag(ctx, repo.ID, tag)
	if errors.Is(err, meta.ErrNotFound) {
		return manifestUnknown(tag)
	} else if err != nil {
		return err
	}
	if err := CheckDelete(repo, "tag "+repo.Name+":"+tag, t.Attributes); err != nil {
		return err
	}
	if err := q.DeleteTag(ctx, repo.ID, tag); err != nil {
		return err
	}
	now := time.Now().UTC()
	if err := markIfUntagged(ctx, q, t.ManifestID, now); err != nil {
		return err
	}
	return q.TouchRepository(ctx, repo.ID, now)
}
