package tasks

import (
	"context"
	"errors"
)

// steps runs a multi-step YAML.
func (s *Service) steps(ctx context.Context, e *runEnv) error {
	return errors.New("multi-step runs are not supported yet")
}
