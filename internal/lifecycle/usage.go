package lifecycle

import (
	"context"

	"github.com/acre-project/acre/internal/meta"
)

// Usage returns a registry's exact usage in bytes: the counter the core
// keeps in the same transactions as the links and manifests it counts.
func (s *Service) Usage(ctx context.Context, reg *meta.Registry) (int64, error) {
	return s.meta.Read().Usage(ctx, reg.ID)
}

// StorageUsed counts the bytes a registry holds (each blob once) from its
// content; it agrees with Usage, and costs a read of every link.
func (s *Service) StorageUsed(ctx context.Context, reg *meta.Registry) (int64, error) {
	return s.meta.Read().StorageUsed(ctx, reg.ID)
}
