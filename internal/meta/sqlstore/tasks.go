package sqlstore

import (
	"context"
	"time"

	"github.com/acre-project/acre/internal/meta"
	"github.com/opencontainers/go-digest"
)

const taskCols = `id, registry_id, name, spec, enabled, next_timer_at, created_at, updated_at`

// nsOrZero keeps the zero time as 0 (not the Unix epoch's nanoseconds).
func nsOrZero(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromNSOrZero(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return fromNS(v)
}

func scanTask(sc interface{ Scan(...any) error }) (*meta.Task, error) {
	var t meta.Task
	var next, c, u int64
	if err := sc.Scan(&t.ID, &t.RegistryID, &t.Name, &t.Spec, &t.Enabled, &next, &c, &u); err != nil {
		return nil, notFound(err)
	}
	t.NextTimerAt, t.CreatedAt, t.UpdatedAt = fromNSOrZero(next), fromNS(c), fromNS(u)
	return &t, nil
}

func (q *queries) PutTask(ctx context.Context, t *meta.Task) error {
	if t.ID == 0 {
		err := q.db.QueryRowContext(ctx, `INSERT INTO tasks (registry_id, name, spec, enabled, next_timer_at, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`, t.RegistryID, t.Name, t.Spec, t.Enabled, nsOrZero(t.NextTimerAt),
			ns(t.CreatedAt), ns(t.UpdatedAt)).Scan(&t.ID)
		if isUnique(err) {
			return meta.ErrConflict
		}
		return err
	}
	res, err := q.db.ExecContext(ctx, `UPDATE tasks SET spec = ?, enabled = ?, next_timer_at = ?, updated_at = ? WHERE id = ?`,
		t.Spec, t.Enabled, nsOrZero(t.NextTimerAt), ns(t.UpdatedAt), t.ID)
	return affected(res, err)
}

func (q *queries) GetTask(ctx context.Context, registryID int64, name string) (*meta.Task, error) {
	return scanTask(q.db.QueryRowContext(ctx, `SELECT `+taskCols+` FROM tasks WHERE registry_id = ? AND name = ?`, registryID, name))
}

func (q *queries) GetTaskByID(ctx context.Context, id int64) (*meta.Task, error) {
	return scanTask(q.db.QueryRowContext(ctx, `SELECT `+taskCols+` FROM tasks WHERE id = ?`, id))
}

func (q *queries) ListTasks(ctx context.Context, registryID int64) ([]meta.Task, error) {
	rows, err := q.db.QueryContext(ctx, `SELECT `+taskCols+` FROM tasks WHERE ? = 0 OR registry_id = ? ORDER BY registry_id, name`,
		registryID, registryID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []meta.Task
	for rows.Next() {
		t, err := scanTask(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *t)
	}
	return out, rows.Err()
}

func (q *queries) DeleteTask(ctx context.Context, id int64) error {
	res, err := q.db.ExecContext(ctx, `DELETE FROM tasks WHERE id = ?`, id)
	return affected(res, err)
}

func (q *queries) SetTaskTimer(ctx context.Context, id int64, was, next time.Time) (bool, error) {
	res, err := q.db.ExecContext(ctx, `UPDATE tasks SET next_timer_at = ? WHERE id = ? AND next_timer_at = ?`,
		nsOrZero(next), id, nsOrZero(was))
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

func (q *queries) SetTaskBases(ctx context.Context, taskID int64, bases []meta.TaskBase) error {
	if _, err := q.db.ExecContext(ctx, `DELETE FROM task_bases WHERE task_id = ?`, taskID); err != nil {
		return err
	}
	for _, b := range bases {
		if _, err := q.db.ExecContext(ctx, `INSERT INTO task_bases (task_id, ref, digest) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`,
			taskID, b.Ref, b.Digest); err != nil {
			return err
		}
	}
	return nil
}

func (q *queries) TasksWithBase(ctx context.Context, ref string) ([]meta.TaskBase, error) {
	return q.taskBases(ctx, `SELECT task_id, ref, digest FROM task_bases WHERE ref = ? ORDER BY task_id`, ref)
}

func (q *queries) taskBases(ctx context.Context, query string, args ...any) ([]meta.TaskBase, error) {
	rows, err := q.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []meta.TaskBase
	for rows.Next() {
		var b meta.TaskBase
		if err := rows.Scan(&b.TaskID, &b.Ref, &b.Digest); err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, rows.Err()
}

func (q *queries) ListTaskBases(ctx context.Context) ([]meta.TaskBase, error) {
	return q.taskBases(ctx, `SELECT task_id, ref, digest FROM task_bases ORDER BY task_id, ref`)
}

func (q *queries) MoveTaskBase(ctx context.Context, taskID int64, ref, was, now string) (bool, error) {
	res, err := q.db.ExecContext(ctx, `UPDATE task_bases SET digest = ? WHERE task_id = ? AND ref = ? AND digest = ?`,
		now, taskID, ref, was)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

func (q *queries) TaskCursor(ctx context.Context, name string) (int64, error) {
	var v int64
	err := q.db.QueryRowContext(ctx, `SELECT value FROM task_cursors WHERE name = ?`, name).Scan(&v)
	if err != nil {
		return 0, notFound(err)
	}
	return v, nil
}

func (q *queries) SetTaskCursor(ctx context.Context, name string, was, now int64) (bool, error) {
	res, err := q.db.ExecContext(ctx, `INSERT INTO task_cursors (name, value) VALUES (?, ?)
		ON CONFLICT (name) DO UPDATE SET value = excluded.value WHERE task_cursors.value = ?`, name, now, was)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

func (q *queries) RecordSource(ctx context.Context, registryID int64, d digest.Digest, at time.Time) error {
	_, err := q.db.ExecContext(ctx, `INSERT INTO task_sources (registry_id, digest, created_at) VALUES (?, ?, ?)
		ON CONFLICT (registry_id, digest) DO NOTHING`, registryID, d.String(), ns(at))
	return err
}

func (q *queries) SourceRecorded(ctx context.Context, registryID int64, d digest.Digest) (bool, error) {
	return q.exists(ctx, `SELECT 1 FROM task_sources WHERE registry_id = ? AND digest = ?`, registryID, d.String())
}
