// Package metatest is the conformance suite every metadata backend must
// pass. A backend's own test calls Run with a constructor for a fresh, empty
// store:
//
//	func TestConformance(t *testing.T) {
//		metatest.Run(t, func(t *testing.T) meta.Store { return open(t) })
//	}
//
// Run closes each store it opens when the subtest using it ends.
package metatest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/acre-project/acre/internal/meta"
	"github.com/opencontainers/go-digest"
)

// AttributeSetter is implemented by stores (or by a backend test's wrapper
// around one) that can change the attributes of repositories and tags. The
// subtests checking that listEnabled is respected skip without it.
type AttributeSetter interface {
	SetRepositoryAttributes(ctx context.Context, repositoryID int64, a meta.Attributes) error
	SetTagAttributes(ctx context.Context, repositoryID int64, tag string, a meta.Attributes) error
}

// Run runs the suite. Subtests run in parallel, each on its own store.
func Run(t *testing.T, open func(t *testing.T) meta.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s meta.Store)
	}{
		{"Ping", testPing},
		{"Registries", testRegistries},
		{"RegistryConflict", testRegistryConflict},
		{"ListRegistries", testListRegistries},
		{"UpdateAndDeleteRegistry", testUpdateDeleteRegistry},
		{"Repositories", testRepositories},
		{"ListRepositories", testListRepositories},
		{"ListRepositoriesListEnabled", testListRepositoriesListEnabled},
		{"Blobs", testBlobs},
		{"BlobContents", testBlobContents},
		{"TaskSources", testTaskSources},
		{"Manifests", testManifests},
		{"ManifestSameDigestTwoRepositories", testManifestTwoRepositories},
		{"DeleteManifestCascadesTags", testDeleteManifest},
		{"Referrers", testReferrers},
		{"ReferrersListEnabled", testReferrersListEnabled},
		{"ReadableBlob", testReadableBlob},
		{"LinkReferenced", testLinkReferenced},
		{"Tags", testTags},
		{"ResolveSeesWrites", testResolveSeesWrites},
		{"ListTags", testListTags},
		{"ListTagsListEnabled", testListTagsListEnabled},
		{"Uploads", testUploads},
		{"OpenUploads", testOpenUploads},
		{"Outbox", testOutbox},
		{"TxRollback", testTxRollback},
		{"TxRollbackKeepsExisting", testTxRollbackKeepsExisting},
		{"TxIsolation", testTxIsolation},
		{"ReadRefusesWrites", testReadRefusesWrites},
		{"ConcurrentTx", testConcurrentTx},
		{"RelaxedTx", testRelaxedTx},
		{"IDsNeverReused", testIDsNeverReused},
		{"AuditBounded", testAuditBounded},
		{"RunQueue", testRunQueue},
		{"RunLogs", testRunLogs},
		{"Tasks", testTasks},
		{"VaultSealing", testVaultSealing},
		{"SealKeyCheck", testSealKeyCheck},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := open(t)
			t.Cleanup(func() {
				if err := s.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
			})
			tt.fn(t, s)
		})
	}
}

// base is a fixed time with microsecond precision, which every backend keeps.
var base = time.Date(2024, 5, 6, 7, 8, 9, 123456000, time.UTC)

func at(sec int) time.Time { return base.Add(time.Duration(sec) * time.Second) }

func tx(t *testing.T, s meta.Store, fn func(q meta.Queries) error) {
	t.Helper()
	if err := s.Tx(t.Context(), fn); err != nil {
		t.Fatalf("Tx: %v", err)
	}
}

// putBlob records a blob in a transaction of its own and tells whether
// the record is new.
func putBlob(t *testing.T, s meta.Store, d digest.Digest, n int64, when time.Time) (created bool) {
	t.Helper()
	tx(t, s, func(q meta.Queries) (err error) {
		created, err = q.PutBlob(t.Context(), d, n, when)
		return err
	})
	return created
}

func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: err = %v, want %v", what, err, want)
	}
}

func ok(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func sameTime(t *testing.T, what string, got, want time.Time) {
	t.Helper()
	if !got.Equal(want) {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

func sameStrings(t *testing.T, what string, got, want []string) {
	t.Helper()
	if len(got) == 0 && len(want) == 0 {
		return
	}
	if !slices.Equal(got, want) {
		t.Fatalf("%s = %q, want %q", what, got, want)
	}
}

func mkRegistry(t *testing.T, s meta.Store, name string) *meta.Registry {
	t.Helper()
	r := &meta.Registry{Name: name, LoginServer: name + ".example.com", SKU: "Standard", CreatedAt: at(0), UpdatedAt: at(1)}
	tx(t, s, func(q meta.Queries) error { return q.CreateRegistry(t.Context(), r) })
	if r.ID == 0 {
		t.Fatal("CreateRegistry left ID 0")
	}
	return r
}

func mkRepo(t *testing.T, s meta.Store, regID int64, name string) *meta.Repository {
	t.Helper()
	var r *meta.Repository
	tx(t, s, func(q meta.Queries) error {
		var err error
		r, err = q.EnsureRepository(t.Context(), regID, name)
		return err
	})
	return r
}

// newManifest builds an image manifest row whose content is derived from seed.
func newManifest(repoID int64, seed string) *meta.Manifest {
	content := []byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","seed":"` + seed + `"}`)
	return &meta.Manifest{
		RepositoryID:    repoID,
		Digest:          digest.FromBytes(content),
		MediaType:       "application/vnd.oci.image.manifest.v1+json",
		ConfigMediaType: "application/vnd.oci.image.config.v1+json",
		Size:            int64(len(content)),
		ImageSize:       int64(len(content)) + 100,
		Content:         content,
		CreatedAt:       at(10),
		UpdatedAt:       at(11),
	}
}

func putManifest(t *testing.T, s meta.Store, m *meta.Manifest) *meta.Manifest {
	t.Helper()
	tx(t, s, func(q meta.Queries) error {
		created, err := q.PutManifest(t.Context(), m)
		if err == nil && !created {
			return fmt.Errorf("PutManifest(%s) did not create", m.Digest)
		}
		return err
	})
	if m.ID == 0 {
		t.Fatal("PutManifest left ID 0")
	}
	return m
}

func mkManifest(t *testing.T, s meta.Store, repoID int64, seed string) *meta.Manifest {
	t.Helper()
	return putManifest(t, s, newManifest(repoID, seed))
}

func putTag(t *testing.T, s meta.Store, repoID int64, name string, m *meta.Manifest, when time.Time) {
	t.Helper()
	tx(t, s, func(q meta.Queries) error { return q.PutTag(t.Context(), repoID, name, m.ID, when) })
}
