package tasks

import (
	"context"
	"errors"
	"time"

	"github.com/acre-project/acre/internal/meta"
)

// fireTimers queues a run of every enabled task whose next cron firing has
// come, moving the firing forward by compare-and-set in the same
// transaction, so that with several nodes each firing runs once.
func (s *Service) fireTimers(ctx context.Context) {
	tasks, err := s.o.Meta.Read().ListTasks(ctx, 0)
	if err != nil {
		return
	}
	now := time.Now().UTC()
	for i := range tasks {
		mt := &tasks[i]
		if !mt.Enabled || mt.NextTimerAt.IsZero() || mt.NextTimerAt.After(now) {
			continue
		}
		t, err := s.decodeTask(mt)
		if err != nil {
			continue
		}
		fired := false
		err = s.o.Meta.Tx(ctx, func(q Store) error {
			ok, err := q.SetTaskTimer(ctx, mt.ID, mt.NextTimerAt, t.Spec.nextTimer(now))
			if err != nil || !ok {
				return err
			}
			_, err = s.newRun(ctx, q, mt.RegistryID, mt.ID, mt.Name, "Timer", t.Spec.runSpec())
			fired = err == nil
			return err
		})
		if err != nil && ctx.Err() == nil {
			s.o.Log.Warn("timer trigger", "task", mt.Name, "err", err)
		}
		if fired {
			s.Kick()
		}
	}
}

// baseCursor names the base-image trigger's position in the event outbox.
const baseCursor = "base-image-events"

// baseImageEvents reads pushes from the event outbox and queues a run of
// every task with a base-image trigger whose last run used the pushed tag
// at another digest. The cursor moves by compare-and-set in the same
// transaction as the runs it queues: each push triggers once.
func (s *Service) baseImageEvents(ctx context.Context) {
	cur, err := s.o.Meta.Read().TaskCursor(ctx, baseCursor)
	if errors.Is(err, meta.ErrNotFound) {
		// First start: triggers follow pushes from now on.
		_ = s.o.Meta.Tx(ctx, func(q Store) error {
			max, err := q.MaxEventID(ctx)
			if err != nil {
				return err
			}
			_, err = q.SetTaskCursor(ctx, baseCursor, 0, max)
			return err
		})
		return
	}
	if err != nil {
		return
	}
	events, err := s.o.Meta.Read().ListEvents(ctx, cur, 200)
	if err != nil || len(events) == 0 {
		return
	}
	regs := map[int64]*meta.Registry{}
	queued := 0
	err = s.o.Meta.Tx(ctx, func(q Store) error {
		queued = 0
		for _, e := range events {
			if e.Action != "push" || e.Tag == "" {
				continue
			}
			reg := regs[e.RegistryID]
			if reg == nil {
				if reg, err = s.registryByID(ctx, e.RegistryID); err != nil {
					continue
				}
				regs[e.RegistryID] = reg
			}
			ref := s.o.RegistryHost(reg) + "/" + e.Repository + ":" + e.Tag
			bases, err := q.TasksWithBase(ctx, ref)
			if err != nil {
				return err
			}
			for _, b := range bases {
				if b.Digest == e.Digest.String() {
					continue
				}
				mt, err := q.GetTaskByID(ctx, b.TaskID)
				if err != nil {
					continue
				}
				t, err := s.decodeTask(mt)
				if err != nil || !t.Spec.Enabled || !t.Spec.BaseImageTrigger {
					continue
				}
				if _, err := s.newRun(ctx, q, mt.RegistryID, mt.ID, mt.Name, "Image Update", t.Spec.runSpec()); err != nil {
					return err
				}
				queued++
			}
		}
		ok, err := q.SetTaskCursor(ctx, baseCursor, cur, events[len(events)-1].ID)
		if err == nil && !ok {
			return errCursorMoved
		}
		return err
	})
	if err != nil && !errors.Is(err, errCursorMoved) && ctx.Err() == nil {
		s.o.Log.Warn("base image trigger", "err", err)
	}
	if err == nil && queued > 0 {
		s.Kick()
	}
}

var errCursorMoved = errors.New("another node moved the cursor")
