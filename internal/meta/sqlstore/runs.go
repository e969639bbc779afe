package sqlstore

import (
	"context"
	"time"

	"github.com/acre-project/acre/internal/meta"
)

const runCols = `id, registry_id, task_id, task_name, run_trigger, spec, source, state, reason, output, log_digest, node,
	lease_until, cancel, created_at, started_at, finished_at`

func scanRun(sc interface{ Scan(...any) error }) (*meta.Run, error) {
	var r meta.Run
	var lease, c, s, f int64
	if err := sc.Scan(&r.ID, &r.RegistryID, &r.TaskID, &r.TaskName, &r.Trigger, &r.Spec, &r.Source, &r.State, &r.Reason,
		&r.Output, &r.LogDigest, &r.Node, &lease, &r.Cancel, &c, &s, &f); err != nil {
		return nil, notFound(err)
	}
	r.LeaseUntil, r.CreatedAt, r.StartedAt, r.FinishedAt = fromNSOrZero(lease), fromNS(c), fromNSOrZero(s), fromNSOrZero(f)
	return &r, nil
}

func scanRuns(rows interface {
	Next() bool
	Scan(...any) error
	Err() error
	Close() error
}, err error) ([]meta.Run, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []meta.Run
	for rows.Next() {
		r, err := scanRun(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *r)
	}
	return out, rows.Err()
}

func (q *queries) CreateRun(ctx context.Context, r *meta.Run) error {
	return q.db.QueryRowContext(ctx, `INSERT INTO task_runs (registry_id, task_id, task_name, run_trigger, spec, source, state,
		created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`, r.RegistryID, r.TaskID, r.TaskName, r.Trigger, r.Spec, r.Source,
		r.State, ns(r.CreatedAt)).Scan(&r.ID)
}

func (q *queries) GetRun(ctx context.Context, id int64) (*meta.Run, error) {
	return scanRun(q.db.QueryRowContext(ctx, `SELECT `+runCols+` FROM task_runs WHERE id = ?`, id))
}

func (q *queries) ListRuns(ctx context.Context, registryID int64, taskName string, before int64, n int) ([]meta.Run, error) {
	if before <= 0 {
		before = 1 << 62
	}
	return scanRuns(q.db.QueryContext(ctx, `SELECT `+runCols+` FROM task_runs WHERE registry_id = ? AND id < ?
		AND (? = '' OR task_name = ?) ORDER BY id DESC LIMIT ?`, registryID, before, taskName, taskName, n))
}

func (q *queries) ClaimRun(ctx context.Context, owner string, now, until time.Time) (*meta.Run, error) {
	var id int64
	err := q.db.QueryRowContext(ctx, `SELECT id FROM task_runs WHERE state = ? ORDER BY id LIMIT 1`, meta.RunQueued).Scan(&id)
	if err != nil {
		return nil, notFound(err)
	}
	res, err := q.db.ExecContext(ctx, `UPDATE task_runs SET state = ?, node = ?, lease_until = ?, started_at = ? WHERE id = ? AND state = ?`,
		meta.RunRunning, owner, ns(until), ns(now), id, meta.RunQueued)
	if err := affected(res, err); err != nil {
		return nil, err
	}
	return q.GetRun(ctx, id)
}

func (q *queries) RenewRun(ctx context.Context, id int64, owner string, until time.Time) (bool, error) {
	res, err := q.db.ExecContext(ctx, `UPDATE task_runs SET lease_until = ? WHERE id = ? AND node = ? AND state = ?`,
		ns(until), id, owner, meta.RunRunning)
	if err := affected(res, err); err != nil {
		return false, err
	}
	var cancel bool
	err = q.db.QueryRowContext(ctx, `SELECT cancel FROM task_runs WHERE id = ?`, id).Scan(&cancel)
	return cancel, err
}

func (q *queries) FinishRun(ctx context.Context, r *meta.Run) error {
	res, err := q.db.ExecContext(ctx, `UPDATE task_runs SET state = ?, reason = ?, output = ?, log_digest = ?, finished_at = ?,
		spec = ?, lease_until = 0 WHERE id = ?`, r.State, r.Reason, r.Output, r.LogDigest, ns(r.FinishedAt), r.Spec, r.ID)
	return affected(res, err)
}

func (q *queries) StaleRuns(ctx context.Context, now time.Time) ([]meta.Run, error) {
	return scanRuns(q.db.QueryContext(ctx, `SELECT `+runCols+` FROM task_runs WHERE state = ? AND lease_until < ? ORDER BY id`,
		meta.RunRunning, ns(now)))
}

func (q *queries) RequestCancel(ctx context.Context, id int64, reason string, at time.Time) error {
	res, err := q.db.ExecContext(ctx, `UPDATE task_runs SET state = ?, reason = ?, finished_at = ? WHERE id = ? AND state = ?`,
		meta.RunCanceled, reason, ns(at), id, meta.RunQueued)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n == 1 {
		return err
	}
	res, err = q.db.ExecContext(ctx, `UPDATE task_runs SET cancel = ?, reason = ? WHERE id = ?`, true, reason, id)
	return affected(res, err)
}

func (q *queries) RunsFinishedBefore(ctx context.Context, t time.Time, n int) ([]meta.Run, error) {
	return scanRuns(q.db.QueryContext(ctx, `SELECT `+runCols+` FROM task_runs WHERE finished_at > 0 AND finished_at < ?
		ORDER BY finished_at LIMIT ?`, ns(t), n))
}

func (q *queries) DeleteRun(ctx context.Context, id int64) error {
	if _, err := q.db.ExecContext(ctx, `DELETE FROM task_run_logs WHERE run_id = ?`, id); err != nil {
		return err
	}
	res, err := q.db.ExecContext(ctx, `DELETE FROM task_runs WHERE id = ?`, id)
	return affected(res, err)
}

func (q *queries) RunsUsingBlob(ctx context.Context, digest string) (int, error) {
	var n int
	err := q.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM task_runs WHERE source = ? OR log_digest = ?`, digest, digest).Scan(&n)
	return n, err
}

func (q *queries) AppendRunLog(ctx context.Context, runID, seq int64, data []byte) error {
	_, err := q.db.ExecContext(ctx, `INSERT INTO task_run_logs (run_id, seq, data) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`,
		runID, seq, data)
	return err
}

func (q *queries) RunLog(ctx context.Context, runID, after int64) ([]meta.RunLogChunk, error) {
	rows, err := q.db.QueryContext(ctx, `SELECT seq, data FROM task_run_logs WHERE run_id = ? AND seq > ? ORDER BY seq LIMIT 1000`,
		runID, after)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []meta.RunLogChunk
	for rows.Next() {
		var c meta.RunLogChunk
		if err := rows.Scan(&c.Seq, &c.Data); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

func (q *queries) DeleteRunLog(ctx context.Context, runID int64) error {
	_, err := q.db.ExecContext(ctx, `DELETE FROM task_run_logs WHERE run_id = ?`, runID)
	return err
}
