package sqlstore

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/acre-project/acre/internal/meta"
)

func (q *queries) PutScopeMap(ctx context.Context, m *meta.ScopeMap) error {
	b, err := json.Marshal(m.Actions)
	if err != nil {
		return err
	}
	_, err = q.db.ExecContext(ctx, `INSERT INTO scope_maps (registry_id, name, description, actions, created_at)
		VALUES (?, ?, ?, ?, ?) ON CONFLICT (registry_id, name) DO UPDATE SET description = excluded.description,
		actions = excluded.actions`, m.RegistryID, m.Name, m.Description, string(b), ns(m.CreatedAt))
	return err
}

func scanScopeMap(sc interface{ Scan(...any) error }) (*meta.ScopeMap, error) {
	var m meta.ScopeMap
	var actions string
	var c int64
	if err := sc.Scan(&m.RegistryID, &m.Name, &m.Description, &actions, &c); err != nil {
		return nil, notFound(err)
	}
	m.CreatedAt = fromNS(c)
	return &m, json.Unmarshal([]byte(actions), &m.Actions)
}

func (q *queries) GetScopeMap(ctx context.Context, registryID int64, name string) (*meta.ScopeMap, error) {
	return scanScopeMap(q.db.QueryRowContext(ctx, `SELECT registry_id, name, description, actions, created_at
		FROM scope_maps WHERE registry_id = ? AND name = ?`, registryID, name))
}

func (q *queries) ListScopeMaps(ctx context.Context, registryID int64) ([]meta.ScopeMap, error) {
	rows, err := q.db.QueryContext(ctx, `SELECT registry_id, name, description, actions, created_at
		FROM scope_maps WHERE registry_id = ? ORDER BY name`, registryID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []meta.ScopeMap
	for rows.Next() {
		m, err := scanScopeMap(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *m)
	}
	return out, rows.Err()
}

func (q *queries) DeleteScopeMap(ctx context.Context, registryID int64, name string) error {
	res, err := q.db.ExecContext(ctx, `DELETE FROM scope_maps WHERE registry_id = ? AND name = ?`, registryID, name)
	return affected(res, err)
}

func (q *queries) AddSigningKey(ctx context.Context, k *meta.SigningKey) error {
	_, err := q.db.ExecContext(ctx, `INSERT INTO signing_keys (id, private_key, created_at) VALUES (?, ?, ?)`,
		k.ID, k.PrivateKey, ns(k.CreatedAt))
	return err
}

func (q *queries) ListSigningKeys(ctx context.Context) ([]meta.SigningKey, error) {
	rows, err := q.db.QueryContext(ctx, `SELECT id, private_key, created_at, retired_at FROM signing_keys ORDER BY created_at`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []meta.SigningKey
	for rows.Next() {
		var k meta.SigningKey
		var c, r int64
		if err := rows.Scan(&k.ID, &k.PrivateKey, &c, &r); err != nil {
			return nil, err
		}
		k.CreatedAt = fromNS(c)
		if r != 0 {
			k.RetiredAt = fromNS(r)
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

func (q *queries) RetireSigningKeys(ctx context.Context, before, at time.Time) error {
	_, err := q.db.ExecContext(ctx, `UPDATE signing_keys SET retired_at = ? WHERE retired_at = 0 AND created_at < ?`, ns(at), ns(before))
	return err
}

func (q *queries) DeleteSigningKeys(ctx context.Context, retiredBefore time.Time) error {
	_, err := q.db.ExecContext(ctx, `DELETE FROM signing_keys WHERE retired_at != 0 AND retired_at < ?`, ns(retiredBefore))
	return err
}

const auditCols = `at, registry_id, category, operation, identity, repository, tag, digest, media_type, size,
	caller_ip, user_agent, result, duration_ms, principal_kind, principal_id, attempts`

// auditArgs are an entry's values in auditCols' order, bounded.
func auditArgs(e meta.AuditEntry) []any {
	e = e.Bounded()
	return []any{ns(e.At), e.RegistryID, e.Category, e.Operation, e.Identity, e.Repository, e.Tag, e.Digest, e.MediaType,
		e.Size, e.CallerIP, e.UserAgent, e.Result, e.DurationMS, e.PrincipalKind, e.PrincipalID, e.Attempts}
}

const auditRow = `(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

func (q *queries) AppendAudit(ctx context.Context, e *meta.AuditEntry) error {
	return q.db.QueryRowContext(ctx, `INSERT INTO audit_log (`+auditCols+`) VALUES `+auditRow+` RETURNING id`,
		auditArgs(*e)...).Scan(&e.ID)
}

func (q *queries) ListAudit(ctx context.Context, registryID int64, after int64, n int) ([]meta.AuditEntry, error) {
	rows, err := q.db.QueryContext(ctx, `SELECT id, `+auditCols+` FROM audit_log WHERE (? = 0 OR registry_id = ?) AND id > ?
		ORDER BY id LIMIT ?`, registryID, registryID, after, n)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []meta.AuditEntry
	for rows.Next() {
		var e meta.AuditEntry
		var at int64
		if err := rows.Scan(&e.ID, &at, &e.RegistryID, &e.Category, &e.Operation, &e.Identity, &e.Repository, &e.Tag,
			&e.Digest, &e.MediaType, &e.Size, &e.CallerIP, &e.UserAgent, &e.Result, &e.DurationMS, &e.PrincipalKind,
			&e.PrincipalID, &e.Attempts); err != nil {
			return nil, err
		}
		e.At = fromNS(at)
		out = append(out, e)
	}
	return out, rows.Err()
}

func (q *queries) DeleteAuditBefore(ctx context.Context, before time.Time) error {
	_, err := q.db.ExecContext(ctx, `DELETE FROM audit_log WHERE at < ?`, ns(before))
	return err
}

// auditBatchRows is how many entries one INSERT writes.
const auditBatchRows = 50

func (q *queries) AppendAuditBatch(ctx context.Context, es []meta.AuditEntry) error {
	for len(es) > 0 {
		n := min(len(es), auditBatchRows)
		query := `INSERT INTO audit_log (` + auditCols + `) VALUES ` + strings.TrimSuffix(strings.Repeat(auditRow+", ", n), ", ")
		args := make([]any, 0, n*17)
		for _, e := range es[:n] {
			args = append(args, auditArgs(e)...)
		}
		if _, err := q.db.ExecContext(ctx, query, args...); err != nil {
			return err
		}
		es = es[n:]
	}
	return nil
}
