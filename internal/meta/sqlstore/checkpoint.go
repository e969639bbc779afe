package sqlstore

import (
	"database/sql"
	"sync/atomic"
	"time"
)

// Checkpoints copy the WAL's pages into the database file. SQLite runs
// them in the committing connection by default, which here is the one
// writer: every few commits, one of them waited for a checkpoint (a fifth
// of the writer's time when small blobs are written inline). So a
// checkpointer on a connection of its own runs passive checkpoints, which
// never block the writer, a moment after commits (coalescing those that
// follow), on another CPU. The writer still checkpoints itself past
// writerCheckpointPages, should the checkpointer fall behind.
const (
	checkpointDelay       = 100 * time.Millisecond
	writerCheckpointPages = 8192
)

type checkpointer struct {
	db   *sql.DB
	kick chan struct{}
	quit chan struct{}
	done chan struct{}
	runs atomic.Int64 // checkpoints run
}

func newCheckpointer(db *sql.DB) *checkpointer {
	c := &checkpointer{db: db, kick: make(chan struct{}, 1), quit: make(chan struct{}), done: make(chan struct{})}
	go c.run()
	return c
}

// committed tells the checkpointer that the WAL grew; it never blocks.
func (c *checkpointer) committed() {
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

func (c *checkpointer) run() {
	defer close(c.done)
	t := time.NewTimer(0)
	<-t.C
	for {
		select {
		case <-c.quit:
			return
		case <-c.kick:
		}
		t.Reset(checkpointDelay)
		select {
		case <-c.quit:
			t.Stop()
			return
		case <-t.C:
		}
		// A failed checkpoint is left to the next one (or the writer's).
		_, _ = c.db.Exec("PRAGMA wal_checkpoint(PASSIVE)")
		c.runs.Add(1)
	}
}

// close stops the checkpointer; closing the store checkpoints what is left.
func (c *checkpointer) close() error {
	close(c.quit)
	<-c.done
	return c.db.Close()
}
