package registry

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/acre-project/acre/internal/meta"
	"github.com/opencontainers/go-digest"
)

// AttributesPatch changes some changeable attributes (nil: keep).
type AttributesPatch struct {
	DeleteEnabled *bool `json:"deleteEnabled"`
	WriteEnabled  *bool `json:"writeEnabled"`
	ReadEnabled   *bool `json:"readEnabled"`
	ListEnabled   *bool `json:"listEnabled"`
}

func (p AttributesPatch) apply(a meta.Attributes) meta.Attributes {
	for _, f := range []struct {
		v   *bool
		dst *bool
	}{{p.DeleteEnabled, &a.DeleteEnabled}, {p.WriteEnabled, &a.WriteEnabled}, {p.ReadEnabled, &a.ReadEnabled}, {p.ListEnabled, &a.ListEnabled}} {
		if f.v != nil {
			*f.dst = *f.v
		}
	}
	return a
}

// RepositoryDetails returns a repository with its counts.
func (s *Service) RepositoryDetails(ctx context.Context, r Repo) (*meta.RepositoryDetails, error) {
	if err := validName(r.Name); err != nil {
		return nil, err
	}
	d, err := s.meta.Read().RepositoryDetails(ctx, r.Registry.ID, r.Name)
	if errors.Is(err, meta.ErrNotFound) {
		return nil, nameUnknown(r)
	}
	return d, err
}

// UpdateRepository changes a repository's attributes.
func (s *Service) UpdateRepository(ctx context.Context, r Repo, p AttributesPatch) (*meta.RepositoryDetails, error) {
	err := s.meta.Tx(ctx, func(q Store) error {
		repo, err := s.repository(ctx, q, r, nameUnknown(r))
		if err != nil {
			return err
		}
		return q.SetRepositoryAttributes(ctx, repo.ID, p.apply(repo.Attributes))
	})
	s.early.forget() // a lock set here is seen by the next upload here
	if err != nil {
		return nil, err
	}
	return s.RepositoryDetails(ctx, r)
}

// DeleteRepository deletes a repository with all its manifests and tags,
// announcing a delete event for each manifest. Locked content stops it.
// It returns the digests and tags deleted.
func (s *Service) DeleteRepository(ctx context.Context, r Repo) (deleted []digest.Digest, tags []string, err error) {
	defer s.notify()
	err = s.meta.Tx(ctx, func(q Store) error {
		repo, err := s.repository(ctx, q, r, nameUnknown(r))
		if err != nil {
			return err
		}
		if err := CheckDelete(repo, "repository "+repo.Name, repo.Attributes); err != nil {
			return err
		}
		last := ""
		for {
			ms, err := q.ListManifests(ctx, repo.ID, meta.ListQuery{Last: last, N: 500, Hidden: true})
			if err != nil {
				return err
			}
			for i := range ms {
				if err := checkManifestDelete(ctx, q, repo, &ms[i]); err != nil {
					return err
				}
				ts, err := q.TagsOf(ctx, ms[i].ID)
				if err != nil {
					return err
				}
				for _, t := range ts {
					tags = append(tags, t.Name)
				}
				if err := s.removeManifest(ctx, q, r, &ms[i]); err != nil {
					return err
				}
				deleted = append(deleted, ms[i].Digest)
			}
			if len(ms) < 500 {
				break
			}
			last = ms[len(ms)-1].Digest.String()
		}
		links, err := q.ListLinks(ctx, repo.ID)
		if err != nil {
			return err
		}
		for _, d := range links {
			if err := s.Unlink(ctx, q, r.Registry.ID, repo.ID, d); err != nil {
				return err
			}
		}
		return q.DeleteRepository(ctx, repo.ID)
	})
	return deleted, tags, err
}

// Tags lists tags with details (ACR's _tags).
func (s *Service) Tags(ctx context.Context, r Repo, lq meta.ListQuery) ([]meta.Tag, error) {
	q := s.meta.Read()
	repo, err := s.repository(ctx, q, r, nameUnknown(r))
	if err != nil {
		return nil, err
	}
	return q.ListTagDetails(ctx, repo.ID, lq)
}

// Tag returns one tag with its digest.
func (s *Service) Tag(ctx context.Context, r Repo, name string) (*meta.Tag, error) {
	if err := checkRef(name); err != nil {
		return nil, err
	}
	q := s.meta.Read()
	repo, err := s.repository(ctx, q, r, nameUnknown(r))
	if err != nil {
		return nil, err
	}
	t, err := q.GetTag(ctx, repo.ID, name)
	if errors.Is(err, meta.ErrNotFound) {
		return nil, manifestUnknown(name)
	}
	return t, err
}

// UpdateTag changes a tag's attributes.
func (s *Service) UpdateTag(ctx context.Context, r Repo, name string, p AttributesPatch) (*meta.Tag, error) {
	err := s.meta.Tx(ctx, func(q Store) error {
		repo, err := s.repository(ctx, q, r, nameUnknown(r))
		if err != nil {
			return err
		}
		t, err := q.GetTag(ctx, repo.ID, name)
		if errors.Is(err, meta.ErrNotFound) {
			return manifestUnknown(name)
		} else if err != nil {
			return err
		}
		return q.SetTagAttributes(ctx, repo.ID, name, p.apply(t.Attributes))
	})
	if err != nil {
		return nil, err
	}
	return s.Tag(ctx, r, name)
}

// Untag deletes a tag; the manifest stays (retention or purge may remove it).
func (s *Service) Untag(ctx context.Context, r Repo, name string) error {
	if err := checkRef(name); err != nil {
		return err
	}
	return s.meta.Tx(ctx, func(q Store) error {
		repo, err := s.repository(ctx, q, r, nameUnknown(r))
		if err != nil {
			return err
		}
		return untag(ctx, q, repo, name)
	})
}

// ManifestDetails is a manifest with its tags and, for an index, its children.
type ManifestDetails struct {
	meta.Manifest
	Tags       []string
	References []Reference
}

// Reference is one child of an index, with its platform.
type Reference struct {
	Digest       digest.Digest `json:"digest"`
	Architecture string        `json:"architecture,omitempty"`
	OS           string        `json:"os,omitempty"`
}

// Manifests lists manifests with their tags (ACR's _manifests).
func (s *Service) Manifests(ctx context.Context, r Repo, lq meta.ListQuery) ([]ManifestDetails, error) {
	q := s.meta.Read()
	repo, err := s.repository(ctx, q, r, nameUnknown(r))
	if err != nil {
		return nil, err
	}
	ms, err := q.ListManifests(ctx, repo.ID, lq)
	if err != nil {
		return nil, err
	}
	out := make([]ManifestDetails, 0, len(ms))
	for _, m := range ms {
		d, err := s.details(ctx, q, m, false)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, nil
}

// ManifestProperties returns one manifest's details.
func (s *Service) ManifestProperties(ctx context.Context, r Repo, d digest.Digest) (*ManifestDetails, error) {
	q := s.meta.Read()
	repo, err := s.repository(ctx, q, r, nameUnknown(r))
	if err != nil {
		return nil, err
	}
	m, err := q.GetManifest(ctx, repo.ID, d, true)
	if errors.Is(err, meta.ErrNotFound) {
		return nil, manifestUnknown(d.String())
	} else if err != nil {
		return nil, err
	}
	out, err := s.details(ctx, q, *m, true)
	return &out, err
}

func (s *Service) details(ctx context.Context, q Store, m meta.Manifest, withRefs bool) (ManifestDetails, error) {
	out := ManifestDetails{Manifest: m, Tags: []string{}}
	tags, err := q.TagsOf(ctx, m.ID)
	if err != nil {
		return out, err
	}
	for _, t := range tags {
		if t.Attributes.ListEnabled { // a hidden tag stays out of every listing
			out.Tags = append(out.Tags, t.Name)
		}
	}
	if withRefs && isIndex(m.MediaType) && m.Content != nil {
		var idx struct{ Manifests []descriptor }
		if json.Unmarshal(m.Content, &idx) == nil {
			for _, c := range idx.Manifests {
				ref := Reference{Digest: digest.Digest(c.Digest)}
				if c.Platform != nil {
					ref.Architecture, ref.OS = c.Platform.Architecture, c.Platform.OS
				}
				out.References = append(out.References, ref)
			}
		}
	}
	out.Content = nil
	return out, nil
}

// UpdateManifest changes a manifest's attributes.
func (s *Service) UpdateManifest(ctx context.Context, r Repo, d digest.Digest, p AttributesPatch) (*ManifestDetails, error) {
	err := s.meta.Tx(ctx, func(q Store) error {
		repo, err := s.repository(ctx, q, r, nameUnknown(r))
		if err != nil {
			return err
		}
		m, err := q.GetManifest(ctx, repo.ID, d, false)
		if errors.Is(err, meta.ErrNotFound) {
			return manifestUnknown(d.String())
		} else if err != nil {
			return err
		}
		if err := q.SetManifestAttributes(ctx, repo.ID, d, p.apply(m.Attributes)); err != nil {
			return err
		}
		return q.TouchRepository(ctx, repo.ID, time.Now().UTC())
	})
	if err != nil {
		return nil, err
	}
	return s.ManifestProperties(ctx, r, d)
}
