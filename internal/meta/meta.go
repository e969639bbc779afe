// Package meta defines acre's metadata model and the small store interfaces
// through which every component reads and changes it.
//
// The model, shared by every feature:
//
//	Registry (top-level resource, routed by login server host)
//	└── Repository (name with slashes; changeable attributes = locks)
//	    ├── Manifest (by digest; immutable content; refs to blobs and child manifests)
//	    ├── Tag (mutable name -> manifest)
//	    └── BlobLink (repository -> global Blob; a blob is readable only where linked)
//	Blob (content-addressed, stored once per server)
//	Upload (an in-progress blob upload session)
//	Event (the outbox: written in the same transaction as the change it describes)
//
// Implementations must make every method safe for concurrent use. Lists
// that grow with the content (repositories, tags, manifests, events, GC
// work, stale uploads, untagged manifests) are paged by key range (a Page,
// or after and n) or capped by n, never loaded whole. A few lists of
// content are returned whole because one object bounds them and their
// caller needs all of them in one transaction: a manifest's references
// (RefsOf) and tags (TagsOf), a subject's referrers (Referrers) and a
// repository's blob links (ListLinks, to delete the repository). Lists
// bounded by configuration (principals and their credentials and roles,
// scope maps, signing keys, webhooks, schedules, tasks, vaults, plans and
// apps) are returned whole.
//
// A consumer does not take Queries, which holds every view: it takes a
// View of an interface of its own composed of the per-aggregate views it
// uses (see View and Narrow). Only the stores, their conformance suite
// (metatest) and the wiring in package server name Queries or Store, and
// every other interface here has at most ten methods, embedded ones
// counted (internal/importrules_test.go checks both).
package meta

import (
	"context"
	"errors"
	"time"

	"github.com/opencontainers/go-digest"
)

// ErrNotFound is returned when the requested row does not exist.
var ErrNotFound = errors.New("meta: not found")

// ErrConflict is returned when a unique key is already taken.
var ErrConflict = errors.New("meta: already exists")

// Attributes are ACR's changeable attributes (locks) of a repository, tag or
// manifest. The zero value is not useful; use DefaultAttributes.
type Attributes struct {
	DeleteEnabled bool `json:"deleteEnabled"`
	WriteEnabled  bool `json:"writeEnabled"`
	ReadEnabled   bool `json:"readEnabled"`
	ListEnabled   bool `json:"listEnabled"`
}

// DefaultAttributes allows everything.
func DefaultAttributes() Attributes {
	return Attributes{DeleteEnabled: true, WriteEnabled: true, ReadEnabled: true, ListEnabled: true}
}

// Registry is the top-level resource: a named registry with its own login server.
type Registry struct {
	ID          int64
	Name        string
	LoginServer string
	SKU         string
	Settings    RegistrySettings
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// Repository is a named collection of manifests and tags inside a registry.
type Repository struct {
	ID         int64
	RegistryID int64
	Name       string
	CreatedAt  time.Time
	UpdatedAt  time.Time
	Attributes Attributes
}

// RefKind says what a manifest reference points at.
type RefKind int

const (
	// RefBlob is a config or layer blob that must be linked in the repository.
	RefBlob RefKind = 0
	// RefManifest is a child manifest of an index.
	RefManifest RefKind = 1
)

// Ref is one content reference held by a manifest; GC and retention follow them.
type Ref struct {
	Digest digest.Digest
	Kind   RefKind
}

// Manifest is an immutable manifest stored in one repository.
type Manifest struct {
	ID              int64
	RepositoryID    int64
	Digest          digest.Digest
	MediaType       string
	ArtifactType    string
	ConfigMediaType string
	Subject         digest.Digest // empty when the manifest has no subject
	Size            int64         // length of Content
	ImageSize       int64         // manifest plus the blobs it references directly
	Annotations     map[string]string
	Architecture    string
	OS              string
	Content         []byte // nil when loaded without content
	Refs            []Ref  // written on insert; not loaded by reads
	CreatedAt       time.Time
	UpdatedAt       time.Time
	LastPulledAt    time.Time // zero: never (recorded in batches, so a few seconds late)
	UntaggedAt      time.Time // zero: tagged (or never tagged before lifecycle tracking)
	Attributes      Attributes
}

// Tag is a mutable name pointing at a manifest of the same repository.
type Tag struct {
	RepositoryID int64
	Name         string
	ManifestID   int64
	Digest       digest.Digest
	CreatedAt    time.Time
	UpdatedAt    time.Time
	LastPulledAt time.Time // zero: never
	Attributes   Attributes
}

// Upload is an in-progress blob upload session. Its bytes live in the blob
// upload store; this row binds the session to a registry and repository.
type Upload struct {
	ID         string
	RegistryID int64
	Repository string
	Principal  string // who opened it ("" without an identity); open sessions are capped per principal
	CreatedAt  time.Time
}

// Event is one outbox row: a change to announce (webhooks, audit, replication).
type Event struct {
	ID         int64
	RegistryID int64
	Action     string // push, delete, ...
	Repository string
	Tag        string
	Digest     digest.Digest
	MediaType  string
	Size       int64
	Payload    []byte // the JSON document delivered to consumers
	CreatedAt  time.Time
}

// Page selects a key range: entries after Last, at most N of them (N > 0).
type Page struct {
	Last string
	N    int
}

// Registries stores registries.
type Registries interface {
	CreateRegistry(ctx context.Context, r *Registry) error
	GetRegistry(ctx context.Context, name string) (*Registry, error)
	RegistryByLoginServer(ctx context.Context, host string) (*Registry, error)
	ListRegistries(ctx context.Context, p Page) ([]Registry, error)
	UpdateRegistry(ctx context.Context, r *Registry) error // SKU, settings
	DeleteRegistry(ctx context.Context, id int64) error
}

// Repositories stores repositories.
type Repositories interface {
	// EnsureRepository returns the repository, creating it when absent.
	EnsureRepository(ctx context.Context, registryID int64, name string) (*Repository, error)
	GetRepository(ctx context.Context, registryID int64, name string) (*Repository, error)
	// ListRepositories lists names of listable repositories holding at least one manifest.
	ListRepositories(ctx context.Context, registryID int64, p Page) ([]string, error)
	// TouchRepository sets the repository's last update time.
	TouchRepository(ctx context.Context, id int64, at time.Time) error
	// RepositoryName returns a repository's name, or ErrNotFound.
	RepositoryName(ctx context.Context, repositoryID int64) (string, error)
	// RegistryOfRepository returns a repository's registry id, or ErrNotFound.
	RegistryOfRepository(ctx context.Context, repositoryID int64) (int64, error)
}

// Blobs stores the global blob index and per-repository links.
type Blobs interface {
	// PutBlob records a stored blob; recording an existing one is a no-op.
	// created tells whether the record is new (so that no repository can
	// link the blob yet).
	PutBlob(ctx context.Context, d digest.Digest, size int64, at time.Time) (created bool, err error)
	// LinkBlob makes a recorded blob readable in a repository (idempotent).
	LinkBlob(ctx context.Context, repositoryID int64, d digest.Digest, at time.Time) error
	// LinkedBlob returns the size of a blob linked in the repository, or ErrNotFound.
	LinkedBlob(ctx context.Context, repositoryID int64, d digest.Digest) (int64, error)
	// ReadableBlob is LinkedBlob that also reports whether the blob may be
	// read: not when manifests of the repository reference it and every one
	// of them has readEnabled=false (a blob no manifest references, such as
	// a fresh upload, is readable).
	ReadableBlob(ctx context.Context, repositoryID int64, d digest.Digest) (size int64, readable bool, err error)
	// ReposLinkingBlob lists (up to n) repositories of the registry that link d.
	ReposLinkingBlob(ctx context.Context, registryID int64, d digest.Digest, n int) ([]string, error)
	// UnlinkBlob removes the link; ErrNotFound when there was none.
	UnlinkBlob(ctx context.Context, repositoryID int64, d digest.Digest) error
	// ListLinks lists all of a repository's blob links, by digest (unpaged:
	// it serves deleting the repository, in one transaction).
	ListLinks(ctx context.Context, repositoryID int64) ([]digest.Digest, error)
}

// BlobContents keeps the bytes of small blobs in the metadata store, in
// the transaction that records and links them; a blob's bytes go with
// its record (DeleteBlob).
type BlobContents interface {
	// PutBlobContent stores a recorded blob's bytes; storing them again is a no-op.
	PutBlobContent(ctx context.Context, d digest.Digest, content []byte) error
	// BlobContent returns a blob's stored bytes, or ErrNotFound when it has none.
	BlobContent(ctx context.Context, d digest.Digest) ([]byte, error)
	// BlobContentSize is the size of a blob's stored bytes, without
	// reading them, or ErrNotFound when it has none.
	BlobContentSize(ctx context.Context, d digest.Digest) (int64, error)
}

// Manifests stores manifests and their references.
type Manifests interface {
	// PutManifest inserts m (with its Refs) unless the repository already has
	// that digest; either way m.ID is set. created reports an insert.
	PutManifest(ctx context.Context, m *Manifest) (created bool, err error)
	// GetManifest loads a manifest; with content only when withContent is set.
	GetManifest(ctx context.Context, repositoryID int64, d digest.Digest, withContent bool) (*Manifest, error)
	// RefsOf lists what a manifest references.
	RefsOf(ctx context.Context, manifestID int64) ([]Ref, error)
	// DeleteManifest removes a manifest and, with it, every tag pointing at it.
	DeleteManifest(ctx context.Context, repositoryID int64, d digest.Digest) error
	// ResolveManifest loads, in one read, a repository, the tag named by ref
	// (nil when ref is a digest) and the manifest ref names. It returns
	// ErrNotFound when the repository does not exist; repo set and m nil
	// when the tag or manifest does not.
	ResolveManifest(ctx context.Context, registryID int64, repo, ref string, withContent bool) (r *Repository, t *Tag, m *Manifest, err error)
	// Referrers lists manifests whose subject is d, optionally of one
	// artifact type: the listable ones (listEnabled), or all with hidden.
	Referrers(ctx context.Context, repositoryID int64, d digest.Digest, artifactType string, hidden bool) ([]Manifest, error)
}

// Tags stores tags.
type Tags interface {
	// PutTag points name at a manifest, creating or moving the tag.
	PutTag(ctx context.Context, repositoryID int64, name string, manifestID int64, at time.Time) error
	// GetTag loads a tag with the digest it points at.
	GetTag(ctx context.Context, repositoryID int64, name string) (*Tag, error)
	DeleteTag(ctx context.Context, repositoryID int64, name string) error
	ListTags(ctx context.Context, repositoryID int64, p Page) ([]string, error)
}

// Uploads stores upload sessions.
type Uploads interface {
	CreateUpload(ctx context.Context, u *Upload) error
	GetUpload(ctx context.Context, id string) (*Upload, error)
	DeleteUpload(ctx context.Context, id string) error
	CountUploads(ctx context.Context) (int, error)
	// OpenUploads counts the sessions open in a registry and those opened
	// by principal (0 when principal is "").
	OpenUploads(ctx context.Context, registryID int64, principal string) (inRegistry, byPrincipal int, err error)
	// StaleUploads lists up to n sessions opened before before, oldest first.
	StaleUploads(ctx context.Context, before time.Time, n int) ([]Upload, error)
}

// Outbox stores events for at-least-once delivery.
type Outbox interface {
	AppendEvent(ctx context.Context, e *Event) error
	// ListEvents returns events with ID greater than after, oldest first.
	ListEvents(ctx context.Context, after int64, n int) ([]Event, error)
}

// Queries is everything a transaction (or a plain read) can do.
type Queries interface {
	Registries
	Repositories
	Blobs
	BlobContents
	Manifests
	Tags
	Uploads
	Outbox
	Details
	GCQueue
	BlobGC
	Usage
	UntaggedTimes
	PullTimes
	Retention
	PurgeSchedules
	Webhooks
	EventFeed
	WebhookDeliveries
	Principals
	Credentials
	RoleAssignments
	ScopeMaps
	SigningKeys
	Audit
	AppPlans
	WebApps
	Tasks
	TaskTriggers
	TaskSources
	Runs
	RunHistory
	RunLogs
	Vaults
	VaultSealing
	SealKeyCheck
}

// Store gives access to the metadata.
type Store interface {
	// Read returns Queries for reads outside a transaction; writes through it fail.
	Read() Queries
	// Tx runs fn in one serializable read-write transaction, committed when
	// fn returns nil and rolled back otherwise. fn may run more than once
	// (a backend retries transactions that lost a serialization race), so
	// it must not have effects outside the transaction that are unsafe to
	// repeat or to keep after a rollback.
	Tx(ctx context.Context, fn func(q Queries) error) error
	// Ping checks that the store answers.
	Ping(ctx context.Context) error
	Close() error
}
