package sqlstore

import (
	"context"

	"github.com/acre-project/acre/internal/meta"
)

func (q *queries) CreateVault(ctx context.Context, v *meta.Vault) error {
	err := q.db.QueryRowContext(ctx, `INSERT INTO key_vaults (name, created_at) VALUES (?, ?) RETURNING id`, v.Name, ns(v.CreatedAt)).Scan(&v.ID)
	if isUnique(err) {
		return meta.ErrConflict
	}
	return err
}

func (q *queries) GetVault(ctx context.Context, name string) (*meta.Vault, error) {
	var v meta.Vault
	var c int64
	err := q.db.QueryRowContext(ctx, `SELECT id, name, created_at FROM key_vaults WHERE name = ?`, name).Scan(&v.ID, &v.Name, &c)
	v.CreatedAt = fromNS(c)
	return &v, notFound(err)
}

func (q *queries) ListVaults(ctx context.Context) ([]meta.Vault, error) {
	rows, err := q.db.QueryContext(ctx, `SELECT id, name, created_at FROM key_vaults ORDER BY name`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []meta.Vault{}
	for rows.Next() {
		var v meta.Vault
		var c int64
		if err := rows.Scan(&v.ID, &v.Name, &c); err != nil {
			return nil, err
		}
		v.CreatedAt = fromNS(c)
		out = append(out, v)
	}
	return out, rows.Err()
}

func (q *queries) DeleteVault(ctx context.Context, id int64) error {
	if _, err := q.db.ExecContext(ctx, `DELETE FROM key_vault_roles WHERE vault_id = ?`, id); err != nil {
		return err
	}
	if _, err := q.db.ExecContext(ctx, `DELETE FROM key_vault_secrets WHERE vault_id = ?`, id); err != nil {
		return err
	}
	return affected(q.db.ExecContext(ctx, `DELETE FROM key_vaults WHERE id = ?`, id))
}

func (q *queries) PutVaultSecret(ctx context.Context, s *meta.VaultSecret) error {
	_, err := q.db.ExecContext(ctx, `INSERT INTO key_vault_secrets (vault_id, name, version, value, sealed, created_at)
		VALUES (?, ?, ?, ?, ?, ?)`, s.VaultID, s.Name, s.Version, s.Value, s.Sealed, ns(s.CreatedAt))
	if isUnique(err) {
		return meta.ErrConflict
	}
	return err
}

const secretCols = `vault_id, name, version, value, sealed, created_at`

func scanSecret(sc interface{ Scan(...any) error }) (*meta.VaultSecret, error) {
	var s meta.VaultSecret
	var c int64
	if err := sc.Scan(&s.VaultID, &s.Name, &s.Version, &s.Value, &s.Sealed, &c); err != nil {
		return nil, notFound(err)
	}
	s.CreatedAt = fromNS(c)
	return &s, nil
}

func (q *queries) GetVaultSecret(ctx context.Context, vaultID int64, name, version string) (*meta.VaultSecret, error) {
	if version != "" {
		return scanSecret(q.db.QueryRowContext(ctx, `SELECT `+secretCols+` FROM key_vault_secrets WHERE vault_id = ? AND name = ? AND version = ?`,
			vaultID, name, version))
	}
	return scanSecret(q.db.QueryRowContext(ctx, `SELECT `+secretCols+` FROM key_vault_secrets WHERE vault_id = ? AND name = ?
		ORDER BY created_at DESC, version DESC LIMIT 1`, vaultID, name))
}

func (q *queries) ListVaultSecrets(ctx context.Context, vaultID int64) ([]meta.VaultSecret, error) {
	rows, err := q.db.QueryContext(ctx, `SELECT `+secretCols+` FROM key_vault_secrets s WHERE vault_id = ? AND created_at =
		(SELECT MAX(created_at) FROM key_vault_secrets l WHERE l.vault_id = s.vault_id AND l.name = s.name) ORDER BY name`, vaultID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []meta.VaultSecret{}
	for rows.Next() {
		s, err := scanSecret(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *s)
	}
	return out, rows.Err()
}

func (q *queries) PlainVaultSecrets(ctx context.Context, n int) ([]meta.VaultSecret, error) {
	rows, err := q.db.QueryContext(ctx, `SELECT `+secretCols+` FROM key_vault_secrets WHERE sealed = ?
		ORDER BY vault_id, name, version LIMIT ?`, false, n)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []meta.VaultSecret
	for rows.Next() {
		s, err := scanSecret(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *s)
	}
	return out, rows.Err()
}

func (q *queries) SealVaultSecret(ctx context.Context, vaultID int64, name, version, sealed string) error {
	return affected(q.db.ExecContext(ctx, `UPDATE key_vault_secrets SET value = ?, sealed = ?
		WHERE vault_id = ? AND name = ? AND version = ? AND sealed = ?`, sealed, true, vaultID, name, version, false))
}

func (q *queries) CreateVaultRole(ctx context.Context, r *meta.VaultRole) error {
	err := q.db.QueryRowContext(ctx, `INSERT INTO key_vault_roles (vault_id, principal_id, role, created_at) VALUES (?, ?, ?, ?) RETURNING id`,
		r.VaultID, r.PrincipalID, r.Role, ns(r.CreatedAt)).Scan(&r.ID)
	if isUnique(err) {
		return meta.ErrConflict
	}
	return err
}

func (q *queries) VaultRolesOf(ctx context.Context, principalID, vaultID int64) ([]meta.VaultRole, error) {
	rows, err := q.db.QueryContext(ctx, `SELECT id, vault_id, principal_id, role, created_at FROM key_vault_roles
		WHERE principal_id = ? AND (vault_id = ? OR vault_id = 0) ORDER BY id`, principalID, vaultID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []meta.VaultRole
	for rows.Next() {
		var r meta.VaultRole
		var c int64
		if err := rows.Scan(&r.ID, &r.VaultID, &r.PrincipalID, &r.Role, &c); err != nil {
			return nil, err
		}
		r.CreatedAt = fromNS(c)
		out = append(out, r)
	}
	return out, rows.Err()
}

func (q *queries) KeyCheck(ctx context.Context) (string, error) {
	var v string
	err := q.db.QueryRowContext(ctx, `SELECT sealed FROM seal_key_check WHERE id = 1`).Scan(&v)
	return v, notFound(err)
}

func (q *queries) PutKeyCheck(ctx context.Context, sealed string) error {
	_, err := q.db.ExecContext(ctx, `INSERT INTO seal_key_check (id, sealed) VALUES (1, ?)`, sealed)
	if isUnique(err) {
		return meta.ErrConflict
	}
	return err
}
