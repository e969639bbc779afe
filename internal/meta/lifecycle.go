package meta

import (
	"context"
	"time"

	"github.com/opencontainers/go-digest"
)

// GC queue kinds.
const (
	GCLink      = 0 // a repository's link to a blob
	GCBlob      = 1 // a blob
	GCTombstone = 2 // a blob whose record is gone and whose bytes are being deleted
)

// GCItem is queued garbage-collection work.
type GCItem struct {
	Kind         int
	RepositoryID int64 // 0 for GCBlob
	Digest       digest.Digest
	NotBefore    time.Time
}

// RetentionPolicy is a registry's retention policy.
type RetentionPolicy struct {
	RegistryID    int64
	Enabled       bool
	Days          int       // untagged manifests go this many days after losing their last tag
	EnabledAt     time.Time // only manifests untagged after this are affected
	KeepTags      int       // >0: keep only the newest N tags (matching KeepFilter) per repository
	KeepFilter    string    // a regular expression on tag names ("" matches all)
	NotPulledDays int       // >0: delete tagged images not pulled for this many days
}

// PurgeSchedule is a purge the server runs on a cron schedule.
type PurgeSchedule struct {
	ID         int64
	RegistryID int64
	Name       string
	Schedule   string // five-field cron
	Args       []byte // the purge options, JSON
	NextRunAt  time.Time
	LastRunAt  time.Time
	LastResult string
	CreatedAt  time.Time
}

// The lifecycle views below split what garbage collection, retention,
// purge, schedules and quotas store by aggregate, so each consumer takes
// only the ones it uses: the core (package registry) queues GC work, keeps
// usage and untagged times on the push and delete paths; package
// lifecycle works the queue, applies retention and runs schedules.

// GCQueue is the garbage-collection work queue, filled by the changes
// that may leave garbage (new links, deleted manifests and links) and
// worked by the collector, so a pass costs what changed. Items are keyed
// by (Kind, RepositoryID, Digest).
type GCQueue interface {
	// EnqueueGC adds GC work; an item already queued keeps the later NotBefore.
	EnqueueGC(ctx context.Context, it GCItem) error
	// DueGC lists up to n items with NotBefore at or before now.
	DueGC(ctx context.Context, now time.Time, n int) ([]GCItem, error)
	// DoneGC removes an item unless it was queued again meanwhile with a
	// NotBefore later than it.NotBefore; removing one that is not queued
	// is not an error.
	DoneGC(ctx context.Context, it GCItem) error
	// Tombstoned reports whether a blob's bytes are being deleted (a
	// GCTombstone item is queued for it): such a blob must not be linked.
	Tombstoned(ctx context.Context, d digest.Digest) (bool, error)
}

// BlobGC answers what the collector must know, inside its deleting
// transaction, before a link or a blob goes, and deletes blob records.
type BlobGC interface {
	// LinkReferenced reports whether a manifest of the repository references d.
	LinkReferenced(ctx context.Context, repositoryID int64, d digest.Digest) (bool, error)
	// BlobLinked reports whether any repository (of any registry) links d.
	BlobLinked(ctx context.Context, d digest.Digest) (bool, error)
	// GetBlob returns a recorded blob's size and creation time, or ErrNotFound.
	GetBlob(ctx context.Context, d digest.Digest) (size int64, created time.Time, err error)
	// DeleteBlob deletes a blob's record (not its bytes); ErrNotFound when
	// there is none.
	DeleteBlob(ctx context.Context, d digest.Digest) error
}

// Usage keeps a registry's storage usage: a counter changed in the same
// transaction as the links and manifests it counts (so it stays exact),
// and the same figure counted from the content.
type Usage interface {
	// AddUsage adds delta (negative to give bytes back) to a registry's usage.
	AddUsage(ctx context.Context, registryID, delta int64) error
	// Usage returns the counter (0 for a registry that never stored anything).
	Usage(ctx context.Context, registryID int64) (int64, error)
	// StorageUsed counts the bytes a registry holds: each blob once however
	// many of its repositories link it, plus its manifests. It reads every
	// link of the registry; the counter is what the push path reads.
	StorageUsed(ctx context.Context, registryID int64) (int64, error)
}

// UntaggedTimes records when manifests lost their last tag, which is
// what retention of untagged manifests goes by.
type UntaggedTimes interface {
	// SetUntagged sets when a manifest lost its last tag (zero: it is tagged).
	SetUntagged(ctx context.Context, manifestID int64, at time.Time) error
	// UntaggedBefore lists up to n untagged manifests of a registry that
	// lost their last tag in [from, to), oldest first, without content.
	UntaggedBefore(ctx context.Context, registryID int64, from, to time.Time, n int) ([]Manifest, error)
}

// PullTimes stores last-pull times, which are recorded in batches.
type PullTimes interface {
	// RecordPulls stores last-pull times of manifests and tags; rows that
	// are gone are skipped, and a time never moves backwards.
	RecordPulls(ctx context.Context, manifests map[int64]time.Time, tags map[TagKey]time.Time) error
}

// Retention stores registries' retention policies.
type Retention interface {
	// GetRetention returns a registry's policy, or ErrNotFound when none was set.
	GetRetention(ctx context.Context, registryID int64) (*RetentionPolicy, error)
	// PutRetention creates or replaces a registry's policy.
	PutRetention(ctx context.Context, p *RetentionPolicy) error
}

// PurgeSchedules stores scheduled purges, leased by the node that runs one.
type PurgeSchedules interface {
	// PutPurgeSchedule creates or replaces (by registry and name) a schedule; s.ID is set.
	PutPurgeSchedule(ctx context.Context, s *PurgeSchedule) error
	// ListPurgeSchedules lists a registry's schedules (0: every registry's),
	// unpaged: they are few, made one by one by people.
	ListPurgeSchedules(ctx context.Context, registryID int64) ([]PurgeSchedule, error)
	// DeletePurgeSchedule deletes a schedule; ErrNotFound when there is none.
	DeletePurgeSchedule(ctx context.Context, registryID int64, name string) error
	// LeasePurgeSchedule claims a schedule that is due (NextRunAt <= now)
	// and not leased at now, until until; false when it is not due or
	// another node holds it.
	LeasePurgeSchedule(ctx context.Context, id int64, now, until time.Time) (bool, error)
	// FinishPurgeSchedule records a run, sets the next one and ends the lease.
	FinishPurgeSchedule(ctx context.Context, id int64, ranAt, next time.Time, result string) error
}

// TagKey names a tag.
type TagKey struct {
	RepositoryID int64
	Name         string
}
