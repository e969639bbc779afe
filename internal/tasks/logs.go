package tasks

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/acre-project/acre/internal/blob"
	"github.com/acre-project/acre/internal/meta"
	"github.com/opencontainers/go-digest"
)

// logPoll is how often a follower looks for more of a running run's log.
const logPoll = 200 * time.Millisecond

// WriteLog writes a run's log to w: the stored blob of a finished run, or
// the chunks written so far; with follow, it keeps writing until the run
// ends (flush is called after each piece). It works on any node.
func (s *Service) WriteLog(ctx context.Context, id int64, w io.Writer, follow bool, flush func()) error {
	var sent, seq int64
	for {
		r, err := s.o.Meta.Read().GetRun(ctx, id)
		if err != nil {
			return err
		}
		if r.LogDigest != "" { // finished: the rest is in the blob
			d, err := digest.Parse(r.LogDigest)
			if err != nil {
				return err
			}
			rc, err := s.o.Blobs.Open(ctx, d, sent)
			if errors.Is(err, blob.ErrNotFound) {
				return errLogGone
			}
			if err != nil {
				return err
			}
			defer rc.Close()
			_, err = io.Copy(w, rc)
			flush()
			return err
		}
		chunks, err := s.o.Meta.Read().RunLog(ctx, id, seq)
		if err != nil {
			return err
		}
		for _, c := range chunks {
			n, err := w.Write(c.Data)
			sent += int64(n)
			seq = c.Seq
			if err != nil {
				return err
			}
		}
		if len(chunks) > 0 {
			flush()
			continue
		}
		if r.Finished() || !follow {
			if r.Finished() && r.LogDigest == "" {
				// Finished without a blob (failed by another node): chunks are the log.
				return nil
			}
			if !follow {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(logPoll):
		}
	}
}

// Get returns a run.
func (s *Service) Get(ctx context.Context, id int64) (*meta.Run, error) {
	return s.o.Meta.Read().GetRun(ctx, id)
}
