package tasks

import (
	"errors"
	"reflect"
	"testing"
)

func TestParseACB(t *testing.T) {
	f, err := ParseACB([]byte(`version: v1.1.0
stepTimeout: 100
steps:
  - build: -t app:1 .
  - id: a
    cmd: busybox echo hi
    when: ["-"]
  - id: b
    push: app:1
    when: [acb_step_0, a]
    timeout: 5
`))
	if err != nil {
		t.Fatal(err)
	}
	if f.Steps[0].ID != "acb_step_0" || f.Steps[0].Timeout != 100 || len(f.Steps[0].When) != 0 {
		t.Errorf("step 0: %+v", f.Steps[0])
	}
	if !reflect.DeepEqual(f.Steps[1].When, []string{"-"}) || !reflect.DeepEqual([]string(f.Steps[2].Push), []string{"app:1"}) ||
		f.Steps[2].Timeout != 5 {
		t.Errorf("steps: %+v", f.Steps)
	}
	const vol = "volumes:\n  - {name: v, secret: {a: YQ==}}\nsteps:\n  - cmd: x y\n"
	bad := map[string]string{
		"empty":           ``,
		"no steps":        `version: v1.1.0`,
		"unknown key":     "steps:\n  - cmd: x y\n    bogus: 1\n",
		"two kinds":       "steps:\n  - cmd: x y\n    build: .\n",
		"no kind":         "steps:\n  - id: x\n",
		"duplicate id":    "steps:\n  - id: a\n    cmd: x y\n  - id: a\n    cmd: x y\n",
		"when later step": "steps:\n  - id: a\n    cmd: x y\n    when: [b]\n  - id: b\n    cmd: x y\n",
		"secret no id":    "secrets:\n  - keyvault: https://kv.vault.localhost/secrets/s\nsteps:\n  - cmd: x y\n",
		"secret bad id":   "secrets:\n  - id: a.b\n    keyvault: https://kv.vault.localhost/secrets/s\nsteps:\n  - cmd: x y\n",
		"secret twice":    "secrets:\n  - {id: a, keyvault: u}\n  - {id: a, keyvault: u}\nsteps:\n  - cmd: x y\n",
		"secret no url":   "secrets:\n  - id: a\nsteps:\n  - cmd: x y\n",
		"secret unknown":  "secrets:\n  - {id: a, keyvault: u, other: 1}\nsteps:\n  - cmd: x y\n",
		"volume no name":  "volumes:\n  - secret: {a: YQ==}\nsteps:\n  - cmd: x y\n",
		"volume empty":    "volumes:\n  - name: v\nsteps:\n  - cmd: x y\n",
		"volume twice":    "volumes:\n  - {name: v, secret: {a: YQ==}}\n  - {name: v, secret: {a: YQ==}}\nsteps:\n  - cmd: x y\n",
		"volume not b64":  "volumes:\n  - {name: v, secret: {a: not-base64!}}\nsteps:\n  - cmd: x y\n",
		"volume bad file": "volumes:\n  - {name: v, secret: {../a: YQ==}}\nsteps:\n  - cmd: x y\n",
		"volume dot file": "volumes:\n  - {name: v, secret: {..: YQ==}}\nsteps:\n  - cmd: x y\n",
		"volume type":     "volumes:\n  - {name: v, hostPath: /etc}\nsteps:\n  - cmd: x y\n",
		"mount unknown":   "steps:\n  - cmd: x y\n    volumeMounts: [{name: v, mountPath: /v}]\n",
		"mount relative":  vol + "    volumeMounts: [{name: v, mountPath: v}]\n",
		"mount root":      vol + "    volumeMounts: [{name: v, mountPath: /}]\n",
		"mount dotdot":    vol + "    volumeMounts: [{name: v, mountPath: /a/../etc}]\n",
		"mount comma":     vol + "    volumeMounts: [{name: v, mountPath: \"/a,target=/etc\"}]\n",
		"mount twice":     vol + "    volumeMounts: [{name: v, mountPath: /a}, {name: v, mountPath: /a}]\n",
		"mount on build":  "volumes:\n  - {name: v, secret: {a: YQ==}}\nsteps:\n  - build: .\n    volumeMounts: [{name: v, mountPath: /a}]\n",
		"privileged":      "steps:\n  - cmd: x y\n    privileged: true\n",
		"network":         "steps:\n  - cmd: x y\n    network: custom\n",
		"retries":         "steps:\n  - cmd: x y\n    retries: 99\n",
	}
	for name, y := range bad {
		if _, err := ParseACB([]byte(y)); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: got %v, want ErrInvalid", name, err)
		}
	}
}

// TestParseACBSecretsAndVolumes: secrets and secret volumes as ACR
// writes them parse, and volumes are decoded.
func TestParseACBSecretsAndVolumes(t *testing.T) {
	f, err := ParseACB([]byte(`version: v1.1.0
secrets:
  - id: dbpass
    keyvault: https://kv.vault.localhost/secrets/db
  - id: api_key
    keyvault: https://kv.vault.localhost/secrets/api/0123
    clientID: builder
volumes:
  - name: certs
    secret:
      ca.pem: aGVsbG8=
      token: d29ybGQ=
steps:
  - cmd: busybox cat /run/certs/ca.pem
    volumeMounts:
      - name: certs
        mountPath: /run/certs
`))
	if err != nil {
		t.Fatal(err)
	}
	want := []SecretRef{{ID: "dbpass", KeyVault: "https://kv.vault.localhost/secrets/db"},
		{ID: "api_key", KeyVault: "https://kv.vault.localhost/secrets/api/0123", ClientID: "builder"}}
	if !reflect.DeepEqual(f.Secrets, want) {
		t.Errorf("secrets: %+v", f.Secrets)
	}
	v := f.volume("certs")
	if v == nil || string(v.files["ca.pem"]) != "hello" || string(v.files["token"]) != "world" {
		t.Errorf("volume: %+v", v)
	}
	if m := f.Steps[0].VolumeMounts; len(m) != 1 || m[0] != (VolumeMount{Name: "certs", MountPath: "/run/certs"}) {
		t.Errorf("mounts: %+v", m)
	}
}

func TestSplitArgs(t *testing.T) {
	tests := map[string][]string{
		`-t a:1 -f "my file" .`:  {"-t", "a:1", "-f", "my file", "."},
		`sh -c 'echo "$X" && y'`: {"sh", "-c", `echo "$X" && y`},
		`a\ b c`:                 {"a b", "c"},
		`  `:                     nil,
	}
	for in, want := range tests {
		got, err := splitArgs(in)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("splitArgs(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := splitArgs(`echo "open`); err == nil {
		t.Errorf("an unterminated quote was accepted")
	}
}

// FuzzParseACB: any input parses or fails with ErrInvalid; never a panic.
func FuzzParseACB(f *testing.F) {
	f.Add([]byte("steps:\n  - cmd: busybox echo hi\n"))
	f.Add([]byte("version: v1.1.0\nsteps:\n  - build: -t a .\n  - push: [a]\n    when: [\"-\"]\n"))
	f.Add([]byte("steps: [{cmd: x, when: [y]}]"))
	f.Add([]byte("secrets:\n  - id: s\n    keyvault: https://kv.vault.localhost/secrets/s\n    clientID: me\nsteps:\n  - cmd: x y\n"))
	f.Add([]byte("volumes:\n  - name: v\n    secret: {a: YQ==, b.txt: \"\"}\nsteps:\n  - cmd: x y\n    volumeMounts: [{name: v, mountPath: /run/v}]\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if _, err := ParseACB(b); err != nil && !errors.Is(err, ErrInvalid) {
			t.Fatalf("error not marked invalid: %v", err)
		}
		_, _ = splitArgs(string(b))
	})
}
