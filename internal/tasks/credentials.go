package tasks

import (
	"context"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/acre-project/acre/internal/meta"
)

// RegistryCredential is a login to another registry that a task's runs
// pull base images from (ACR's custom registry credential). The password
// is kept with the task like its secret build arguments: never shown by
// the API, masked in logs.
//
// Either may be a Key Vault secret URL of this server
// (https://<vault>.vault.<domain>/secrets/<name>), read when a run starts
// (and when the base-image trigger polls) as the task's identity; Identity
// (ACR's --use-identity) is then the client ID that must name it, "" or
// "[system]" for the task's identity itself.
type RegistryCredential struct {
	Username string `json:"username"`
	Password string `json:"password"` // secret
	Identity string `json:"identity,omitempty"`
}

// CredentialView is a credential as the API shows it (ACR's
// customRegistries entry): the user name, never the password.
type CredentialView struct {
	Username SecretObject `json:"userName"`
	Password SecretObject `json:"password"`
	Identity string       `json:"identity,omitempty"`
}

// SecretObject is ACR's secret object: Opaque (the value itself; a
// password's is never shown) or Vaultsecret (a Key Vault secret URL).
type SecretObject struct {
	Type  string `json:"type"`
	Value string `json:"value,omitempty"`
}

// Credential operations.
const (
	CredentialAdd    = "add"    // a new login server (refused when it exists)
	CredentialUpdate = "update" // an existing one (refused when absent)
	CredentialRemove = "remove"
)

// SetCredential adds, updates or removes a task's credential for a login
// server (host[:port]) and returns the task's credentials as shown.
func (s *Service) SetCredential(ctx context.Context, reg *meta.Registry, task, op, server string, c RegistryCredential) (map[string]CredentialView, error) {
	server, err := loginServer(server)
	if err != nil {
		return nil, err
	}
	if own := s.o.RegistryHost(reg); server == own {
		return nil, invalid("login server %s is this registry: runs log in to it with the task's identity", server)
	}
	var out map[string]CredentialView
	err = s.o.Meta.Tx(ctx, func(q Store) error {
		mt, err := q.GetTask(ctx, reg.ID, task)
		if err != nil {
			return err
		}
		t, err := s.decodeTask(mt)
		if err != nil {
			return err
		}
		cur, exists := t.Spec.Credentials[server]
		switch op {
		case CredentialAdd:
			if exists {
				return invalid("task %s already has a credential for %s: use update", task, server)
			}
			cur = c
		case CredentialUpdate:
			if !exists {
				return invalid("task %s has no credential for %s: use add", task, server)
			}
			if c.Username != "" {
				cur.Username = c.Username
			}
			if c.Password != "" {
				cur.Password = c.Password
			}
			if c.Identity != "" {
				cur.Identity = c.Identity
			}
		case CredentialRemove:
			if !exists {
				return invalid("task %s has no credential for %s", task, server)
			}
		default:
			return invalid("credential operation %q", op)
		}
		if op == CredentialRemove {
			delete(t.Spec.Credentials, server)
		} else {
			if cur.Username == "" || cur.Password == "" {
				return invalid("a registry credential needs a user name and a password")
			}
			if t.Spec.Credentials == nil {
				t.Spec.Credentials = map[string]RegistryCredential{}
			}
			t.Spec.Credentials[server] = cur
		}
		if t.Task.Spec, err = s.encodeTaskSpec(t.Spec); err != nil {
			return err
		}
		t.Task.UpdatedAt = time.Now().UTC()
		out = credentialViews(t.Spec.Credentials)
		return q.PutTask(ctx, &t.Task)
	})
	return out, err
}

// Credentials returns a task's credentials as shown.
func (s *Service) Credentials(ctx context.Context, reg *meta.Registry, task string) (map[string]CredentialView, error) {
	t, err := s.GetTask(ctx, reg, task)
	if err != nil {
		return nil, err
	}
	return credentialViews(t.Spec.Credentials), nil
}

func credentialViews(cs map[string]RegistryCredential) map[string]CredentialView {
	out := map[string]CredentialView{}
	object := func(v string, show bool) SecretObject {
		if isVaultURL(v) {
			return SecretObject{Type: "Vaultsecret", Value: v}
		}
		if !show {
			v = ""
		}
		return SecretObject{Type: "Opaque", Value: v}
	}
	for server, c := range cs {
		out[server] = CredentialView{Username: object(c.Username, true), Password: object(c.Password, false), Identity: c.Identity}
	}
	return out
}

// isVaultURL reports whether v names a Key Vault secret.
func isVaultURL(v string) bool {
	return strings.HasPrefix(v, "https://") && strings.Contains(v, ".vault.") && strings.Contains(v, "/secrets/")
}

// openCredentials returns creds with their Key Vault secret URLs read as
// identity (the run's), and the values read (to mask in logs).
func (s *Service) openCredentials(ctx context.Context, reg *meta.Registry, identity string, creds map[string]RegistryCredential) (map[string]RegistryCredential, []string, error) {
	out := make(map[string]RegistryCredential, len(creds))
	var read []string
	for server, c := range creds {
		clientID := c.Identity
		if clientID == "[system]" {
			clientID = ""
		}
		for _, f := range []*string{&c.Username, &c.Password} {
			if !isVaultURL(*f) {
				continue
			}
			if s.o.Vault == nil {
				return nil, nil, fmt.Errorf("the credential for %s names a Key Vault secret, and Key Vault is not available on this server", server)
			}
			v, err := s.o.Vault.ReadSecret(ctx, reg, identity, clientID, *f)
			if err != nil {
				return nil, nil, fmt.Errorf("the credential for %s: %s: %w", server, *f, err)
			}
			*f, read = v, append(read, v)
		}
		out[server] = c
	}
	return out, read, nil
}

// loginServer checks and normalizes a login server: host or host:port,
// without scheme or path.
func loginServer(s string) (string, error) {
	s = strings.ToLower(strings.TrimSuffix(strings.TrimSpace(s), "/"))
	if s == "" || strings.ContainsAny(s, "/@ \t?#") {
		return "", invalid("login server %q: give host or host:port (no scheme, no path)", s)
	}
	host := s
	if h, p, err := net.SplitHostPort(s); err == nil {
		if p == "" || strings.Trim(p, "0123456789") != "" {
			return "", invalid("login server %q: bad port", s)
		}
		host = h
	}
	if host == "" || strings.Contains(host, ":") && net.ParseIP(host) == nil {
		return "", invalid("login server %q: give host or host:port", s)
	}
	if s == "index.docker.io" || s == "registry-1.docker.io" {
		s = "docker.io"
	}
	return s, nil
}

// dockerAuths is the "auths" section of a Docker configuration: the
// run's own registry with the identity's token, and each credential for
// its login server only.
func dockerAuths(host, token string, creds map[string]RegistryCredential) map[string]any {
	entry := func(user, pass string) map[string]string {
		return map[string]string{"username": user, "password": pass}
	}
	auths := map[string]any{}
	for server, c := range creds {
		key := server
		if server == "docker.io" {
			key = "https://index.docker.io/v1/" // where Docker's clients look for Docker Hub
		}
		auths[key] = entry(c.Username, c.Password)
	}
	auths[host] = entry("00000000-0000-0000-0000-000000000000", token)
	return auths
}
