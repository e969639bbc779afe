package auth

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"sync"
	"time"
)

// Token types (the grant_type claim).
const (
	TypeAccess  = "access_token"  // scoped access to one registry's data plane
	TypeRefresh = "refresh_token" // exchanged for access tokens; also a Docker password
	TypeSession = "session"       // the CLI's sign-in to the management API
)

// Issuer is the iss claim of every token acre signs.
const Issuer = "acre"

// ManagementAudience is the aud of session tokens.
const ManagementAudience = "acre:management"

// Access is one Docker token scope granted by an access token.
type Access struct {
	Type    string   `json:"type"`
	Name    string   `json:"name"`
	Actions []string `json:"actions"`
}

// Claims are the claims of acre's tokens, shaped like ACR's.
type Claims struct {
	ID        string   `json:"jti"`
	Subject   string   `json:"sub"` // the principal's uid (never reissued); "" for anonymous
	Name      string   `json:"name,omitempty"`
	Audience  string   `json:"aud"`
	Issuer    string   `json:"iss"`
	IssuedAt  int64    `json:"iat"`
	NotBefore int64    `json:"nbf"`
	ExpiresAt int64    `json:"exp"`
	GrantType string   `json:"grant_type"`
	Version   string   `json:"version"`
	Access    []Access `json:"access,omitempty"`
	// TokenGen and GrantGen are the principal's generations at issue; a
	// revocation moves them on (see meta.Principal).
	TokenGen int64 `json:"tgen,omitempty"`
	GrantGen int64 `json:"ggen,omitempty"`
}

// ErrToken is returned for any token that does not verify.
var ErrToken = errors.New("invalid or expired token")

// clockSkew tolerates clocks slightly apart.
const clockSkew = 30 * time.Second

// signingKey is one key of the ring.
type signingKey struct {
	id      string
	private *ecdsa.PrivateKey
}

// KeyRing signs with its newest key and verifies with any key it holds, so
// keys rotate without invalidating tokens still in date.
type KeyRing struct {
	mu     sync.RWMutex
	signer *signingKey
	keys   map[string]*ecdsa.PublicKey
}

// NewKeyRing returns an empty ring.
func NewKeyRing() *KeyRing { return &KeyRing{keys: map[string]*ecdsa.PublicKey{}} }

// GenerateKey makes a new P-256 key and returns its id and PKCS#8 DER.
func GenerateKey() (id string, der []byte, err error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", nil, err
	}
	der, err = x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return "", nil, err
	}
	pub, _ := x509.MarshalPKIXPublicKey(&k.PublicKey)
	sum := sha256.Sum256(pub)
	return base64.RawURLEncoding.EncodeToString(sum[:12]), der, nil
}

// Set replaces the ring's keys; signer names the key that signs.
func (r *KeyRing) Set(keys map[string][]byte, signer string) error {
	pubs := map[string]*ecdsa.PublicKey{}
	var s *signingKey
	for id, der := range keys {
		k, err := x509.ParsePKCS8PrivateKey(der)
		if err != nil {
			return fmt.Errorf("signing key %s: %w", id, err)
		}
		ek, ok := k.(*ecdsa.PrivateKey)
		if !ok {
			return fmt.Errorf("signing key %s: not ECDSA", id)
		}
		pubs[id] = &ek.PublicKey
		if id == signer {
			s = &signingKey{id: id, private: ek}
		}
	}
	if s == nil {
		return errors.New("no signing key")
	}
	r.mu.Lock()
	r.signer, r.keys = s, pubs
	r.mu.Unlock()
	return nil
}

// Sign returns a compact JWS of c (ES256). Like ACR, the payload is
// standard, padded base64, which the Azure SDK's decoder requires.
//
// This is why acre signs and verifies its tokens by hand rather than with
// a JWT library: the libraries write (and most insist on reading) the
// unpadded base64url that RFC 7515 prescribes, and the Azure SDK for Go
// (azcontainerregistry) decodes an ACR token's payload with padded
// StdEncoding and fails on anything else. One algorithm, one key type
// and a few claims keep the hand-written code small; it is covered by
// jwt_test.go and the Azure SDK tests in internal/server.
func (r *KeyRing) Sign(c Claims) (string, error) {
	r.mu.RLock()
	s := r.signer
	r.mu.RUnlock()
	if s == nil {
		return "", errors.New("no signing key")
	}
	h, _ := json.Marshal(map[string]string{"alg": "ES256", "typ": "JWT", "kid": s.id})
	p, err := json.Marshal(c)
	if err != nil {
		return "", err
	}
	signed := base64.RawURLEncoding.EncodeToString(h) + "." + base64.StdEncoding.EncodeToString(p)
	sum := sha256.Sum256([]byte(signed))
	rr, ss, err := ecdsa.Sign(rand.Reader, s.private, sum[:])
	if err != nil {
		return "", err
	}
	sig := make([]byte, 64)
	rr.FillBytes(sig[:32])
	ss.FillBytes(sig[32:])
	return signed + "." + base64.RawURLEncoding.EncodeToString(sig), nil
}

// Verify checks a token's signature, issuer and validity period at now.
func (r *KeyRing) Verify(token string, now time.Time) (*Claims, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 || len(token) > 16<<10 {
		return nil, ErrToken
	}
	hb, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil {
		return nil, ErrToken
	}
	var h struct{ Alg, Kid string }
	if json.Unmarshal(hb, &h) != nil || h.Alg != "ES256" {
		return nil, ErrToken
	}
	r.mu.RLock()
	pub := r.keys[h.Kid]
	r.mu.RUnlock()
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if pub == nil || err != nil || len(sig) != 64 {
		return nil, ErrToken
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if !ecdsa.Verify(pub, sum[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
		return nil, ErrToken
	}
	pb, err := base64.StdEncoding.DecodeString(parts[1])
	if err != nil {
		if pb, err = base64.RawURLEncoding.DecodeString(parts[1]); err != nil {
			return nil, ErrToken
		}
	}
	var c Claims
	if json.Unmarshal(pb, &c) != nil || c.Issuer != Issuer {
		return nil, ErrToken
	}
	t := now.Unix()
	if t > c.ExpiresAt+int64(clockSkew.Seconds()) || t < c.NotBefore-int64(clockSkew.Seconds()) {
		return nil, ErrToken
	}
	return &c, nil
}

// unknownKey reports whether a token names a key id the ring lacks.
func (r *KeyRing) unknownKey(token string) bool {
	h, _, ok := strings.Cut(token, ".")
	if !ok {
		return false
	}
	hb, err := base64.RawURLEncoding.DecodeString(h)
	if err != nil {
		return false
	}
	var hdr struct{ Kid string }
	if json.Unmarshal(hb, &hdr) != nil || hdr.Kid == "" {
		return false
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.keys[hdr.Kid] == nil
}
