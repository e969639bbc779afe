package server

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/acre-project/acre/internal/blob"
	"github.com/acre-project/acre/internal/blob/azure"
	"github.com/acre-project/acre/internal/blob/fs"
	"github.com/acre-project/acre/internal/blob/s3"
	"github.com/acre-project/acre/internal/config"
	"github.com/acre-project/acre/internal/meta"
	"github.com/acre-project/acre/internal/meta/sqlstore"
	"github.com/acre-project/acre/internal/registry"
)

// blobStore is what the service needs of a blob backend.
type blobStore interface {
	blob.Store
	blob.Uploads
}

// openBlobs builds the configured blob store. Secrets may come from the
// environment ($ACRE_S3_SECRET_KEY, $ACRE_AZURE_ACCOUNT_KEY).
func openBlobs(ctx context.Context, cfg config.Config) (blobStore, error) {
	b := cfg.Storage.Blobs
	switch b.Type {
	case "", "fs":
		return fs.New(filepath.Join(cfg.Data, "blobs"))
	case "s3":
		secret := b.S3.SecretKey
		if v := os.Getenv("ACRE_S3_SECRET_KEY"); v != "" {
			secret = v
		}
		return s3.New(ctx, s3.Options{Endpoint: b.S3.Endpoint, Region: b.S3.Region, Bucket: b.S3.Bucket, Prefix: b.S3.Prefix,
			AccessKey: b.S3.AccessKey, SecretKey: secret, UsePathStyle: b.S3.PathStyle, PartSize: b.S3.PartSizeMiB << 20})
	case "azure":
		key := b.Azure.AccountKey
		if v := os.Getenv("ACRE_AZURE_ACCOUNT_KEY"); v != "" {
			key = v
		}
		return azure.New(ctx, azure.Options{ServiceURL: b.Azure.ServiceURL, AccountName: b.Azure.AccountName, AccountKey: key,
			Container: b.Azure.Container, Prefix: b.Azure.Prefix})
	}
	return nil, fmt.Errorf("storage.blobs.type %q: use fs, s3 or azure", b.Type)
}

// inlineMax is the size up to which blobs pushed whole are kept in the
// metadata store: with the fs store only, whose per-blob file creation and
// syncs cost more than small bytes do (object stores keep every blob, so
// that their own replication and lifecycle see them all).
func inlineMax(b config.Blobs) int {
	if b.Type != "" && b.Type != "fs" {
		return 0
	}
	return b.InlineMaxKiB << 10
}

// ContentStore returns b reading also the blobs kept inline in m (see
// registry.NewContentStore).
func ContentStore(b blob.Store, m meta.Store) blob.Store {
	return registry.NewContentStore(b, meta.Narrow(m, func(q meta.Queries) meta.BlobContents { return q }))
}

// openMeta opens PostgreSQL when a DSN is configured (or in
// $ACRE_POSTGRES_DSN), else SQLite under the data directory.
func openMeta(ctx context.Context, cfg config.Config) (meta.Store, error) {
	dsn := cfg.Storage.Postgres.DSN
	if v := os.Getenv("ACRE_POSTGRES_DSN"); v != "" {
		dsn = v
	}
	if dsn != "" {
		return sqlstore.OpenPostgres(ctx, dsn, sqlstore.Options{})
	}
	return sqlstore.OpenSQLite(ctx, filepath.Join(cfg.Data, "meta.db"), sqlstore.Options{Synchronous: cfg.Storage.SQLite.Synchronous})
}

// OpenStores opens the metadata and blob stores a configuration names
// (for tools such as acre migrate). The caller closes the metadata store.
func OpenStores(ctx context.Context, cfg config.Config) (meta.Store, blob.Store, blob.Uploads, error) {
	b, err := openBlobs(ctx, cfg)
	if err != nil {
		return nil, nil, nil, err
	}
	m, err := openMeta(ctx, cfg)
	if err != nil {
		return nil, nil, nil, err
	}
	return m, b, b, nil
}
