package auth

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/acre-project/acre/internal/meta"
)

// Sign-in methods, as the audit log names them.
const (
	MethodBasic      = "basic"         // Basic credentials on /v2/, /acr/v1/ or GET /oauth2/token
	MethodPassword   = "password"      // POST /oauth2/token, grant_type=password
	MethodRefresh    = "refresh_token" // POST /oauth2/token, grant_type=refresh_token
	MethodExchange   = "exchange"      // POST /oauth2/exchange
	MethodSession    = "session"       // POST /api/v1/session
	MethodManagement = "management"    // Basic credentials on /api/v1/ and /metrics
)

// DeniedError is a refused sign-in; it matches ErrDenied, and its text
// says why in words fit for the client.
type DeniedError struct{ Reason string }

func (e *DeniedError) Error() string        { return e.Reason }
func (e *DeniedError) Is(target error) bool { return target == ErrDenied }

var (
	errWrongPassword = &DeniedError{Reason: "wrong user name or password"}
	errBadSession    = &DeniedError{Reason: "the session is invalid or expired: sign in again"}
)

// Attempt is one sign-in with a user name and password.
type Attempt struct {
	Registry *meta.Registry // nil: a server-wide sign-in (management API)
	User     string
	Password string
	Method   string // Method*
	// AuditAlways writes a success to the audit log even when the
	// credentials were checked recently (else only fresh checks are).
	AuditAlways bool
}

// SignIn is the one way a password becomes an identity: it throttles the
// client of r after failed attempts (ThrottledError), bounds the password
// hashes running at once (ThrottledError with Busy), checks the
// credentials (ErrDenied, as a DeniedError), and audits the attempt.
func (s *Service) SignIn(r *http.Request, a Attempt) (*meta.Principal, error) {
	ctx := r.Context()
	start := time.Now()
	addr := ClientIP(r)
	var regID int64
	if a.Registry != nil {
		regID = a.Registry.ID
	}
	te := throttledEntry{registryID: regID, user: bounded(a.User), method: a.Method, addr: addr, agent: bounded(r.UserAgent())}
	if wait, audit := s.throttle.wait(start, te); wait > 0 {
		err := &ThrottledError{RetryAfter: wait}
		if audit {
			s.audit(ctx, r, a.Registry, nil, a.User, a.Method, err, start)
		}
		s.opts.OnLogin(a.Method, "Throttled")
		return nil, err
	}
	p, fresh, err := s.login(ctx, a.Registry, a.User, a.Password)
	if errors.Is(err, ErrDenied) {
		s.throttle.fail(time.Now(), addr, a.User)
	}
	if fresh || err != nil || a.AuditAlways {
		s.audit(ctx, r, a.Registry, p, a.User, a.Method, err, start)
	}
	return p, err
}

// Refresh verifies a refresh token for reg (grant_type=refresh_token) and
// audits the attempt. What the principal may do is read anew by the caller.
func (s *Service) Refresh(r *http.Request, reg *meta.Registry, token string) (*meta.Principal, error) {
	start := time.Now()
	_, p, err := s.VerifyToken(r.Context(), token, reg.LoginServer, TypeRefresh)
	if err == nil && (p == nil || !s.usable(p, reg)) {
		err = ErrToken
	}
	if err != nil {
		err = &DeniedError{Reason: "the refresh token is invalid, expired, revoked or for another registry"}
	}
	s.audit(r.Context(), r, reg, p, "refresh-token", MethodRefresh, err, start)
	return p, err
}

// Exchange verifies an identity token for /oauth2/exchange and audits the
// attempt: a management session (acre's analog of the Entra ID token ACR
// takes). The registry's own access and refresh tokens are refused, so
// that a token can never renew itself.
func (s *Service) Exchange(r *http.Request, reg *meta.Registry, token string) (*meta.Principal, error) {
	start := time.Now()
	_, p, err := s.VerifyToken(r.Context(), token, ManagementAudience, TypeSession)
	if err == nil && !s.usable(p, reg) {
		err = ErrToken
	}
	user := "token"
	if err != nil {
		err = &DeniedError{Reason: "the identity token is invalid, expired or revoked: sign in again (acre login)"}
	} else {
		user = p.Name
	}
	s.audit(r.Context(), r, reg, p, user, MethodExchange, err, start)
	return p, err
}

// Caller authenticates a management request (the management API and the
// metrics of the main listener): a session token (Bearer) or Basic
// credentials of a server-wide identity.
func (s *Service) Caller(r *http.Request) (*meta.Principal, error) {
	scheme, cred, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	switch {
	case strings.EqualFold(scheme, "Bearer"):
		_, p, err := s.VerifyToken(r.Context(), strings.TrimSpace(cred), ManagementAudience, TypeSession)
		if err != nil || p == nil || p.RegistryID != 0 {
			return nil, errBadSession
		}
		return p, nil
	case strings.EqualFold(scheme, "Basic"):
		user, pass, _ := r.BasicAuth()
		return s.SignIn(r, Attempt{User: user, Password: pass, Method: MethodManagement})
	}
	return nil, &DeniedError{Reason: "sign in: send a session token or Basic credentials"}
}

// audit records a sign-in attempt (never its secret), like ACR's LoginEvents.
func (s *Service) audit(ctx context.Context, r *http.Request, reg *meta.Registry, p *meta.Principal, user, method string, err error, start time.Time) {
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
	e := &meta.AuditEntry{At: time.Now().UTC(), Category: "login", Operation: method, Identity: user,
		CallerIP: ClientIP(r), UserAgent: r.UserAgent(), Result: result, DurationMS: time.Since(start).Milliseconds(), Attempts: 1}
	if reg != nil {
		e.RegistryID = reg.ID
	}
	if p != nil && err == nil {
		e.PrincipalKind, e.PrincipalID = p.Kind, p.UID
	}
	s.writeAudit(ctx, e)
	s.opts.OnLogin(method, result)
	s.log.InfoContext(ctx, "login", "user", bounded(user), "method", method, "result", result, "remote", e.CallerIP)
}

func (s *Service) writeAudit(ctx context.Context, e *meta.AuditEntry) {
	ctx = context.WithoutCancel(ctx)
	if werr := s.meta.Tx(ctx, func(q Store) error { return q.AppendAudit(ctx, e) }); werr != nil {
		s.log.WarnContext(ctx, "audit login", "err", werr)
	}
}

// auditThrottled writes one audit entry per window of throttled attempts
// that were counted rather than written one by one.
func (s *Service) auditThrottled(ctx context.Context, now time.Time) {
	for _, t := range s.throttle.sweep(now) {
		s.writeAudit(ctx, &meta.AuditEntry{At: now.UTC(), RegistryID: t.registryID, Category: "login", Operation: t.method,
			Identity: t.user, CallerIP: t.addr, UserAgent: t.agent, Result: "Throttled", Attempts: t.n})
	}
}

// bounded cuts client-supplied text to what the audit log keeps.
func bounded(s string) string { return meta.Bound(s) }
