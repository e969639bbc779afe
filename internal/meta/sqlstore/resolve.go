package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"strings"

	"github.com/acre-project/acre/internal/meta"
	"github.com/opencontainers/go-digest"
)

// resolveCols are the columns ResolveManifest reads: the repository, then
// the tag (NULL for a digest reference or no tag), then the manifest
// (NULL when absent). Content is appended when asked for.
const resolveCols = `r.id, r.name, r.created_at, r.updated_at, r.delete_enabled, r.write_enabled, r.read_enabled, r.list_enabled,
	t.name, t.created_at, t.updated_at, t.delete_enabled, t.write_enabled, t.read_enabled, t.list_enabled,
	m.id, m.digest, m.media_type, m.artifact_type, m.config_media_type, m.subject, m.size, m.image_size, m.annotations,
	m.architecture, m.os, m.created_at, m.updated_at, m.delete_enabled, m.write_enabled, m.read_enabled, m.list_enabled`

func (q *queries) ResolveManifest(ctx context.Context, registryID int64, repo, ref string, withContent bool) (*meta.Repository, *meta.Tag, *meta.Manifest, error) {
	if q.cache != nil {
		return q.cache.resolve(ctx, q, registryID, repo, ref, withContent)
	}
	return q.resolveManifest(ctx, registryID, repo, ref, withContent)
}

func (q *queries) resolveManifest(ctx context.Context, registryID int64, repo, ref string, withContent bool) (*meta.Repository, *meta.Tag, *meta.Manifest, error) {
	cols := resolveCols
	if withContent {
		cols += `, m.content`
	}
	var query string
	if strings.Contains(ref, ":") {
		query = `SELECT ` + cols + ` FROM repositories r
			LEFT JOIN tags t ON 1 = 0
			LEFT JOIN manifests m ON m.repository_id = r.id AND m.digest = ?
			WHERE r.registry_id = ? AND r.name = ?`
	} else {
		query = `SELECT ` + cols + ` FROM repositories r
			LEFT JOIN tags t ON t.repository_id = r.id AND t.name = ?
			LEFT JOIN manifests m ON m.id = t.manifest_id
			WHERE r.registry_id = ? AND r.name = ?`
	}
	var (
		r                          meta.Repository
		rc, ru                     int64
		tName                      sql.NullString
		tc, tu                     sql.NullInt64
		td, tw, tr, tl             sql.NullBool
		mID, mSize, mImage, mc, mu sql.NullInt64
		mDigest, mType, mArt, mCfg sql.NullString
		mSubj, mAnn, mArch, mOS    sql.NullString
		md, mw, mr, ml             sql.NullBool
		content                    []byte
		ra                         = &r.Attributes
	)
	dest := []any{&r.ID, &r.Name, &rc, &ru, &ra.DeleteEnabled, &ra.WriteEnabled, &ra.ReadEnabled, &ra.ListEnabled,
		&tName, &tc, &tu, &td, &tw, &tr, &tl,
		&mID, &mDigest, &mType, &mArt, &mCfg, &mSubj, &mSize, &mImage, &mAnn, &mArch, &mOS, &mc, &mu, &md, &mw, &mr, &ml}
	if withContent {
		dest = append(dest, &content)
	}
	if err := q.db.QueryRowContext(ctx, query, ref, registryID, repo).Scan(dest...); err != nil {
		return nil, nil, nil, notFound(err)
	}
	r.RegistryID = registryID
	r.CreatedAt, r.UpdatedAt = fromNS(rc), fromNS(ru)
	var t *meta.Tag
	if tName.Valid {
		t = &meta.Tag{RepositoryID: r.ID, Name: tName.String, ManifestID: mID.Int64, Digest: digest.Digest(mDigest.String),
			CreatedAt: fromNS(tc.Int64), UpdatedAt: fromNS(tu.Int64),
			Attributes: meta.Attributes{DeleteEnabled: td.Bool, WriteEnabled: tw.Bool, ReadEnabled: tr.Bool, ListEnabled: tl.Bool}}
	}
	if !mID.Valid {
		return &r, t, nil, nil
	}
	m := &meta.Manifest{ID: mID.Int64, RepositoryID: r.ID, Digest: digest.Digest(mDigest.String), MediaType: mType.String,
		ArtifactType: mArt.String, ConfigMediaType: mCfg.String, Subject: digest.Digest(mSubj.String), Size: mSize.Int64,
		ImageSize: mImage.Int64, Architecture: mArch.String, OS: mOS.String, CreatedAt: fromNS(mc.Int64), UpdatedAt: fromNS(mu.Int64),
		Attributes: meta.Attributes{DeleteEnabled: md.Bool, WriteEnabled: mw.Bool, ReadEnabled: mr.Bool, ListEnabled: ml.Bool}}
	if withContent {
		m.Content = content
	}
	if mAnn.String != "" {
		if err := json.Unmarshal([]byte(mAnn.String), &m.Annotations); err != nil {
			return nil, nil, nil, err
		}
	}
	return &r, t, m, nil
}
