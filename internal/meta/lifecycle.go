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

// Lifecycle stores what garbage collection, retention, purge and quotas need.
type Lifecycle interface {
	// EnqueueGC adds GC work; an item already queued keeps the later NotBefore.
	EnqueueGC(ctx context.Context, it GCItem) error
	// DueGC lists up to n items due at now.
	DueGC(ctx context.Context, now time.Time, n int) ([]GCItem, error)
	DoneGC(ctx context.Context, it GCItem) error
	// Tombstoned reports whether a blob's bytes are being deleted.
	Tombstoned(ctx context.Context, d digest.Digest) (bool, error)
	// LinkReferenced reports whether a manifest of the repository references d.
	LinkReferenced(ctx context.Context, repositoryID int64, d digest.Digest) (bool, error)
	// BlobLinked reports whether any repository links d.
	BlobLinked(ctx context.Context, d digest.Digest) (bool, error)
	// GetBlob returns a recorded blob's size and creation time.
	GetBlob(ctx context.Context, d digest.Digest) (size int64, created time.Time, err error)
	DeleteBlob(ctx context.Context, d digest.Digest) error
	// RepositoryName returns a repository's name.
	RepositoryName(ctx context.Context, repositoryID int64) (string, error)
	// RegistryOfRepository returns a repository's registry id.
	RegistryOfRepository(ctx context.Context, repositoryID int64) (int64, error)
	// ListLinks lists all of a repository's blob links (unpaged).
	ListLinks(ctx context.Context, repositoryID int64) ([]digest.Digest, error)
	// StaleUploads lists uploads started before t.
	StaleUploads(ctx context.Context, before time.Time, n int) ([]Upload, error)

	AddUsage(ctx context.Context, registryID, delta int64) error
	Usage(ctx context.Context, registryID int64) (int64, error)

	// SetUntagged sets when a manifest lost its last tag (zero: it is tagged).
	SetUntagged(ctx context.Context, manifestID int64, at time.Time) error
	// UntaggedBefore lists untagged manifests of a registry that lost their
	// last tag in [from, to), oldest first.
	UntaggedBefore(ctx context.Context, registryID int64, from, to time.Time, n int) ([]Manifest, error)
	// RecordPulls stores last-pull times of manifests and tags.
	RecordPulls(ctx context.Context, manifests map[int64]time.Time, tags map[TagKey]time.Time) error

	GetRetention(ctx context.Context, registryID int64) (*RetentionPolicy, error)
	PutRetention(ctx context.Context, p *RetentionPolicy) error

	PutPurgeSchedule(ctx context.Context, s *PurgeSchedule) error
	ListPurgeSchedules(ctx context.Context, registryID int64) ([]PurgeSchedule, error) // 0: all
	DeletePurgeSchedule(ctx context.Context, registryID int64, name string) error
	// LeasePurgeSchedule claims a due schedule until until; false when another took it.
	LeasePurgeSchedule(ctx context.Context, id int64, now, until time.Time) (bool, error)
	FinishPurgeSchedule(ctx context.Context, id int64, ranAt, next time.Time, result string) error
}

// TagKey names a tag.
type TagKey struct {
	RepositoryID int64
	Name         string
}
