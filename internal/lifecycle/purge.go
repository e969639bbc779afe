package lifecycle

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/acre-project/acre/internal/errcode"
	"github.com/acre-project/acre/internal/meta"
	"github.com/acre-project/acre/internal/registry"
	"github.com/dlclark/regexp2"
)

// PurgeOptions are acr purge's options.
type PurgeOptions struct {
	Filters       []string `json:"filters"`                 // repoRegex:tagRegex, at least one
	Ago           string   `json:"ago"`                     // only tags last updated longer ago than this, "2d3h6m" form
	Untagged      bool     `json:"untagged"`                // also delete manifests left without tags
	Keep          int      `json:"keep"`                    // keep the newest N of the tags that would go
	DryRun        bool     `json:"dryRun"`                  // list what would go, delete nothing
	IncludeLocked bool     `json:"includeLocked"`           // unlock locked tags and manifests, then delete them
	Concurrency   int      `json:"concurrency"`             // repositories purged at once (1-32)
	NotPulledFor  string   `json:"notPulledFor,omitempty"`  // only tags not pulled for this long ("90d")
	FilterTimeout int      `json:"filterTimeout,omitempty"` // seconds the filters may take (default 60)
}

// PurgeResult lists what a purge deleted (or would delete, dry).
type PurgeResult struct {
	DryRun    bool       `json:"dryRun"`
	Tags      []Deletion `json:"tags"`
	Manifests []Deletion `json:"manifests"`
}

// ParseAgo parses acr purge's duration: an optional "<N>d" then a Go duration ("2d3h6m", "30d", "12h").
func ParseAgo(s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	var days time.Duration
	if i := strings.Index(s, "d"); i >= 0 {
		n, err := strconv.Atoi(s[:i])
		if err != nil || n < 0 {
			return 0, fmt.Errorf("duration %q: want [N]d followed by a Go duration such as 3h6m", s)
		}
		days, s = time.Duration(n)*24*time.Hour, s[i+1:]
	}
	if s == "" {
		return days, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("duration %q: want [N]d followed by a Go duration such as 3h6m", s)
	}
	return days + d, nil
}

func badPurge(format string, args ...any) error {
	return errcode.Errorf(errcode.InvalidArgument, format, args...)
}

// Purge deletes old tags (and, with Untagged, manifests left without
// tags) in the repositories the filters name, as ACR's acr purge does.
// The same plan serves a dry run and a real one, so a dry run lists
// exactly what a real run would delete.
func (s *Service) Purge(ctx context.Context, reg *meta.Registry, o PurgeOptions) (*PurgeResult, error) {
	if len(o.Filters) == 0 {
		return nil, badPurge("give at least one filter repoRegex:tagRegex")
	}
	if o.Concurrency < 0 || o.Concurrency > 32 {
		return nil, badPurge("--concurrency must be between 1 and 32")
	}
	timeout := time.Duration(o.FilterTimeout) * time.Second
	if timeout <= 0 {
		timeout = time.Minute
	}
	var filters []purgeFilter
	for _, f := range o.Filters {
		pf, err := parsePurgeFilter(f, timeout)
		if err != nil {
			return nil, err
		}
		filters = append(filters, pf)
	}
	ago, err := ParseAgo(o.Ago)
	if err != nil {
		return nil, badPurge("--ago: %v", err)
	}
	notPulled, err := ParseAgo(o.NotPulledFor)
	if err != nil {
		return nil, badPurge("--not-pulled-for: %v", err)
	}
	if o.Keep < 0 {
		return nil, badPurge("--keep must not be negative")
	}
	o.Concurrency = max(o.Concurrency, 1)
	now := time.Now().UTC()
	// Each match has the timeout; it also bounds how long matching a huge
	// registry may take.
	mctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var repos []repoTags
	last := ""
	for {
		page, err := s.core.Catalog(mctx, reg, meta.Page{Last: last, N: 1000})
		if err != nil {
			if mctx.Err() != nil {
				return nil, badPurge("the filters took longer than %s: narrow them", timeout)
			}
			return nil, err
		}
		for _, name := range page {
			tagRes, err := matchingTags(filters, name)
			if err != nil {
				return nil, badPurge("%v", err)
			}
			if len(tagRes) > 0 {
				repos = append(repos, repoTags{name, tagRes})
			}
		}
		if len(page) < 1000 {
			break
		}
		last = page[len(page)-1]
	}
	res := &PurgeResult{DryRun: o.DryRun, Tags: []Deletion{}, Manifests: []Deletion{}}
	var mu sync.Mutex
	sem := make(chan struct{}, o.Concurrency)
	var wg sync.WaitGroup
	var firstErr error
	for _, rt := range repos {
		name, tagRes := rt.name, rt.tags
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			tags, mans, err := s.purgeRepo(ctx, registry.Repo{Registry: reg, Name: name}, tagRes, o, now.Add(-ago), now.Add(-notPulled), notPulled > 0)
			mu.Lock()
			defer mu.Unlock()
			res.Tags = append(res.Tags, tags...)
			res.Manifests = append(res.Manifests, mans...)
			if err != nil && firstErr == nil {
				firstErr = err
			}
		}()
	}
	wg.Wait()
	return res, firstErr
}

// purgeRepo plans one repository's purge and, unless dry, carries it out.
func (s *Service) purgeRepo(ctx context.Context, r registry.Repo, tagRes []*regexp2.Regexp, o PurgeOptions, before, pulledBefore time.Time, byPull bool) ([]Deletion, []Deletion, error) {
	q := s.meta.Read()
	repo, err := q.GetRepository(ctx, r.Registry.ID, r.Name)
	if err != nil {
		return nil, nil, notFoundNil(err)
	}
	var tags []meta.Tag
	lq := meta.ListQuery{N: 1000, Order: meta.OrderTimeDesc, Hidden: true}
	for {
		page, err := q.ListTagDetails(ctx, repo.ID, lq)
		if err != nil {
			return nil, nil, err
		}
		tags = append(tags, page...)
		if len(page) < lq.N {
			break
		}
		lq.Last = page[len(page)-1].Name
	}
	// Tags that would go, newest first; the newest Keep of them stay.
	var doomed []meta.Tag
	for _, t := range tags {
		if !t.UpdatedAt.Before(before) || (byPull && !lastUse(t.LastPulledAt, t.CreatedAt).Before(pulledBefore)) {
			continue
		}
		for _, re := range tagRes {
			ok, err := match(re, t.Name)
			if err != nil {
				return nil, nil, badPurge("%v", err)
			}
			if ok {
				doomed = append(doomed, t)
				break
			}
		}
	}
	if len(doomed) > o.Keep {
		doomed = doomed[o.Keep:]
	} else {
		doomed = nil
	}
	var delTags []Deletion
	gone := map[string]bool{}
	for _, t := range doomed {
		if !o.IncludeLocked && registry.CheckDelete(repo, "tag", t.Attributes) != nil {
			continue
		}
		gone[t.Name] = true
		delTags = append(delTags, Deletion{Repository: r.Name, Tag: t.Name, Digest: t.Digest.String(), Reason: "purge"})
	}
	var delMans []Deletion
	if o.Untagged {
		lq := meta.ListQuery{N: 1000, Hidden: true}
		for {
			ms, err := q.ListManifests(ctx, repo.ID, lq)
			if err != nil {
				return nil, nil, err
			}
			for i := range ms {
				m := &ms[i]
				if !m.UpdatedAt.Before(before) {
					continue
				}
				left, err := q.TagsOf(ctx, m.ID)
				if err != nil {
					return nil, nil, err
				}
				kept := false
				for _, t := range left {
					kept = kept || !gone[t.Name]
				}
				if kept {
					continue
				}
				if ref, err := q.ReferencedBy(ctx, repo.ID, m.Digest); err != nil || ref {
					if err != nil {
						return nil, nil, err
					}
					continue
				}
				// A referrer goes with its subject (deleting which deletes it), never before.
				if keep, err := registry.SubjectPresent(ctx, q, m); err != nil || keep {
					if err != nil {
						return nil, nil, err
					}
					continue
				}
				if !o.IncludeLocked && registry.CheckDelete(repo, "manifest", m.Attributes) != nil {
					continue
				}
				delMans = append(delMans, Deletion{Repository: r.Name, Digest: m.Digest.String(), Reason: "purge: untagged"})
			}
			if len(ms) < lq.N {
				break
			}
			lq.Last = ms[len(ms)-1].Digest.String()
		}
	}
	if o.DryRun {
		return delTags, delMans, nil
	}
	return delTags, delMans, s.applyPurge(ctx, r, delTags, delMans, o.IncludeLocked)
}

func lastUse(pulled, created time.Time) time.Time {
	if pulled.After(created) {
		return pulled
	}
	return created
}

// applyPurge deletes what a plan lists, unlocking first when asked.
func (s *Service) applyPurge(ctx context.Context, r registry.Repo, tags, mans []Deletion, unlock bool) error {
	yes := true
	open := registry.AttributesPatch{DeleteEnabled: &yes, WriteEnabled: &yes}
	if unlock && (len(tags) > 0 || len(mans) > 0) {
		if _, err := s.core.UpdateRepository(ctx, r, open); err != nil {
			return err
		}
	}
	for _, t := range tags {
		if unlock {
			if _, err := s.core.UpdateTag(ctx, r, t.Tag, open); err != nil && errcode.CodeOf(err) != errcode.ManifestUnknown {
				return err
			}
		}
		if err := s.core.Untag(ctx, r, t.Tag); err != nil && errcode.CodeOf(err) != errcode.ManifestUnknown {
			return err
		}
		s.recordDeletion(ctx, r, t, "Untag", "purge")
	}
	for _, m := range mans {
		if unlock {
			if _, err := s.core.UpdateManifest(ctx, r, digestOf(m.Digest), open); err != nil && errcode.CodeOf(err) != errcode.ManifestUnknown {
				return err
			}
		}
		if err := s.core.DeleteManifest(ctx, r, m.Digest); errcode.CodeOf(err) == errcode.Denied {
			continue // a referrer of it is locked: purge skips locked content
		} else if err != nil && errcode.CodeOf(err) != errcode.ManifestUnknown {
			return err
		}
		s.recordDeletion(ctx, r, m, "Delete", "purge")
	}
	return nil
}

func (s *Service) recordDeletion(ctx context.Context, r registry.Repo, d Deletion, op, who string) {
	_ = s.meta.Tx(context.WithoutCancel(ctx), func(q Store) error {
		s.recordLifecycle(ctx, q, r.Registry.ID, d.Repository, d.Tag, digestOf(d.Digest), op, who, d.Reason)
		return nil
	})
}

// keepNewestTags applies retention's keep-newest-N rule: older tags go
// (their manifests then age out as untagged manifests).
func (s *Service) keepNewestTags(ctx context.Context, reg *meta.Registry, p *meta.RetentionPolicy) ([]Deletion, error) {
	filter := p.KeepFilter
	if filter == "" {
		filter = ".*"
	}
	res, err := s.Purge(ctx, reg, PurgeOptions{Filters: []string{".*:" + filter}, Keep: p.KeepTags, Concurrency: 4})
	if err != nil {
		return nil, err
	}
	for i := range res.Tags {
		res.Tags[i].Reason = fmt.Sprintf("retention: beyond the newest %d tags", p.KeepTags)
	}
	return res.Tags, nil
}

// purgeNotPulled applies retention's not-pulled rule to tagged images.
func (s *Service) purgeNotPulled(ctx context.Context, reg *meta.Registry, d time.Duration) ([]Deletion, error) {
	res, err := s.Purge(ctx, reg, PurgeOptions{Filters: []string{".*:.*"}, NotPulledFor: fmt.Sprintf("%dh", int(d.Hours())),
		Untagged: true, Concurrency: 4})
	if err != nil {
		return nil, err
	}
	return append(res.Tags, res.Manifests...), nil
}
