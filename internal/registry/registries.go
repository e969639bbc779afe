package registry

import (
	"context"
	"errors"
	"time"

	"github.com/acre-project/acre/internal/errcode"
	"github.com/acre-project/acre/internal/meta"
	"github.com/acre-project/acre/internal/reference"
	skus "github.com/acre-project/acre/internal/sku"
)

// ValidRegistryName checks a registry name: 5-50 lower-case letters and
// digits, as ACR allows (acre also accepts shorter names of 2 or more).
func ValidRegistryName(name string) bool {
	if len(name) < 2 || len(name) > 50 {
		return false
	}
	for _, c := range name {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') {
			return false
		}
	}
	return reference.ValidateName(name) == nil
}

// CreateRegistry creates a registry served at <name>.<domain>.
func (s *Service) CreateRegistry(ctx context.Context, name, sku string) (*meta.Registry, error) {
	if !ValidRegistryName(name) {
		return nil, errcode.Errorf(errcode.NameInvalid, "registry name %q: use 2-50 lower-case letters and digits", name)
	}
	if sku == "" {
		sku = skus.Default
	}
	sku, ok := skus.Canonical(sku)
	if !ok {
		return nil, errcode.Errorf(errcode.InvalidArgument, "sku must be Basic, Standard or Premium")
	}
	now := time.Now().UTC()
	r := &meta.Registry{Name: name, LoginServer: HostName(name + "." + s.domain), SKU: sku, CreatedAt: now, UpdatedAt: now}
	err := s.meta.Tx(ctx, func(q Store) error { return q.CreateRegistry(ctx, r) })
	if errors.Is(err, meta.ErrConflict) {
		return nil, errcode.Errorf(errcode.Conflict, "a registry named %q exists", name)
	}
	s.ForgetRegistries()
	return r, err
}

// GetRegistry loads a registry by name.
func (s *Service) GetRegistry(ctx context.Context, name string) (*meta.Registry, error) {
	r, err := s.meta.Read().GetRegistry(ctx, name)
	if errors.Is(err, meta.ErrNotFound) {
		return nil, errcode.Errorf(errcode.NameUnknown, "no registry named %q", name)
	}
	return r, err
}

// ListRegistries lists registries by name.
func (s *Service) ListRegistries(ctx context.Context, p meta.Page) ([]meta.Registry, error) {
	return s.meta.Read().ListRegistries(ctx, p)
}

// UpdateRegistry applies change to a registry and saves it.
func (s *Service) UpdateRegistry(ctx context.Context, name string, change func(r *meta.Registry) error) (*meta.Registry, error) {
	var out *meta.Registry
	err := s.meta.Tx(ctx, func(q Store) error {
		r, err := q.GetRegistry(ctx, name)
		if errors.Is(err, meta.ErrNotFound) {
			return errcode.Errorf(errcode.NameUnknown, "no registry named %q", name)
		} else if err != nil {
			return err
		}
		if err := change(r); err != nil {
			return err
		}
		r.UpdatedAt = time.Now().UTC()
		out = r
		return q.UpdateRegistry(ctx, r)
	})
	s.ForgetRegistries()
	return out, err
}

// DeleteRegistry deletes a registry with its repositories, tokens and
// role assignments. The default registry cannot be deleted.
func (s *Service) DeleteRegistry(ctx context.Context, name string) error {
	if name == s.defaultRegistry {
		return errcode.Errorf(errcode.Denied, "the default registry %q cannot be deleted", name)
	}
	err := s.meta.Tx(ctx, func(q Store) error {
		r, err := q.GetRegistry(ctx, name)
		if errors.Is(err, meta.ErrNotFound) {
			return errcode.Errorf(errcode.NameUnknown, "no registry named %q", name)
		} else if err != nil {
			return err
		}
		return q.DeleteRegistry(ctx, r.ID)
	})
	s.ForgetRegistries()
	return err
}
