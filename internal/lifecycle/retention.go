package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/acre-project/acre/internal/errcode"
	"github.com/acre-project/acre/internal/meta"
	"github.com/acre-project/acre/internal/registry"
)

// RetentionPolicy is a registry's retention policy as users set it.
type RetentionPolicy struct {
	Enabled       bool      `json:"enabled"`
	Days          int       `json:"days"`                    // 0-365: untagged manifests go this many days after losing their last tag
	Type          string    `json:"type"`                    // UntaggedManifests
	KeepTags      int       `json:"keepTags,omitempty"`      // >0: keep only the newest N tags per repository
	KeepFilter    string    `json:"keepTagsFilter"`          // which tags KeepTags counts (a regular expression; "" for all)
	NotPulledDays int       `json:"notPulledDays,omitempty"` // >0: delete tagged images not pulled for this many days
	EnabledAt     time.Time `json:"lastUpdatedTime,omitzero"`
}

// Retention returns a registry's policy (disabled, 7 days, by default).
func (s *Service) Retention(ctx context.Context, reg *meta.Registry) (RetentionPolicy, error) {
	p, err := s.meta.Read().GetRetention(ctx, reg.ID)
	if errors.Is(err, meta.ErrNotFound) {
		return RetentionPolicy{Days: 7, Type: "UntaggedManifests"}, nil
	} else if err != nil {
		return RetentionPolicy{}, err
	}
	return RetentionPolicy{Enabled: p.Enabled, Days: p.Days, Type: "UntaggedManifests", KeepTags: p.KeepTags,
		KeepFilter: p.KeepFilter, NotPulledDays: p.NotPulledDays, EnabledAt: p.EnabledAt}, nil
}

// SetRetention stores a policy. Enabling it starts its clock: only
// manifests untagged from now on are affected.
func (s *Service) SetRetention(ctx context.Context, reg *meta.Registry, p RetentionPolicy) (RetentionPolicy, error) {
	if p.Days < 0 || p.Days > 365 {
		return p, errcode.Errorf(errcode.InvalidArgument, "days must be between 0 and 365")
	}
	if p.Type != "" && p.Type != "UntaggedManifests" {
		return p, errcode.Errorf(errcode.InvalidArgument, "the only retention type is UntaggedManifests")
	}
	if _, err := regexp.Compile(p.KeepFilter); err != nil || p.KeepTags < 0 || p.NotPulledDays < 0 {
		return p, errcode.Errorf(errcode.InvalidArgument, "keepTags and notPulledDays must not be negative, keepTagsFilter a regular expression")
	}
	err := s.meta.Tx(ctx, func(q Store) error {
		old, err := q.GetRetention(ctx, reg.ID)
		if err != nil && !errors.Is(err, meta.ErrNotFound) {
			return err
		}
		at := time.Now().UTC()
		if old != nil && old.Enabled && p.Enabled {
			at = old.EnabledAt // still on: keep the clock
		}
		return q.PutRetention(ctx, &meta.RetentionPolicy{RegistryID: reg.ID, Enabled: p.Enabled, Days: p.Days, EnabledAt: at,
			KeepTags: p.KeepTags, KeepFilter: p.KeepFilter, NotPulledDays: p.NotPulledDays})
	})
	if err != nil {
		return p, err
	}
	return s.Retention(ctx, reg)
}

// Deletion is one thing a lifecycle job deleted (or, dry, would delete).
type Deletion struct {
	Repository string `json:"repository"`
	Tag        string `json:"tag,omitempty"`
	Digest     string `json:"digest,omitempty"`
	Reason     string `json:"reason"`
}

// ApplyRetention runs a registry's retention policy once.
func (s *Service) ApplyRetention(ctx context.Context, reg *meta.Registry) ([]Deletion, error) {
	p, err := s.meta.Read().GetRetention(ctx, reg.ID)
	if errors.Is(err, meta.ErrNotFound) || (err == nil && !p.Enabled) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	var out []Deletion
	if p.KeepTags > 0 {
		d, err := s.keepNewestTags(ctx, reg, p)
		if err != nil {
			return out, err
		}
		out = append(out, d...)
	}
	if p.NotPulledDays > 0 {
		d, err := s.purgeNotPulled(ctx, reg, time.Duration(p.NotPulledDays)*24*time.Hour)
		if err != nil {
			return out, err
		}
		out = append(out, d...)
	}
	cutoff := time.Now().UTC().Add(-time.Duration(p.Days) * 24 * time.Hour)
	from := p.EnabledAt
	for ctx.Err() == nil {
		ms, err := s.meta.Read().UntaggedBefore(ctx, reg.ID, from, cutoff, 200)
		if err != nil || len(ms) == 0 {
			return out, err
		}
		for i := range ms {
			d, err := s.retire(ctx, reg, ms[i].RepositoryID, ms[i].Digest.String(), cutoff)
			if err != nil {
				return out, err
			}
			if d != nil {
				out = append(out, *d)
			}
		}
		from = ms[len(ms)-1].UntaggedAt.Add(time.Nanosecond)
	}
	return out, ctx.Err()
}

// retire deletes an untagged manifest (with its referrers) if, checked
// again in the deleting transaction, it is still untagged since before
// cutoff, unlocked, not referenced by an index and not a referrer whose
// subject is still there. A manifest tagged again is never deleted.
func (s *Service) retire(ctx context.Context, reg *meta.Registry, repoID int64, dg string, cutoff time.Time) (*Deletion, error) {
	var out *Deletion
	err := s.meta.Tx(ctx, func(q Store) error {
		m, repo, err := s.manifestByID(ctx, q, reg, repoID, dg)
		if err != nil || m == nil {
			return err
		}
		if m.UntaggedAt.IsZero() || m.UntaggedAt.After(cutoff) {
			return nil
		}
		deleted, err := s.core.DeleteUnreferenced(ctx, q, registry.Repo{Registry: reg, Name: repo.Name}, repo, m)
		if err != nil || !deleted {
			return err
		}
		why := fmt.Sprintf("retention: untagged since %s", m.UntaggedAt.Format(time.RFC3339))
		s.recordLifecycle(ctx, q, reg.ID, repo.Name, "", m.Digest, "Delete", "retention", why)
		out = &Deletion{Repository: repo.Name, Digest: m.Digest.String(), Reason: why}
		return nil
	})
	if out != nil {
		s.notify()
	}
	return out, err
}

// manifestByID loads a manifest and its repository inside q (nil when gone).
func (s *Service) manifestByID(ctx context.Context, q Store, reg *meta.Registry, repoID int64, dg string) (*meta.Manifest, *meta.Repository, error) {
	name, err := q.RepositoryName(ctx, repoID)
	if errors.Is(err, meta.ErrNotFound) {
		return nil, nil, nil
	} else if err != nil {
		return nil, nil, err
	}
	repo, err := q.GetRepository(ctx, reg.ID, name)
	if err != nil {
		return nil, nil, notFoundNil(err)
	}
	m, err := q.GetManifest(ctx, repoID, digestOf(dg), false)
	if err != nil {
		return nil, nil, notFoundNil(err)
	}
	return m, repo, nil
}
