package keyvault

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/acre-project/acre/internal/meta"
)

// Reference is a parsed @Microsoft.KeyVault(...) app setting.
type Reference struct {
	Vault, Secret, Version string
}

const refPrefix = "@Microsoft.KeyVault("

// ParseReference parses App Service's two forms:
// @Microsoft.KeyVault(SecretUri=https://<vault>.vault.<domain>/secrets/<name>[/<version>])
// and @Microsoft.KeyVault(VaultName=<vault>;SecretName=<name>[;SecretVersion=<version>]).
// ok is false when s is not a reference at all.
func ParseReference(s string) (ref Reference, ok bool, err error) {
	body, found := strings.CutPrefix(strings.TrimSpace(s), refPrefix)
	if !found {
		return Reference{}, false, nil
	}
	body, found = strings.CutSuffix(body, ")")
	if !found {
		return Reference{}, true, errors.New("the reference lacks its closing parenthesis")
	}
	for _, part := range strings.Split(body, ";") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch strings.ToLower(k) {
		case "secreturi":
			u, err := parseSecretURL(v)
			if err != nil {
				return Reference{}, true, fmt.Errorf("SecretUri: %w", err)
			}
			ref.Vault, ref.Secret, ref.Version = u.vault, u.Secret, u.Version
		case "vaultname":
			ref.Vault = v
		case "secretname":
			ref.Secret = v
		case "secretversion":
			ref.Version = v
		case "":
		default:
			return Reference{}, true, fmt.Errorf("unknown reference field %q", k)
		}
	}
	if ref.Vault == "" || ref.Secret == "" {
		return Reference{}, true, errors.New("the reference names no vault or secret")
	}
	ref.Vault = strings.ToLower(ref.Vault)
	return ref, true, nil
}

// secretURL is a parsed https://<vault>.vault.<domain>/secrets/<name>[/<version>].
type secretURL struct {
	Reference
	vault, host string // the vault as written; the host without its port
}

func parseSecretURL(v string) (secretURL, error) {
	u, err := url.Parse(v)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return secretURL{}, fmt.Errorf("%q is not a URL", v)
	}
	var ref secretURL
	ref.host = strings.ToLower(u.Hostname())
	ref.vault, _, _ = strings.Cut(u.Hostname(), ".")
	segs := strings.Split(strings.Trim(u.Path, "/"), "/")
	if len(segs) < 2 || len(segs) > 3 || segs[0] != "secrets" || segs[1] == "" {
		return secretURL{}, fmt.Errorf("%q: want https://<vault>.vault.<domain>/secrets/<name>[/<version>]", v)
	}
	ref.Vault, ref.Secret = strings.ToLower(ref.vault), segs[1]
	if len(segs) == 3 {
		ref.Version = segs[2]
	}
	return ref, nil
}

// ParseSecretURL parses a secret identifier of this server's vaults,
// https://<vault>.vault.<domain>/secrets/<name>[/<version>] (what task
// YAML's secrets name as keyvault); a URL of another host is an error.
func (s *Service) ParseSecretURL(v string) (Reference, error) {
	u, err := parseSecretURL(v)
	if err != nil {
		return Reference{}, err
	}
	if u.host != strings.ToLower(u.vault)+".vault."+strings.ToLower(s.domain) {
		return Reference{}, fmt.Errorf("%q is not a vault of this server: acre reads secrets only from its own vaults, "+
			"https://<vault>.vault.%s/secrets/<name>", v, s.domain)
	}
	return u.Reference, nil
}

// Resolve returns the secret a reference names if principalID (0: none)
// holds Key Vault Secrets User on its vault; ErrDenied otherwise.
func (s *Service) Resolve(ctx context.Context, principalID int64, ref Reference) (string, error) {
	if principalID == 0 {
		return "", fmt.Errorf("%w: the app has no managed identity", ErrDenied)
	}
	q := s.meta.Read()
	v, err := q.GetVault(ctx, ref.Vault)
	if errors.Is(err, meta.ErrNotFound) {
		return "", fmt.Errorf("vault %q not found", ref.Vault)
	} else if err != nil {
		return "", err
	}
	roles, err := q.VaultRolesOf(ctx, principalID, v.ID)
	if err != nil {
		return "", err
	}
	allowed := false
	for _, r := range roles {
		allowed = allowed || r.Role == RoleSecretsUser
	}
	if !allowed {
		return "", fmt.Errorf("%w: the identity lacks %s on vault %s", ErrDenied, RoleSecretsUser, v.Name)
	}
	x, err := q.GetVaultSecret(ctx, v.ID, ref.Secret, ref.Version)
	if errors.Is(err, meta.ErrNotFound) {
		return "", fmt.Errorf("secret %s not found in vault %s", ref.Secret, v.Name)
	} else if err != nil {
		return "", err
	}
	return s.value(v.Name, x)
}

// ResolveSetting resolves an app setting's value for an identity: a
// value that is no reference comes back as it is (isRef false); a
// reference comes back resolved with status "Resolved", or as its literal
// text with the reason it was not (as App Service does).
func (s *Service) ResolveSetting(ctx context.Context, principalID int64, value string) (resolved, status string, isRef bool) {
	ref, isRef, err := ParseReference(value)
	if !isRef {
		return value, "", false
	}
	if err == nil {
		var v string
		if v, err = s.Resolve(ctx, principalID, ref); err == nil {
			return v, "Resolved", true
		}
	}
	return value, err.Error(), true
}
