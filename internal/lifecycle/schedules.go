package lifecycle

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/acre-project/acre/internal/cron"
	"github.com/acre-project/acre/internal/errcode"
	"github.com/acre-project/acre/internal/meta"
	"github.com/acre-project/acre/internal/registry"
)

// PurgeSchedule is a purge the server runs on a cron schedule.
type PurgeSchedule struct {
	Name       string       `json:"name"`
	Schedule   string       `json:"schedule"`
	Options    PurgeOptions `json:"options"`
	NextRun    time.Time    `json:"nextRunTime"`
	LastRun    time.Time    `json:"lastRunTime,omitzero"`
	LastResult string       `json:"lastResult,omitempty"`
}

func viewSchedule(m meta.PurgeSchedule) PurgeSchedule {
	out := PurgeSchedule{Name: m.Name, Schedule: m.Schedule, NextRun: m.NextRunAt, LastRun: m.LastRunAt, LastResult: m.LastResult}
	_ = json.Unmarshal(m.Args, &out.Options)
	return out
}

// PutPurgeSchedule creates or replaces a scheduled purge.
func (s *Service) PutPurgeSchedule(ctx context.Context, reg *meta.Registry, name, spec string, o PurgeOptions) (PurgeSchedule, error) {
	if !registry.ValidRegistryName(name) && !tokenLike(name) {
		return PurgeSchedule{}, badPurge("schedule name %q: letters, digits and dashes", name)
	}
	sch, err := cron.Parse(spec)
	if err != nil {
		return PurgeSchedule{}, badPurge("%v", err)
	}
	// Validate the options as a dry run would, without touching anything.
	check := o
	check.DryRun = true
	if _, err := ParseAgo(check.Ago); err != nil {
		return PurgeSchedule{}, badPurge("--ago: %v", err)
	}
	if len(o.Filters) == 0 {
		return PurgeSchedule{}, badPurge("give at least one filter repoRegex:tagRegex")
	}
	o.DryRun = false
	args, _ := json.Marshal(o)
	now := time.Now().UTC()
	m := meta.PurgeSchedule{RegistryID: reg.ID, Name: name, Schedule: spec, Args: args, NextRunAt: sch.Next(now), CreatedAt: now}
	if err := s.meta.Tx(ctx, func(q Store) error { return q.PutPurgeSchedule(ctx, &m) }); err != nil {
		return PurgeSchedule{}, err
	}
	return viewSchedule(m), nil
}

func tokenLike(s string) bool {
	if len(s) < 2 || len(s) > 50 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// PurgeSchedules lists a registry's scheduled purges.
func (s *Service) PurgeSchedules(ctx context.Context, reg *meta.Registry) ([]PurgeSchedule, error) {
	ms, err := s.meta.Read().ListPurgeSchedules(ctx, reg.ID)
	out := []PurgeSchedule{}
	for _, m := range ms {
		out = append(out, viewSchedule(m))
	}
	return out, err
}

// DeletePurgeSchedule removes a scheduled purge.
func (s *Service) DeletePurgeSchedule(ctx context.Context, reg *meta.Registry, name string) error {
	err := s.meta.Tx(ctx, func(q Store) error { return q.DeletePurgeSchedule(ctx, reg.ID, name) })
	if errors.Is(err, meta.ErrNotFound) {
		return errcode.Errorf(errcode.NameUnknown, "no purge schedule named %q", name)
	}
	return err
}

// RunDueSchedules runs every scheduled purge that is due. Each is leased
// first, so that with several nodes only one runs it; a node that dies
// mid-run loses its lease when it expires and another runs it.
func (s *Service) RunDueSchedules(ctx context.Context) error {
	all, err := s.meta.Read().ListPurgeSchedules(ctx, 0)
	if err != nil {
		return err
	}
	now := time.Now().UTC()
	for _, m := range all {
		if m.NextRunAt.After(now) {
			continue
		}
		var ok bool
		if err := s.meta.Tx(ctx, func(q Store) (err error) {
			ok, err = q.LeasePurgeSchedule(ctx, m.ID, now, now.Add(time.Hour))
			return err
		}); err != nil || !ok {
			continue
		}
		v := viewSchedule(m)
		result := "ok"
		reg, err := s.registryByID(ctx, m.RegistryID)
		if err == nil {
			var res *PurgeResult
			if res, err = s.Purge(ctx, reg, v.Options); err == nil {
				result = fmt.Sprintf("deleted %d tags and %d manifests", len(res.Tags), len(res.Manifests))
			}
		}
		if err != nil {
			result = "failed: " + err.Error()
		}
		next := now.Add(time.Hour)
		if sch, err := cron.Parse(m.Schedule); err == nil {
			next = sch.Next(now)
		}
		if err := s.meta.Tx(context.WithoutCancel(ctx), func(q Store) error {
			return q.FinishPurgeSchedule(ctx, m.ID, now, next, result)
		}); err != nil {
			return err
		}
		s.log.Info("scheduled purge", "registry", m.RegistryID, "name", m.Name, "result", result)
	}
	return nil
}
