package server

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"

	"github.com/acre-project/acre/internal/auth"
	"github.com/acre-project/acre/internal/meta"
	"golang.org/x/crypto/argon2"
)

// TestRehashOnSignIn: a password hashed with older argon2id parameters
// (m=19 MiB, t=2) still signs in, and is then stored again with today's;
// a wrong password signs nobody in and leaves the hash alone.
func TestRehashOnSignIn(t *testing.T) {
	tests := []struct {
		name       string
		pass       string
		wantStatus int
		rehashed   bool
	}{
		{"right password", ownerPass, 200, true},
		{"wrong password", "not-the-password", 401, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newTestServer(t, nil)
			ctx := t.Context()
			p, err := s.srv.meta.Read().PrincipalByName(ctx, 0, "owner")
			if err != nil {
				t.Fatal(err)
			}
			old := oldHash(ownerPass)
			if err := s.srv.meta.Tx(ctx, func(q meta.Queries) error {
				cs, err := q.ListCredentials(ctx, p.ID)
				if err != nil {
					return err
				}
				for _, c := range cs {
					c.Hash = old
					if err := q.PutCredential(ctx, &c); err != nil {
						return err
					}
				}
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			if resp, _ := s.do("GET", "/v2/", cred{user: "owner", pass: tt.pass}, nil); resp.StatusCode != tt.wantStatus {
				t.Fatalf("GET /v2/ = %d, want %d", resp.StatusCode, tt.wantStatus)
			}
			cs, err := s.srv.meta.Read().ListCredentials(ctx, p.ID)
			if err != nil || len(cs) == 0 {
				t.Fatalf("credentials %v, %v", cs, err)
			}
			for _, c := range cs {
				if changed := c.Hash != old; changed != tt.rehashed {
					t.Errorf("credential %s rehashed = %v, want %v (hash %.40s)", c.Name, changed, tt.rehashed, c.Hash)
				}
				if tt.rehashed {
					if !strings.Contains(c.Hash, "$m=7168,t=5,p=1$") {
						t.Errorf("credential %s stored as %.40s, want today's parameters", c.Name, c.Hash)
					}
					if ok, err := auth.VerifySecret(c.Hash, ownerPass); !ok || err != nil {
						t.Errorf("the new hash does not verify the password: %v, %v", ok, err)
					}
				}
			}
		})
	}
}

// oldHash hashes secret as acre did before, with m=19 MiB and t=2.
func oldHash(secret string) string {
	salt := make([]byte, 16)
	_, _ = rand.Read(salt)
	key := argon2.IDKey([]byte(secret), salt, 2, 19*1024, 1, 32)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, 19*1024, 2, 1,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
}
