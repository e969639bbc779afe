package sqlstore

import (
	"context"
	"errors"
	"time"

	"github.com/acre-project/acre/internal/meta"
	"github.com/opencontainers/go-digest"
)

func (q *queries) EnqueueGC(ctx context.Context, it meta.GCItem) error {
	_, err := q.db.ExecContext(ctx, `INSERT INTO gc_queue (kind, repository_id, digest, not_before) VALUES (?, ?, ?, ?)
		ON CONFLICT (kind, repository_id, digest) DO UPDATE SET not_before = `+q.d.greatest()+`(gc_queue.not_before, excluded.not_before)`,
		it.Kind, it.RepositoryID, it.Digest.String(), ns(it.NotBefore))
	return err
}

func (q *queries) DueGC(ctx context.Context, now time.Time, n int) ([]meta.GCItem, error) {
	rows, err := q.db.QueryContext(ctx, `SELECT kind, repository_id, digest, not_before FROM gc_queue WHERE not_before <= ?
		ORDER BY not_before LIMIT ?`, ns(now), n)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []meta.GCItem
	for rows.Next() {
		var it meta.GCItem
		var d string
		var nb int64
		if err := rows.Scan(&it.Kind, &it.RepositoryID, &d, &nb); err != nil {
			return nil, err
		}
		it.Digest, it.NotBefore = digest.Digest(d), fromNS(nb)
		out = append(out, it)
	}
	return out, rows.Err()
}

func (q *queries) DoneGC(ctx context.Context, it meta.GCItem) error {
	_, err := q.db.ExecContext(ctx, `DELETE FROM gc_queue WHERE kind = ? AND repository_id = ? AND digest = ? AND not_before <= ?`,
		it.Kind, it.RepositoryID, it.Digest.String(), ns(it.NotBefore))
	return err
}

func (q *queries) exists(ctx context.Context, query string, args ...any) (bool, error) {
	var one int
	err := q.db.QueryRowContext(ctx, query, args...).Scan(&one)
	if err := notFound(err); errors.Is(err, meta.ErrNotFound) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	return true, nil
}

// LinkReferenced is one probe of manifest_refs (digest, kind,
// repository_id): its cost follows neither the repository's size nor how
// many manifests elsewhere reference d.
func (q *queries) LinkReferenced(ctx context.Context, repositoryID int64, d digest.Digest) (bool, error) {
	return q.refExists(ctx, repositoryID, d, meta.RefBlob)
}

// refExists reports whether a manifest of the repository references d as kind.
func (q *queries) refExists(ctx context.Context, repositoryID int64, d digest.Digest, kind meta.RefKind) (bool, error) {
	return q.exists(ctx, `SELECT 1 FROM manifest_refs WHERE digest = ? AND kind = ? AND repository_id = ? LIMIT 1`,
		d.String(), int(kind), repositoryID)
}

func (q *queries) BlobLinked(ctx context.Context, d digest.Digest) (bool, error) {
	return q.exists(ctx, `SELECT 1 FROM blob_links WHERE digest = ? LIMIT 1`, d.String())
}

func (q *queries) GetBlob(ctx context.Context, d digest.Digest) (int64, time.Time, error) {
	var size, c int64
	err := q.db.QueryRowContext(ctx, `SELECT size, created_at FROM blobs WHERE digest = ?`, d.String()).Scan(&size, &c)
	return size, fromNS(c), notFound(err)
}

func (q *queries) DeleteBlob(ctx context.Context, d digest.Digest) error {
	res, err := q.db.ExecContext(ctx, `DELETE FROM blobs WHERE digest = ?`, d.String())
	return affected(res, err)
}

func (q *queries) ListLinks(ctx context.Context, repositoryID int64) ([]digest.Digest, error) {
	rows, err := q.db.QueryContext(ctx, `SELECT digest FROM blob_links WHERE repository_id = ? ORDER BY digest`, repositoryID)
	ss, err := scanStrings(rows, err)
	out := make([]digest.Digest, len(ss))
	for i, s := range ss {
		out[i] = digest.Digest(s)
	}
	return out, err
}

func (q *queries) StaleUploads(ctx context.Context, before time.Time, n int) ([]meta.Upload, error) {
	rows, err := q.db.QueryContext(ctx, `SELECT id, registry_id, repository, created_at FROM uploads WHERE created_at < ?
		ORDER BY created_at LIMIT ?`, ns(before), n)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []meta.Upload
	for rows.Next() {
		var u meta.Upload
		var c int64
		if err := rows.Scan(&u.ID, &u.RegistryID, &u.Repository, &c); err != nil {
			return nil, err
		}
		u.CreatedAt = fromNS(c)
		out = append(out, u)
	}
	return out, rows.Err()
}

func (q *queries) AddUsage(ctx context.Context, registryID, delta int64) error {
	_, err := q.db.ExecContext(ctx, `INSERT INTO registry_usage (registry_id, bytes) VALUES (?, ?)
		ON CONFLICT (registry_id) DO UPDATE SET bytes = registry_usage.bytes + excluded.bytes`, registryID, delta)
	return err
}

func (q *queries) Usage(ctx context.Context, registryID int64) (int64, error) {
	var n int64
	err := q.db.QueryRowContext(ctx, `SELECT COALESCE((SELECT bytes FROM registry_usage WHERE registry_id = ?), 0)`, registryID).Scan(&n)
	return n, err
}

func (q *queries) SetUntagged(ctx context.Context, manifestID int64, at time.Time) error {
	var v int64
	if !at.IsZero() {
		v = ns(at)
	}
	_, err := q.db.ExecContext(ctx, `UPDATE manifests SET untagged_at = ? WHERE id = ?`, v, manifestID)
	return err
}

func (q *queries) UntaggedBefore(ctx context.Context, registryID int64, from, to time.Time, n int) ([]meta.Manifest, error) {
	rows, err := q.db.QueryContext(ctx, `SELECT `+prefixed("m.", manifestCols)+` FROM manifests m
		JOIN repositories r ON r.id = m.repository_id
		WHERE m.untagged_at > 0 AND m.untagged_at >= ? AND m.untagged_at < ? AND r.registry_id = ?
		ORDER BY m.untagged_at LIMIT ?`, ns(from), ns(to), registryID, n)
	return scanManifests(rows, err)
}

func (q *queries) RecordPulls(ctx context.Context, manifests map[int64]time.Time, tags map[meta.TagKey]time.Time) error {
	for id, at := range manifests {
		if _, err := q.db.ExecContext(ctx, `UPDATE manifests SET last_pulled_at = ? WHERE id = ? AND last_pulled_at < ?`,
			ns(at), id, ns(at)); err != nil {
			return err
		}
	}
	for k, at := range tags {
		if _, err := q.db.ExecContext(ctx, `UPDATE tags SET last_pulled_at = ? WHERE repository_id = ? AND name = ? AND last_pulled_at < ?`,
			ns(at), k.RepositoryID, k.Name, ns(at)); err != nil {
			return err
		}
	}
	return nil
}

func (q *queries) GetRetention(ctx context.Context, registryID int64) (*meta.RetentionPolicy, error) {
	p := meta.RetentionPolicy{RegistryID: registryID}
	var at int64
	err := q.db.QueryRowContext(ctx, `SELECT enabled, days, enabled_at, keep_tags, keep_filter, not_pulled_days
		FROM retention_policies WHERE registry_id = ?`, registryID).Scan(&p.Enabled, &p.Days, &at, &p.KeepTags, &p.KeepFilter, &p.NotPulledDays)
	if err != nil {
		return nil, notFound(err)
	}
	p.EnabledAt = fromNS(at)
	return &p, nil
}

func (q *queries) PutRetention(ctx context.Context, p *meta.RetentionPolicy) error {
	_, err := q.db.ExecContext(ctx, `INSERT INTO retention_policies (registry_id, enabled, days, enabled_at, keep_tags, keep_filter,
		not_pulled_days) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (registry_id) DO UPDATE SET enabled = excluded.enabled,
		days = excluded.days, enabled_at = excluded.enabled_at, keep_tags = excluded.keep_tags, keep_filter = excluded.keep_filter,
		not_pulled_days = excluded.not_pulled_days`, p.RegistryID, p.Enabled, p.Days, ns(p.EnabledAt), p.KeepTags, p.KeepFilter, p.NotPulledDays)
	return err
}

const scheduleCols = `id, registry_id, name, schedule, args, next_run_at, last_run_at, last_result, created_at`

func (q *queries) PutPurgeSchedule(ctx context.Context, s *meta.PurgeSchedule) error {
	return q.db.QueryRowContext(ctx, `INSERT INTO purge_schedules (registry_id, name, schedule, args, next_run_at, created_at)
		VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (registry_id, name) DO UPDATE SET schedule = excluded.schedule, args = excluded.args,
		next_run_at = excluded.next_run_at RETURNING id`, s.RegistryID, s.Name, s.Schedule, s.Args, ns(s.NextRunAt), ns(s.CreatedAt)).Scan(&s.ID)
}

func (q *queries) ListPurgeSchedules(ctx context.Context, registryID int64) ([]meta.PurgeSchedule, error) {
	rows, err := q.db.QueryContext(ctx, `SELECT `+scheduleCols+` FROM purge_schedules WHERE ? = 0 OR registry_id = ? ORDER BY name`,
		registryID, registryID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []meta.PurgeSchedule
	for rows.Next() {
		var s meta.PurgeSchedule
		var next, last, c int64
		if err := rows.Scan(&s.ID, &s.RegistryID, &s.Name, &s.Schedule, &s.Args, &next, &last, &s.LastResult, &c); err != nil {
			return nil, err
		}
		s.NextRunAt, s.LastRunAt, s.CreatedAt = fromNS(next), optTime(last), fromNS(c)
		out = append(out, s)
	}
	return out, rows.Err()
}

func (q *queries) DeletePurgeSchedule(ctx context.Context, registryID int64, name string) error {
	res, err := q.db.ExecContext(ctx, `DELETE FROM purge_schedules WHERE registry_id = ? AND name = ?`, registryID, name)
	return affected(res, err)
}

func (q *queries) LeasePurgeSchedule(ctx context.Context, id int64, now, until time.Time) (bool, error) {
	res, err := q.db.ExecContext(ctx, `UPDATE purge_schedules SET lease_until = ? WHERE id = ? AND lease_until < ? AND next_run_at <= ?`,
		ns(until), id, ns(now), ns(now))
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

func (q *queries) FinishPurgeSchedule(ctx context.Context, id int64, ranAt, next time.Time, result string) error {
	_, err := q.db.ExecContext(ctx, `UPDATE purge_schedules SET last_run_at = ?, next_run_at = ?, last_result = ?, lease_until = 0
		WHERE id = ?`, ns(ranAt), ns(next), result, id)
	return err
}

// prefixed qualifies each column of a comma-separated list.
func prefixed(p, cols string) string {
	out := ""
	for i, c := range splitCols(cols) {
		if i > 0 {
			out += ", "
		}
		out += p + c
	}
	return out
}

func splitCols(cols string) []string {
	var out []string
	cur := ""
	for _, r := range cols {
		switch r {
		case ',':
			out = append(out, cur)
			cur = ""
		case ' ', '\n', '\t':
		default:
			cur += string(r)
		}
	}
	return append(out, cur)
}

func (q *queries) RegistryOfRepository(ctx context.Context, repositoryID int64) (int64, error) {
	var id int64
	err := q.db.QueryRowContext(ctx, `SELECT registry_id FROM repositories WHERE id = ?`, repositoryID).Scan(&id)
	return id, notFound(err)
}

func (q *queries) RepositoryName(ctx context.Context, repositoryID int64) (string, error) {
	var n string
	err := q.db.QueryRowContext(ctx, `SELECT name FROM repositories WHERE id = ?`, repositoryID).Scan(&n)
	return n, notFound(err)
}

func (q *queries) Tombstoned(ctx context.Context, d digest.Digest) (bool, error) {
	return q.exists(ctx, `SELECT 1 FROM gc_queue WHERE kind = 2 AND repository_id = 0 AND digest = ?`, d.String())
}
