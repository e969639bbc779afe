package sqlstore

import (
	"context"
	"time"

	"github.com/acre-project/acre/internal/meta"
	"github.com/opencontainers/go-digest"
)

func (q *queries) PutBlob(ctx context.Context, d digest.Digest, size int64, at time.Time) (bool, error) {
	res, err := q.db.ExecContext(ctx, `INSERT INTO blobs (digest, size, created_at) VALUES (?, ?, ?)
		ON CONFLICT (digest) DO NOTHING`, d.String(), size, ns(at))
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

func (q *queries) LinkBlob(ctx context.Context, repositoryID int64, d digest.Digest, at time.Time) error {
	_, err := q.db.ExecContext(ctx, `INSERT INTO blob_links (repository_id, digest, created_at) VALUES (?, ?, ?)
		ON CONFLICT (repository_id, digest) DO NOTHING`, repositoryID, d.String(), ns(at))
	return err
}

func (q *queries) LinkedBlob(ctx context.Context, repositoryID int64, d digest.Digest) (int64, error) {
	var size int64
	err := q.db.QueryRowContext(ctx, `SELECT b.size FROM blob_links l JOIN blobs b ON b.digest = l.digest
		WHERE l.repository_id = ? AND l.digest = ?`, repositoryID, d.String()).Scan(&size)
	return size, notFound(err)
}

// ReadableBlob is LinkedBlob, also telling whether read locks hide the
// blob. The first EXISTS starts from the partial index of read-locked
// manifests (nested, so that no planner starts from the blob's references
// instead), so the usual repository, which has none, pays one empty index
// probe; the second (reached only where a read-locked manifest references
// the blob) starts from the blob's references in the repository, by
// manifest_refs' (digest, kind, repository_id) index.
func (q *queries) ReadableBlob(ctx context.Context, repositoryID int64, d digest.Digest) (int64, bool, error) {
	var size int64
	var hidden int
	err := q.db.QueryRowContext(ctx, `SELECT b.size,
		CASE WHEN EXISTS (SELECT 1 FROM manifests m WHERE m.repository_id = l.repository_id AND m.read_enabled = 0
			AND EXISTS (SELECT 1 FROM manifest_refs r WHERE r.manifest_id = m.id AND r.kind = 0 AND r.digest = l.digest))
		AND NOT EXISTS (SELECT 1 FROM manifest_refs r JOIN manifests m ON m.id = r.manifest_id
			WHERE r.digest = l.digest AND r.kind = 0 AND r.repository_id = l.repository_id AND m.read_enabled = 1)
		THEN 1 ELSE 0 END
		FROM blob_links l JOIN blobs b ON b.digest = l.digest
		WHERE l.repository_id = ? AND l.digest = ?`, repositoryID, d.String()).Scan(&size, &hidden)
	return size, hidden == 0, notFound(err)
}

func (q *queries) UnlinkBlob(ctx context.Context, repositoryID int64, d digest.Digest) error {
	res, err := q.db.ExecContext(ctx, `DELETE FROM blob_links WHERE repository_id = ? AND digest = ?`, repositoryID, d.String())
	return affected(res, err)
}

// affected turns "no row changed" into meta.ErrNotFound.
func affected(res interface{ RowsAffected() (int64, error) }, err error) error {
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return meta.ErrNotFound
	}
	return nil
}

func (q *queries) ReposLinkingBlob(ctx context.Context, registryID int64, d digest.Digest, n int) ([]string, error) {
	rows, err := q.db.QueryContext(ctx, `SELECT r.name FROM blob_links l JOIN repositories r ON r.id = l.repository_id
		WHERE l.digest = ? AND r.registry_id = ? ORDER BY r.name LIMIT ?`, d.String(), registryID, n)
	return scanStrings(rows, err)
}

func (q *queries) PutBlobContent(ctx context.Context, d digest.Digest, content []byte) error {
	_, err := q.db.ExecContext(ctx, `INSERT INTO blob_contents (digest, content) VALUES (?, ?)
		ON CONFLICT (digest) DO NOTHING`, d.String(), content)
	return err
}

func (q *queries) BlobContent(ctx context.Context, d digest.Digest) ([]byte, error) {
	var b []byte
	err := q.db.QueryRowContext(ctx, `SELECT content FROM blob_contents WHERE digest = ?`, d.String()).Scan(&b)
	return b, notFound(err)
}

func (q *queries) BlobContentSize(ctx context.Context, d digest.Digest) (int64, error) {
	var n int64
	err := q.db.QueryRowContext(ctx, `SELECT length(content) FROM blob_contents WHERE digest = ?`, d.String()).Scan(&n)
	return n, notFound(err)
}
