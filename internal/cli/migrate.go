package cli

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/acre-project/acre/internal/blob"
	"github.com/acre-project/acre/internal/blob/fs"
	"github.com/acre-project/acre/internal/config"
	"github.com/acre-project/acre/internal/meta/sqlstore"
	"github.com/acre-project/acre/internal/server"
	"github.com/google/uuid"
	"github.com/opencontainers/go-digest"
	"github.com/spf13/cobra"
)

func newMigrateCmd(g *globals) *cobra.Command {
	var from, cfgFile, keyFile string
	var verifyOnly bool
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Move an embedded registry (SQLite + filesystem) to the stores a configuration names",
		Long: `Copies every metadata row of the embedded store in --from-data into the (empty)
metadata store of --config (PostgreSQL), and every blob into its blob store (S3 or
Azure Blob; each blob's digest is verified as it is written), then checks that
every table has the same rows and every blob arrived whole. Stop acre first.

Every table is copied, Key Vault, tasks, runs and web apps included, with its
ids. Secrets (Key Vault values, tasks' secrets and registry credentials) stay
sealed under the embedded registry's key file (--from-key-file, by default
<from-data>/secret.key): every node serving the destination needs that same
file. When --config names secret_key_file, a missing file there becomes a copy
of it (an existing one must equal it); otherwise copy it to each node's
<data>/secret.key. A node started with another key refuses to start.`,
		Example: "  acre migrate --from-data ./acre-data --config cluster.yaml",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			cfg, err := config.Load(cfgFile)
			if err != nil {
				return err
			}
			if err := cfg.Validate(); err != nil {
				return err
			}
			src, err := sqlstore.OpenSQLite(ctx, filepath.Join(from, "meta.db"), sqlstore.Options{})
			if err != nil {
				return fmt.Errorf("source metadata: %w", err)
			}
			defer src.Close()
			files, err := fs.New(filepath.Join(from, "blobs"))
			if err != nil {
				return err
			}
			// Blobs kept inline in the source database go to the blob store too.
			srcBlobs := server.ContentStore(files, src)
			m, dstBlobs, dstUploads, err := server.OpenStores(ctx, cfg)
			if err != nil {
				return fmt.Errorf("destination: %w", err)
			}
			defer m.Close()
			dst, ok := m.(*sqlstore.Store)
			if !ok {
				return errors.New("the destination metadata store is not SQL")
			}
			if keyFile == "" {
				keyFile = filepath.Join(from, "secret.key")
			}
			needKey, note, err := shareSealKey(ctx, src, cfg, keyFile, verifyOnly)
			if err != nil {
				return err
			}
			tables, err := sqlstore.CopyTables(ctx, src)
			if err != nil {
				return err
			}
			copied := map[string]int64{}
			if !verifyOnly {
				if copied, err = sqlstore.CopyAll(ctx, src, dst); err != nil {
					return err
				}
			}
			blobs, bytes := 0, int64(0)
			err = sqlstore.BlobDigests(ctx, src, func(ds string, size int64) error {
				d := digest.Digest(ds)
				if got, err := dstBlobs.Stat(ctx, d); err == nil && got == size {
					blobs++
					return nil
				}
				if verifyOnly {
					return fmt.Errorf("blob %s is missing at the destination", d)
				}
				if err := copyBlob(ctx, srcBlobs, dstUploads, d); err != nil {
					return fmt.Errorf("blob %s: %w", d, err)
				}
				blobs++
				bytes += size
				return nil
			})
			if err != nil {
				return err
			}
			a, err := sqlstore.Counts(ctx, src, tables)
			if err != nil {
				return err
			}
			b, err := sqlstore.Counts(ctx, dst, tables)
			if err != nil {
				return err
			}
			for t, n := range a {
				if b[t] != n {
					return fmt.Errorf("verify: table %s has %d rows at the source and %d at the destination", t, n, b[t])
				}
			}
			if note != "" {
				fmt.Fprintln(cmd.ErrOrStderr(), note)
			}
			return g.print(cmd, map[string]any{"rowsCopied": copied, "rowsVerified": a,
				"blobsVerified": blobs, "bytesCopied": bytes, "secretKeyFile": needKey, "status": "Succeeded"})
		},
	}
	cmd.Flags().StringVar(&from, "from-data", "./acre-data", "the embedded registry's data directory")
	cmd.Flags().StringVar(&cfgFile, "config", "", "configuration naming the destination stores")
	cmd.Flags().StringVar(&keyFile, "from-key-file", "", "the key file that sealed the embedded registry's secrets (default <from-data>/secret.key)")
	cmd.Flags().BoolVar(&verifyOnly, "verify-only", false, "only check that everything arrived")
	required(cmd, "config")
	return cmd
}

// copyBlob streams one blob into the destination, which verifies its digest.
func copyBlob(ctx context.Context, src blob.Store, dst blob.Uploads, d digest.Digest) error {
	rc, err := src.Open(ctx, d, 0)
	if err != nil {
		return err
	}
	defer rc.Close()
	id := uuid.NewString()
	if err := dst.Start(ctx, id); err != nil {
		return err
	}
	if _, err := dst.Append(ctx, id, 0, rc); err != nil {
		_ = dst.Abort(ctx, id)
		return err
	}
	if _, err := dst.Commit(ctx, id, d); err != nil {
		_ = dst.Abort(ctx, id)
		return err
	}
	return nil
}
