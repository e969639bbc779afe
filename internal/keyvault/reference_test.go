package keyvault

import "testing"

func TestParseReference(t *testing.T) {
	for _, tc := range []struct {
		in    string
		want  Reference
		isRef bool
		bad   bool
	}{
		{in: "plain value"},
		{in: "@Microsoft.KeyVault(VaultName=kv;SecretName=db)", want: Reference{Vault: "kv", Secret: "db"}, isRef: true},
		{in: "@Microsoft.KeyVault(VaultName=KV;SecretName=db;SecretVersion=abc)", want: Reference{Vault: "kv", Secret: "db", Version: "abc"}, isRef: true},
		{in: "@Microsoft.KeyVault(SecretUri=https://kv.vault.localhost/secrets/db/)", want: Reference{Vault: "kv", Secret: "db"}, isRef: true},
		{in: "@Microsoft.KeyVault(SecretUri=https://kv.vault.azure.net/secrets/db/v1)", want: Reference{Vault: "kv", Secret: "db", Version: "v1"}, isRef: true},
		{in: "@Microsoft.KeyVault(VaultName=kv;SecretName=db", isRef: true, bad: true},
		{in: "@Microsoft.KeyVault(SecretUri=https://kv.vault.localhost/keys/db)", isRef: true, bad: true},
		{in: "@Microsoft.KeyVault(VaultName=kv)", isRef: true, bad: true},
		{in: "@Microsoft.KeyVault(Other=1;VaultName=kv;SecretName=db)", isRef: true, bad: true},
	} {
		got, isRef, err := ParseReference(tc.in)
		if isRef != tc.isRef || (err != nil) != tc.bad || (!tc.bad && got != tc.want) {
			t.Errorf("ParseReference(%q) = %+v, %v, %v; want %+v, %v, bad %v", tc.in, got, isRef, err, tc.want, tc.isRef, tc.bad)
		}
	}
}

func FuzzParseReference(f *testing.F) {
	f.Add("@Microsoft.KeyVault(VaultName=kv;SecretName=db)")
	f.Add("@Microsoft.KeyVault(SecretUri=https://kv.vault.localhost/secrets/db/v1)")
	f.Add("@Microsoft.KeyVault(")
	f.Fuzz(func(t *testing.T, s string) {
		ref, isRef, err := ParseReference(s)
		if isRef && err == nil && (ref.Vault == "" || ref.Secret == "") {
			t.Fatalf("%q parsed to an incomplete reference %+v", s, ref)
		}
	})
}
