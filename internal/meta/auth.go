package meta

import (
	"context"
	"strings"
	"time"
	"unicode/utf8"
)

// Principal kinds.
const (
	KindUser             = "user"
	KindServicePrincipal = "serviceprincipal"
	KindManagedIdentity  = "managedidentity"
	KindToken            = "token"
	KindAdmin            = "admin"
)

// Principal is an identity that can authenticate.
type Principal struct {
	ID         int64  // never reused
	UID        string // random, never reused: what tokens name (set by CreatePrincipal)
	Kind       string
	Name       string // login name: user name, app id, token name, or the registry name for its admin user
	RegistryID int64  // 0 for server-wide identities
	ScopeMap   string // tokens: the scope map granting their access
	Enabled    bool
	// TokenGen and GrantGen move on with each revocation: a token carries
	// the values it was issued under. TokenGen ends every token (a secret
	// reset or renewed, a token disabled); GrantGen ends access tokens whose
	// grants were taken away (a role removed, a scope map narrowed).
	TokenGen  int64
	GrantGen  int64
	CreatedAt time.Time
}

// Revocation says which tokens of a principal RevokeTokens ends.
type Revocation int

const (
	// RevokeAll ends every token: access, refresh and session.
	RevokeAll Revocation = iota
	// RevokeAccess ends access tokens only (their grants are stale;
	// refresh and session tokens read grants anew on each use).
	RevokeAccess
)

// Credential is a hashed secret of a principal (password, password2, secret).
type Credential struct {
	PrincipalID int64
	Name        string
	Hash        string
	ExpiresAt   time.Time // zero: never
	CreatedAt   time.Time
}

// RoleAssignment grants a role to a principal at a scope.
type RoleAssignment struct {
	ID          int64
	PrincipalID int64
	Role        string
	RegistryID  int64  // 0: every registry
	Repository  string // "": the whole registry
	CreatedAt   time.Time
}

// ScopeMap is a named list of repository actions of one registry.
type ScopeMap struct {
	RegistryID  int64
	Name        string
	Description string
	Actions     []string // repositories/<repo>/<action>
	CreatedAt   time.Time
}

// SigningKey is a token signing key (PKCS#8 DER).
type SigningKey struct {
	ID         string
	PrivateKey []byte
	CreatedAt  time.Time
	RetiredAt  time.Time // zero: still signs
}

// AuditEntry is one audit log line, shaped like ACR's RepositoryEvents and LoginEvents.
type AuditEntry struct {
	ID         int64     `json:"id"`
	At         time.Time `json:"time"`
	RegistryID int64     `json:"-"`
	Category   string    `json:"category"`      // login, repository
	Operation  string    `json:"operationName"` // Pull, Push, Delete, Untag; basic, password, ... for logins
	Identity   string    `json:"identity"`
	// PrincipalKind and PrincipalID (the principal's uid) say who acted
	// when the name alone could mean another identity; empty for
	// anonymous callers and failed sign-ins.
	PrincipalKind string `json:"principalType,omitempty"`
	PrincipalID   string `json:"principalId,omitempty"`
	Repository    string `json:"repository,omitempty"`
	Tag           string `json:"tag,omitempty"`
	Digest        string `json:"digest,omitempty"`
	MediaType     string `json:"mediaType,omitempty"`
	Size          int64  `json:"size,omitempty"`
	CallerIP      string `json:"callerIpAddress"`
	UserAgent     string `json:"userAgent"`
	Result        string `json:"resultType"`
	DurationMS    int64  `json:"durationMs"`
	// Attempts counts the attempts one entry stands for: repeated
	// throttled sign-ins are written as one entry per window, and pulls
	// alike but for their time as one entry per write of the audit log.
	Attempts int `json:"attempts,omitempty"`
}

// MaxStoredText bounds each client-supplied text the audit log keeps
// (user names, user agents, addresses, repository names, tags).
const MaxStoredText = 256

// Bound makes client-supplied text fit to store: valid UTF-8 without NUL
// (PostgreSQL refuses both, which would lose the entry), cut to
// MaxStoredText bytes on a character boundary.
func Bound(s string) string {
	if len(s) > 4*MaxStoredText {
		s = s[:4*MaxStoredText] // what is cut off needs no cleaning
	}
	if !utf8.ValidString(s) || strings.IndexByte(s, 0) >= 0 {
		s = strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
	}
	if len(s) <= MaxStoredText {
		return s
	}
	s = s[:MaxStoredText]
	for len(s) > 0 {
		if r, n := utf8.DecodeLastRuneInString(s); r != utf8.RuneError || n > 1 {
			break
		}
		s = s[:len(s)-1]
	}
	return s
}

// Bounded returns e with every client-supplied text cut by Bound; the
// stores call it on every entry they append.
func (e AuditEntry) Bounded() AuditEntry {
	for _, f := range []*string{&e.Operation, &e.Identity, &e.Repository, &e.Tag, &e.Digest, &e.MediaType, &e.CallerIP,
		&e.UserAgent, &e.Result, &e.Category, &e.PrincipalKind, &e.PrincipalID} {
		*f = Bound(*f)
	}
	if e.Attempts < 1 {
		e.Attempts = 1
	}
	return e
}

// RegistrySettings are the access settings of a registry.
type RegistrySettings struct {
	AdminEnabled  bool
	AnonymousPull bool
	Throttling    bool // enforce the SKU's read and write operation rates
}

// Principals stores the identities that can authenticate: users, service
// principals, managed identities, repository-scoped tokens and each
// registry's admin user. Login names are unique per registry (0:
// server-wide); IDs and UIDs are never reused.
type Principals interface {
	CreatePrincipal(ctx context.Context, p *Principal) error // ErrConflict when the name is taken
	// PrincipalByName finds a login name: first among the registry's own
	// principals (tokens, admin user), then among server-wide ones.
	PrincipalByName(ctx context.Context, registryID int64, name string) (*Principal, error)
	GetPrincipal(ctx context.Context, id int64) (*Principal, error)
	PrincipalByUID(ctx context.Context, uid string) (*Principal, error)
	// PrincipalsNamed lists every principal with a login name, server-wide
	// or of any registry.
	PrincipalsNamed(ctx context.Context, name string) ([]Principal, error)
	ListPrincipals(ctx context.Context, registryID int64, kind string) ([]Principal, error)
	SetPrincipalEnabled(ctx context.Context, id int64, enabled bool) error
	SetPrincipalScopeMap(ctx context.Context, id int64, scopeMap string) error
	// DeletePrincipal removes a principal with its credentials and role assignments.
	DeletePrincipal(ctx context.Context, id int64) error
	CountPrincipals(ctx context.Context) (int, error)
}

// Credentials stores what a principal signs in with, hashed, and ends the
// tokens issued to it.
type Credentials interface {
	PutCredential(ctx context.Context, c *Credential) error // creates or replaces
	ListCredentials(ctx context.Context, principalID int64) ([]Credential, error)
	DeleteCredential(ctx context.Context, principalID int64, name string) error
	// RevokeTokens moves a principal's generation on (see Principal), which
	// ends the tokens issued under the previous one.
	RevokeTokens(ctx context.Context, id int64, what Revocation) error
}

// RoleAssignments stores the roles granted to principals at registry or
// repository scope.
type RoleAssignments interface {
	CreateRoleAssignment(ctx context.Context, a *RoleAssignment) error
	ListRoleAssignments(ctx context.Context, principalID int64) ([]RoleAssignment, error)
	ListAllRoleAssignments(ctx context.Context) ([]RoleAssignment, error)
	DeleteRoleAssignment(ctx context.Context, id int64) error
}

// ScopeMaps stores scope maps.
type ScopeMaps interface {
	PutScopeMap(ctx context.Context, m *ScopeMap) error // creates or replaces
	GetScopeMap(ctx context.Context, registryID int64, name string) (*ScopeMap, error)
	ListScopeMaps(ctx context.Context, registryID int64) ([]ScopeMap, error)
	DeleteScopeMap(ctx context.Context, registryID int64, name string) error
}

// SigningKeys stores token signing keys.
type SigningKeys interface {
	AddSigningKey(ctx context.Context, k *SigningKey) error
	ListSigningKeys(ctx context.Context) ([]SigningKey, error)
	RetireSigningKeys(ctx context.Context, before time.Time, at time.Time) error
	DeleteSigningKeys(ctx context.Context, retiredBefore time.Time) error
}

// Audit stores the audit log.
type Audit interface {
	AppendAudit(ctx context.Context, e *AuditEntry) error
	// AppendAuditBatch writes many entries with few statements.
	AppendAuditBatch(ctx context.Context, es []AuditEntry) error
	// ListAudit returns entries of a registry (0: all) with ID > after, oldest first.
	ListAudit(ctx context.Context, registryID int64, after int64, n int) ([]AuditEntry, error)
	DeleteAuditBefore(ctx context.Context, before time.Time) error
}
