package auth

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/acre-project/acre/internal/meta"
)

// AuditLogin records a login attempt (never its secret), like ACR's LoginEvents.
func (s *Service) AuditLogin(ctx context.Context, reg *meta.Registry, r *http.Request, user, method string, err error, start time.Time) {
	result := "Success"
	var th *ThrottledError
	switch {
	case errors.As(err, &th):
		result = "Throttled"
	case err != nil:
		result = "Failed"
	}
	if user == RefreshTokenUser {
		user = "refresh-token"
	}
	var regID int64
	if reg != nil {
		regID = reg.ID
	}
	e := &meta.AuditEntry{At: time.Now().UTC(), RegistryID: regID, Category: "login", Operation: method, Identity: user,
		CallerIP: ClientIP(r), UserAgent: r.UserAgent(), Result: result, DurationMS: time.Since(start).Milliseconds()}
	if werr := s.meta.Tx(context.WithoutCancel(ctx), func(q meta.Queries) error { return q.AppendAudit(ctx, e) }); werr != nil {
		s.log.WarnContext(ctx, "audit login", "err", werr)
	}
	s.opts.OnLogin(method, result)
	s.log.InfoContext(ctx, "login", "user", user, "method", method, "result", result, "remote", e.CallerIP)
}
