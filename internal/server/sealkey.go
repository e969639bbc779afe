package server

import (
	"context"
	"errors"
	"fmt"

	"github.com/acre-project/acre/internal/meta"
	"github.com/acre-project/acre/internal/seal"
)

// sealCheckText is what the key check seals.
const sealCheckText, sealCheckLabel = "acre seal key check", "seal-key-check"

// checkSealKey makes sure this node seals secrets with the key the
// metadata store's other nodes use: the first node to start stores a value
// sealed under its key; a node whose key does not open it refuses to start
// (it would seal values the others cannot open, and open none of theirs).
func checkSealKey(ctx context.Context, m meta.View[meta.SealKeyCheck], box *seal.Box, keyFile string) error {
	err := checkSealKeyOnce(ctx, m, box, keyFile)
	if errors.Is(err, meta.ErrConflict) { // another node stored its check first
		err = checkSealKeyOnce(ctx, m, box, keyFile)
	}
	return err
}

func checkSealKeyOnce(ctx context.Context, m meta.View[meta.SealKeyCheck], box *seal.Box, keyFile string) error {
	return m.Tx(ctx, func(q meta.SealKeyCheck) error {
		stored, err := q.KeyCheck(ctx)
		if errors.Is(err, meta.ErrNotFound) {
			v, err := box.Seal(sealCheckText, sealCheckLabel)
			if err != nil {
				return err
			}
			return q.PutKeyCheck(ctx, v)
		} else if err != nil {
			return err
		}
		if v, err := box.Open(stored, sealCheckLabel); err != nil || v != sealCheckText {
			return fmt.Errorf("the secret key file %s is not the key this metadata store's secrets are sealed with: "+
				"copy the key file of a node that started before (or point secret_key_file at it)", keyFile)
		}
		return nil
	})
}
