package lifecycle

import (
	"context"
	"errors"
	"time"

	"github.com/acre-project/acre/internal/blob"
	"github.com/acre-project/acre/internal/meta"
	"github.com/opencontainers/go-digest"
)

// Garbage collection runs online, from a queue that changes fill (new
// links, deleted manifests and links), so its cost follows what changed,
// not the registry's size. It never deletes what a committed manifest
// references: a link goes only when no manifest of its repository
// references the blob (checked in the deleting transaction), and a new
// link waits out the grace period first, so a push whose blobs are up and
// whose manifest is on its way keeps them. A blob goes only when no link
// is left: one transaction deletes its record and writes a tombstone, the
// file is deleted after that commit, then the tombstone. An upload of a
// tombstoned blob waits for the tombstone to go and then stores its bytes
// again; one that would still link a tombstoned or missing blob is refused
// (the client uploads again), so a rolled-back or retried transaction
// never leaves a record without its bytes.

// GCStats says what one garbage collection pass did.
type GCStats struct {
	Items        int   // queue items handled
	LinksDropped int   // repository links removed
	BlobsDeleted int   // blobs deleted
	BytesFreed   int64 // their bytes
	Uploads      int   // abandoned upload sessions removed
}

// gcBatch bounds one GC transaction; between batches GC waits at least
// gcPause and as long as the batch took, so it holds the (single) writer
// half the time at most and pushes keep going.
const (
	gcBatch     = 128
	gcPause     = 5 * time.Millisecond
	gcYieldRate = 1
)

// CollectGarbage works through the due queue until it is empty.
func (s *Service) CollectGarbage(ctx context.Context) (GCStats, error) {
	var st GCStats
	for ctx.Err() == nil {
		items, err := s.meta.Read().DueGC(ctx, time.Now().UTC(), gcBatch)
		if err != nil || len(items) == 0 {
			return st, err
		}
		var batch GCStats
		var doomed []digest.Digest
		began := time.Now()
		if err := s.meta.Tx(ctx, func(q Store) error {
			batch, doomed = GCStats{}, nil // the transaction may run again
			for _, it := range items {
				d, err := s.collect(ctx, q, it, &batch)
				if err != nil {
					return err
				}
				if d != "" {
					doomed = append(doomed, d)
				}
				batch.Items++
			}
			return nil
		}); err != nil {
			return st, err
		}
		// The records are gone and the tombstones are in: now the bytes.
		if err := s.bury(ctx, doomed); err != nil {
			return st, err
		}
		st.Items += batch.Items
		st.LinksDropped += batch.LinksDropped
		st.BlobsDeleted += batch.BlobsDeleted
		st.BytesFreed += batch.BytesFreed
		select {
		case <-ctx.Done():
		case <-time.After(max(gcPause, gcYieldRate*time.Since(began))):
		}
	}
	return st, ctx.Err()
}

// collect handles one queue item inside a transaction. A blob to delete
// loses its record and gets a tombstone here (uploads that would link it
// refuse while the tombstone stands); its bytes go after the commit, and
// then the tombstone, so a rolled-back transaction never leaves a record
// without bytes. It returns the digest whose bytes are to go.
func (s *Service) collect(ctx context.Context, q Store, it meta.GCItem, st *GCStats) (digest.Digest, error) {
	var doomed digest.Digest
	switch it.Kind {
	case meta.GCLink:
		ref, err := q.LinkReferenced(ctx, it.RepositoryID, it.Digest)
		if err != nil {
			return "", err
		}
		if !ref {
			regID, err := q.RegistryOfRepository(ctx, it.RepositoryID)
			if err == nil {
				switch err := s.core.Unlink(ctx, q, regID, it.RepositoryID, it.Digest); {
				case err == nil:
					st.LinksDropped++
				case !errors.Is(err, meta.ErrNotFound):
					return "", err
				}
			} else if !errors.Is(err, meta.ErrNotFound) {
				return "", err
			}
		}
	case meta.GCBlob:
		linked, err := q.BlobLinked(ctx, it.Digest)
		if err != nil {
			return "", err
		}
		if !linked {
			size, _, err := q.GetBlob(ctx, it.Digest)
			switch {
			case errors.Is(err, meta.ErrNotFound):
			case err != nil:
				return "", err
			default:
				if err := q.DeleteBlob(ctx, it.Digest); err != nil {
					return "", err
				}
				if err := q.EnqueueGC(ctx, meta.GCItem{Kind: meta.GCTombstone, Digest: it.Digest, NotBefore: time.Now().UTC()}); err != nil {
					return "", err
				}
				doomed = it.Digest
				st.BlobsDeleted++
				st.BytesFreed += size
				s.recordLifecycle(ctx, q, 0, "", "", it.Digest, "DeleteBlob", "gc", "no repository links it")
			}
		}
	case meta.GCTombstone:
		// Left by a pass that stopped between commit and deleting the
		// bytes: finish it, unless the blob was recorded again.
		if _, _, err := q.GetBlob(ctx, it.Digest); errors.Is(err, meta.ErrNotFound) {
			doomed = it.Digest
		} else if err != nil {
			return "", err
		}
		return doomed, nil // bury removes the tombstone
	}
	return doomed, q.DoneGC(ctx, it)
}

// bury deletes a batch's tombstoned blobs' bytes, then, in one
// transaction, their tombstones. A pass that stops between the two leaves
// tombstones that the next pass finishes (deleting an absent blob is not
// an error), and uploads of those blobs are refused until it does.
func (s *Service) bury(ctx context.Context, doomed []digest.Digest) error {
	if len(doomed) == 0 {
		return nil
	}
	for _, d := range doomed {
		if err := s.blobs.Delete(ctx, d); err != nil {
			return err
		}
	}
	return s.meta.Tx(ctx, func(q Store) error {
		for _, d := range doomed {
			if err := q.DoneGC(ctx, meta.GCItem{Kind: meta.GCTombstone, Digest: d, NotBefore: time.Now().UTC().Add(time.Hour)}); err != nil {
				return err
			}
		}
		return nil
	})
}

// CleanUploads removes upload sessions started before cutoff (abandoned)
// and upload data without a session that is older than the grace period
// (left by a crash), returning how many went.
func (s *Service) CleanUploads(ctx context.Context, cutoff time.Time) (int, error) {
	n := 0
	for {
		stale, err := s.meta.Read().StaleUploads(ctx, cutoff, 100)
		if err != nil || len(stale) == 0 {
			break
		}
		for _, u := range stale {
			if err := s.meta.Tx(ctx, func(q Store) error { return q.DeleteUpload(ctx, u.ID) }); err != nil && !errors.Is(err, meta.ErrNotFound) {
				return n, err
			}
			if err := s.uploads.Abort(ctx, u.ID); err != nil {
				return n, err
			}
			n++
		}
	}
	lister, ok := s.uploads.(blob.UploadLister)
	if !ok {
		return n, nil
	}
	orphanBefore := time.Now().Add(-s.gcGrace)
	err := lister.ListUploads(ctx, func(id string, modified time.Time) error {
		if modified.After(orphanBefore) {
			return nil
		}
		if _, err := s.meta.Read().GetUpload(ctx, id); !errors.Is(err, meta.ErrNotFound) {
			return err // a live session (or an error)
		}
		n++
		return s.uploads.Abort(ctx, id)
	})
	return n, err
}

// SweepOrphans deletes stored blob files that no record knows (left by a
// crash between writing a blob and recording it), older than the grace
// period. It reads every stored blob, so it runs rarely.
func (s *Service) SweepOrphans(ctx context.Context) (int, error) {
	w, ok := s.blobs.(blob.Walker)
	if !ok {
		return 0, nil
	}
	var orphans []digest.Digest
	err := w.Walk(ctx, func(d digest.Digest, _ int64) error {
		if _, _, err := s.meta.Read().GetBlob(ctx, d); errors.Is(err, meta.ErrNotFound) {
			orphans = append(orphans, d)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	n := 0
	for _, d := range orphans {
		err := s.meta.Tx(ctx, func(q Store) error {
			if _, _, err := q.GetBlob(ctx, d); !errors.Is(err, meta.ErrNotFound) {
				return err // recorded meanwhile: keep
			}
			if old, ok := s.blobs.(blob.Ager); ok && !old.OlderThan(ctx, d, time.Now().Add(-s.gcGrace)) {
				return nil
			}
			n++
			return s.blobs.Delete(ctx, d)
		})
		if err != nil {
			return n, err
		}
	}
	return n, nil
}
