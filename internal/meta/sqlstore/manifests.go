package sqlstore

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/acre-project/acre/internal/meta"
	"github.com/opencontainers/go-digest"
)

const manifestCols = `id, repository_id, digest, media_type, artifact_type, config_media_type, subject, size, image_size,
	annotations, architecture, os, created_at, updated_at, last_pulled_at, untagged_at,
	delete_enabled, write_enabled, read_enabled, list_enabled`

func scanManifest(sc interface{ Scan(...any) error }, extra ...any) (*meta.Manifest, error) {
	var m meta.Manifest
	var d, subj, ann string
	var c, u, pulled, untagged int64
	a := &m.Attributes
	dest := append([]any{&m.ID, &m.RepositoryID, &d, &m.MediaType, &m.ArtifactType, &m.ConfigMediaType, &subj, &m.Size,
		&m.ImageSize, &ann, &m.Architecture, &m.OS, &c, &u, &pulled, &untagged,
		&a.DeleteEnabled, &a.WriteEnabled, &a.ReadEnabled, &a.ListEnabled}, extra...)
	if err := sc.Scan(dest...); err != nil {
		return nil, notFound(err)
	}
	m.Digest, m.Subject = digest.Digest(d), digest.Digest(subj)
	m.CreatedAt, m.UpdatedAt = fromNS(c), fromNS(u)
	m.LastPulledAt, m.UntaggedAt = optTime(pulled), optTime(untagged)
	if ann != "" {
		if err := json.Unmarshal([]byte(ann), &m.Annotations); err != nil {
			return nil, err
		}
	}
	return &m, nil
}

func (q *queries) PutManifest(ctx context.Context, m *meta.Manifest) (bool, error) {
	old, err := q.GetManifest(ctx, m.RepositoryID, m.Digest, false)
	if err == nil {
		m.ID = old.ID
		return false, nil
	}
	if !errors.Is(err, meta.ErrNotFound) {
		return false, err
	}
	ann := ""
	if len(m.Annotations) > 0 {
		b, err := json.Marshal(m.Annotations)
		if err != nil {
			return false, err
		}
		ann = string(b)
	}
	var untagged int64
	if !m.UntaggedAt.IsZero() {
		untagged = ns(m.UntaggedAt)
	}
	err = q.db.QueryRowContext(ctx, `INSERT INTO manifests (repository_id, digest, media_type, artifact_type,
		config_media_type, subject, size, image_size, annotations, architecture, os, content, created_at, updated_at, untagged_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		m.RepositoryID, m.Digest.String(), m.MediaType, m.ArtifactType, m.ConfigMediaType, m.Subject.String(), m.Size,
		m.ImageSize, ann, m.Architecture, m.OS, m.Content, ns(m.CreatedAt), ns(m.UpdatedAt), untagged).Scan(&m.ID)
	if err != nil {
		return false, err
	}
	for _, r := range m.Refs {
		if _, err := q.db.ExecContext(ctx, `INSERT INTO manifest_refs (manifest_id, repository_id, digest, kind) VALUES (?, ?, ?, ?)
			ON CONFLICT DO NOTHING`, m.ID, m.RepositoryID, r.Digest.String(), int(r.Kind)); err != nil {
			return false, err
		}
	}
	return true, nil
}

func (q *queries) GetManifest(ctx context.Context, repositoryID int64, d digest.Digest, withContent bool) (*meta.Manifest, error) {
	if !withContent {
		return scanManifest(q.db.QueryRowContext(ctx, `SELECT `+manifestCols+` FROM manifests
			WHERE repository_id = ? AND digest = ?`, repositoryID, d.String()))
	}
	var content []byte
	m, err := scanManifest(q.db.QueryRowContext(ctx, `SELECT `+manifestCols+`, content FROM manifests
		WHERE repository_id = ? AND digest = ?`, repositoryID, d.String()), &content)
	if err != nil {
		return nil, err
	}
	m.Content = content
	return m, nil
}

func (q *queries) DeleteManifest(ctx context.Context, repositoryID int64, d digest.Digest) error {
	res, err := q.db.ExecContext(ctx, `DELETE FROM manifests WHERE repository_id = ? AND digest = ?`, repositoryID, d.String())
	return affected(res, err)
}

func (q *queries) Referrers(ctx context.Context, repositoryID int64, d digest.Digest, artifactType string, hidden bool) ([]meta.Manifest, error) {
	query := `SELECT ` + manifestCols + ` FROM manifests WHERE repository_id = ? AND subject = ?`
	if !hidden {
		query += ` AND list_enabled = 1`
	}
	args := []any{repositoryID, d.String()}
	if artifactType != "" {
		// A manifest without artifactType is typed by its config's media type.
		query += ` AND (artifact_type = ? OR (artifact_type = '' AND config_media_type = ?))`
		args = append(args, artifactType, artifactType)
	}
	rows, err := q.db.QueryContext(ctx, query+` ORDER BY digest`, args...)
	return scanManifests(rows, err)
}

// optTime maps 0 to the zero time.
func optTime(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return fromNS(v)
}

func (q *queries) RefsOf(ctx context.Context, manifestID int64) ([]meta.Ref, error) {
	rows, err := q.db.QueryContext(ctx, `SELECT digest, kind FROM manifest_refs WHERE manifest_id = ? ORDER BY kind, digest`, manifestID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []meta.Ref
	for rows.Next() {
		var r meta.Ref
		var d string
		if err := rows.Scan(&d, &r.Kind); err != nil {
			return nil, err
		}
		r.Digest = digest.Digest(d)
		out = append(out, r)
	}
	return out, rows.Err()
}
