package auth

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"
)

func newRing(t *testing.T, n int) (*KeyRing, []string, map[string][]byte) {
	t.Helper()
	keys := map[string][]byte{}
	var ids []string
	for range n {
		id, der, err := GenerateKey()
		if err != nil {
			t.Fatal(err)
		}
		keys[id] = der
		ids = append(ids, id)
	}
	r := NewKeyRing()
	if err := r.Set(keys, ids[0]); err != nil {
		t.Fatal(err)
	}
	return r, ids, keys
}

func TestTokenRoundTripAndRotation(t *testing.T) {
	r, ids, keys := newRing(t, 2)
	now := time.Now()
	c := Claims{ID: "1", Subject: "7", Audience: "acre.localhost", Issuer: Issuer, IssuedAt: now.Unix(),
		NotBefore: now.Unix(), ExpiresAt: now.Add(time.Hour).Unix(), GrantType: TypeAccess, Version: "1.0",
		Access: []Access{{Type: "repository", Name: "a/b", Actions: []string{"pull"}}}}
	tok, err := r.Sign(c)
	if err != nil {
		t.Fatal(err)
	}
	// The payload must decode with standard base64 (the Azure SDK does so).
	if _, err := base64.StdEncoding.DecodeString(strings.Split(tok, ".")[1]); err != nil {
		t.Fatalf("payload is not standard base64: %v", err)
	}
	got, err := r.Verify(tok, now)
	if err != nil || got.Subject != "7" || got.Access[0].Name != "a/b" {
		t.Fatalf("Verify = %+v, %v", got, err)
	}
	// Rotate: the second key signs now; tokens of the first still verify.
	if err := r.Set(keys, ids[1]); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Verify(tok, now); err != nil {
		t.Fatalf("token of the previous key: %v", err)
	}
	// Once the old key is dropped, its tokens fail.
	if err := r.Set(map[string][]byte{ids[1]: keys[ids[1]]}, ids[1]); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Verify(tok, now); err == nil {
		t.Fatal("token of a dropped key verified")
	}
}

func TestVerifyRejects(t *testing.T) {
	r, _, _ := newRing(t, 1)
	now := time.Now()
	good := Claims{Subject: "1", Issuer: Issuer, NotBefore: now.Unix(), ExpiresAt: now.Add(time.Minute).Unix()}
	sign := func(c Claims) string {
		tok, err := r.Sign(c)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	expired := good
	expired.ExpiresAt = now.Add(-time.Hour).Unix()
	future := good
	future.NotBefore = now.Add(time.Hour).Unix()
	foreign := good
	foreign.Issuer = "someone-else"
	tok := sign(good)
	parts := strings.Split(tok, ".")
	tampered := parts[0] + "." + base64.StdEncoding.EncodeToString([]byte(`{"sub":"2","iss":"acre","exp":9999999999}`)) + "." + parts[2]
	other, _, _ := newRing(t, 1)
	otherTok, _ := other.Sign(good)
	tests := map[string]string{
		"expired": sign(expired), "not yet valid": sign(future), "foreign issuer": sign(foreign),
		"tampered payload": tampered, "unknown key": otherTok, "garbage": "a.b.c", "empty": "",
		"alg none": base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none"}`)) + "." + parts[1] + ".",
	}
	for name, tok := range tests {
		t.Run(name, func(t *testing.T) {
			if _, err := r.Verify(tok, now); err == nil {
				t.Fatal("verified")
			}
		})
	}
}
