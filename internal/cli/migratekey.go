package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/acre-project/acre/internal/config"
	"github.com/acre-project/acre/internal/meta"
	"github.com/acre-project/acre/internal/meta/sqlstore"
	"github.com/acre-project/acre/internal/seal"
)

// shareSealKey gives the destination the key that sealed the source's
// secrets: acre migrate copies sealed values as they are, so the nodes
// serving the copy must open them with that key. When the destination's
// configuration names secret_key_file, a missing file becomes a copy of
// srcKey (unless verifyOnly) and an existing one must equal it; otherwise
// every node needs a copy of srcKey, as the returned note says. It returns
// the key file the destination's nodes need ("" when the source never
// sealed anything) and that note.
func shareSealKey(ctx context.Context, src *sqlstore.Store, cfg config.Config, srcKey string, verifyOnly bool) (string, string, error) {
	key, err := os.ReadFile(srcKey)
	if errors.Is(err, fs.ErrNotExist) {
		if _, err := src.Read().KeyCheck(ctx); errors.Is(err, meta.ErrNotFound) {
			return "", "", nil // the source never sealed a secret
		} else if err != nil {
			return "", "", err
		}
		return "", "", fmt.Errorf("the source's secrets are sealed under a key file that is not at %s: pass --from-key-file", srcKey)
	} else if err != nil {
		return "", "", fmt.Errorf("source key file: %w", err)
	}
	if _, err := seal.New(key); err != nil {
		return "", "", fmt.Errorf("source key file %s: %w", srcKey, err)
	}
	dst := cfg.SecretKeyFile
	if dst == "" {
		return srcKey, fmt.Sprintf("Secrets stay sealed under %s: give every node that serves the destination a copy of it "+
			"as its <data>/secret.key (mode 0600), or point secret_key_file: at one, before starting it.", srcKey), nil
	}
	have, err := os.ReadFile(dst)
	switch {
	case err == nil && !bytes.Equal(have, key):
		return "", "", fmt.Errorf("secret_key_file %s is not the key that sealed the source's secrets (%s): "+
			"remove it, or make it a copy of %s", dst, srcKey, srcKey)
	case err == nil:
	case !errors.Is(err, fs.ErrNotExist):
		return "", "", fmt.Errorf("secret_key_file: %w", err)
	case verifyOnly:
		return "", "", fmt.Errorf("secret_key_file %s is missing: it must be a copy of %s", dst, srcKey)
	default:
		if err := writeKeyFile(dst, key); err != nil {
			return "", "", fmt.Errorf("secret_key_file: %w", err)
		}
	}
	return dst, fmt.Sprintf("Secrets stay sealed under the source's key, now secret_key_file %s: "+
		"every node that serves the destination needs this file (mode 0600).", dst), nil
}

// writeKeyFile creates path (mode 0600, never replacing a file) holding key.
func writeKeyFile(path string, key []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(key); err != nil {
		f.Close()
		os.Remove(path)
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(path)
		return err
	}
	return f.Close()
}
