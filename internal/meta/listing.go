package meta

import (
	"context"

	"github.com/opencontainers/go-digest"
)

// Order is a listing order of ACR's data-plane API.
type Order string

// Orders: by key (name or digest), or by last update time.
const (
	OrderNone     Order = ""
	OrderTimeDesc Order = "timedesc"
	OrderTimeAsc  Order = "timeasc"
)

// ListQuery selects one page of a listing: entries after the one keyed
// Last (in the given order), at most N, optionally only those pointing at
// Digest (tags).
type ListQuery struct {
	Last   string
	N      int
	Order  Order
	Digest digest.Digest
	// Hidden includes entries with listEnabled=false (for lifecycle jobs).
	Hidden bool
}

// RepositoryDetails is a repository with its counts.
type RepositoryDetails struct {
	Repository
	ManifestCount int
	TagCount      int
}

// Details lists and updates what ACR's data-plane API shows.
type Details interface {
	RepositoryDetails(ctx context.Context, registryID int64, name string) (*RepositoryDetails, error)
	SetRepositoryAttributes(ctx context.Context, id int64, a Attributes) error
	// DeleteRepository removes a repository with its manifests, tags and links.
	DeleteRepository(ctx context.Context, id int64) error
	// ListTagDetails lists a repository's listable tags, with their digests.
	ListTagDetails(ctx context.Context, repositoryID int64, q ListQuery) ([]Tag, error)
	SetTagAttributes(ctx context.Context, repositoryID int64, name string, a Attributes) error
	// ListManifests lists a repository's listable manifests, without content.
	ListManifests(ctx context.Context, repositoryID int64, q ListQuery) ([]Manifest, error)
	SetManifestAttributes(ctx context.Context, repositoryID int64, d digest.Digest, a Attributes) error
	// TagsOf lists the names of the tags pointing at a manifest.
	TagsOf(ctx context.Context, manifestID int64) ([]Tag, error)
	// ReferencedBy reports whether another manifest of the repository (an index) references d.
	ReferencedBy(ctx context.Context, repositoryID int64, d digest.Digest) (bool, error)
}
