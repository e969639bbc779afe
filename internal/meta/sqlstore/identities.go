package sqlstore

import (
	"context"
	"strings"

	"github.com/acre-project/acre/internal/meta"
	"github.com/google/uuid"
)

const principalCols = `id, uid, kind, name, registry_id, scope_map, enabled, token_gen, grant_gen, created_at`

func scanPrincipal(sc interface{ Scan(...any) error }) (*meta.Principal, error) {
	var p meta.Principal
	var c int64
	if err := sc.Scan(&p.ID, &p.UID, &p.Kind, &p.Name, &p.RegistryID, &p.ScopeMap, &p.Enabled, &p.TokenGen, &p.GrantGen, &c); err != nil {
		return nil, notFound(err)
	}
	p.CreatedAt = fromNS(c)
	return &p, nil
}

func (q *queries) CreatePrincipal(ctx context.Context, p *meta.Principal) error {
	p.UID = strings.ReplaceAll(uuid.NewString(), "-", "")
	p.TokenGen, p.GrantGen = 0, 0
	err := q.db.QueryRowContext(ctx, `INSERT INTO principals (uid, kind, name, registry_id, scope_map, enabled, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`, p.UID, p.Kind, p.Name, p.RegistryID, p.ScopeMap, p.Enabled, ns(p.CreatedAt)).Scan(&p.ID)
	if isUnique(err) {
		return meta.ErrConflict
	}
	return err
}

func (q *queries) PrincipalByName(ctx context.Context, registryID int64, name string) (*meta.Principal, error) {
	return scanPrincipal(q.db.QueryRowContext(ctx, `SELECT `+principalCols+` FROM principals
		WHERE name = ? AND registry_id IN (?, 0) ORDER BY registry_id DESC LIMIT 1`, name, registryID))
}

func (q *queries) GetPrincipal(ctx context.Context, id int64) (*meta.Principal, error) {
	return scanPrincipal(q.db.QueryRowContext(ctx, `SELECT `+principalCols+` FROM principals WHERE id = ?`, id))
}

func (q *queries) PrincipalByUID(ctx context.Context, uid string) (*meta.Principal, error) {
	return scanPrincipal(q.db.QueryRowContext(ctx, `SELECT `+principalCols+` FROM principals WHERE uid = ?`, uid))
}

func (q *queries) PrincipalsNamed(ctx context.Context, name string) ([]meta.Principal, error) {
	return q.listPrincipals(ctx, `WHERE name = ? ORDER BY registry_id`, name)
}

func (q *queries) RevokeTokens(ctx context.Context, id int64, what meta.Revocation) error {
	col := "token_gen"
	if what == meta.RevokeAccess {
		col = "grant_gen"
	}
	res, err := q.db.ExecContext(ctx, `UPDATE principals SET `+col+` = `+col+` + 1 WHERE id = ?`, id)
	return affected(res, err)
}

func (q *queries) ListPrincipals(ctx context.Context, registryID int64, kind string) ([]meta.Principal, error) {
	return q.listPrincipals(ctx, `WHERE registry_id = ? AND (? = '' OR kind = ?) ORDER BY name`, registryID, kind, kind)
}

func (q *queries) listPrincipals(ctx context.Context, where string, args ...any) ([]meta.Principal, error) {
	rows, err := q.db.QueryContext(ctx, `SELECT `+principalCols+` FROM principals `+where, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []meta.Principal
	for rows.Next() {
		p, err := scanPrincipal(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *p)
	}
	return out, rows.Err()
}

func (q *queries) SetPrincipalEnabled(ctx context.Context, id int64, enabled bool) error {
	res, err := q.db.ExecContext(ctx, `UPDATE principals SET enabled = ? WHERE id = ?`, enabled, id)
	return affected(res, err)
}

func (q *queries) SetPrincipalScopeMap(ctx context.Context, id int64, scopeMap string) error {
	res, err := q.db.ExecContext(ctx, `UPDATE principals SET scope_map = ? WHERE id = ?`, scopeMap, id)
	return affected(res, err)
}

func (q *queries) DeletePrincipal(ctx context.Context, id int64) error {
	res, err := q.db.ExecContext(ctx, `DELETE FROM principals WHERE id = ?`, id)
	return affected(res, err)
}

func (q *queries) CountPrincipals(ctx context.Context) (int, error) {
	var n int
	err := q.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM principals`).Scan(&n)
	return n, err
}

func (q *queries) PutCredential(ctx context.Context, c *meta.Credential) error {
	var exp int64
	if !c.ExpiresAt.IsZero() {
		exp = ns(c.ExpiresAt)
	}
	_, err := q.db.ExecContext(ctx, `INSERT INTO credentials (principal_id, name, hash, expires_at, created_at)
		VALUES (?, ?, ?, ?, ?) ON CONFLICT (principal_id, name) DO UPDATE SET hash = excluded.hash,
		expires_at = excluded.expires_at, created_at = excluded.created_at`, c.PrincipalID, c.Name, c.Hash, exp, ns(c.CreatedAt))
	return err
}

func (q *queries) ListCredentials(ctx context.Context, principalID int64) ([]meta.Credential, error) {
	rows, err := q.db.QueryContext(ctx, `SELECT principal_id, name, hash, expires_at, created_at FROM credentials
		WHERE principal_id = ? ORDER BY name`, principalID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []meta.Credential
	for rows.Next() {
		var c meta.Credential
		var exp, cr int64
		if err := rows.Scan(&c.PrincipalID, &c.Name, &c.Hash, &exp, &cr); err != nil {
			return nil, err
		}
		if exp != 0 {
			c.ExpiresAt = fromNS(exp)
		}
		c.CreatedAt = fromNS(cr)
		out = append(out, c)
	}
	return out, rows.Err()
}

func (q *queries) DeleteCredential(ctx context.Context, principalID int64, name string) error {
	res, err := q.db.ExecContext(ctx, `DELETE FROM credentials WHERE principal_id = ? AND name = ?`, principalID, name)
	return affected(res, err)
}

func (q *queries) CreateRoleAssignment(ctx context.Context, a *meta.RoleAssignment) error {
	err := q.db.QueryRowContext(ctx, `INSERT INTO role_assignments (principal_id, role, registry_id, repository, created_at)
		VALUES (?, ?, ?, ?, ?) RETURNING id`, a.PrincipalID, a.Role, a.RegistryID, a.Repository, ns(a.CreatedAt)).Scan(&a.ID)
	if isUnique(err) {
		return meta.ErrConflict
	}
	return err
}

func (q *queries) listRoleAssignments(ctx context.Context, where string, args ...any) ([]meta.RoleAssignment, error) {
	rows, err := q.db.QueryContext(ctx, `SELECT id, principal_id, role, registry_id, repository, created_at
		FROM role_assignments `+where+` ORDER BY id`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []meta.RoleAssignment
	for rows.Next() {
		var a meta.RoleAssignment
		var c int64
		if err := rows.Scan(&a.ID, &a.PrincipalID, &a.Role, &a.RegistryID, &a.Repository, &c); err != nil {
			return nil, err
		}
		a.CreatedAt = fromNS(c)
		out = append(out, a)
	}
	return out, rows.Err()
}

func (q *queries) ListRoleAssignments(ctx context.Context, principalID int64) ([]meta.RoleAssignment, error) {
	return q.listRoleAssignments(ctx, `WHERE principal_id = ?`, principalID)
}

func (q *queries) ListAllRoleAssignments(ctx context.Context) ([]meta.RoleAssignment, error) {
	return q.listRoleAssignments(ctx, ``)
}

func (q *queries) DeleteRoleAssignment(ctx context.Context, id int64) error {
	res, err := q.db.ExecContext(ctx, `DELETE FROM role_assignments WHERE id = ?`, id)
	return affected(res, err)
}
