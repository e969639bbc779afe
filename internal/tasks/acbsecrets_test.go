package tasks

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/acre-project/acre/internal/meta"
)

// echoBuilder writes what a build sees to the log, as an engine would
// echo it: the Dockerfile (cmd steps' ENV lines), the build arguments and
// the secret files' contents, each cut across two writes.
type echoBuilder struct{}

func (echoBuilder) Build(ctx context.Context, req BuildRequest, log io.Writer) (BuildResult, error) {
	dir := req.DockerfileDir
	if dir == "" {
		dir = req.ContextDir
	}
	df, _ := os.ReadFile(filepath.Join(dir, req.Dockerfile))
	var b bytes.Buffer
	fmt.Fprintf(&b, "#1 dockerfile:\n%s", df)
	for _, k := range sortedKeys(req.BuildArgs) {
		fmt.Fprintf(&b, "#2 build-arg %s=%s\n", k, req.BuildArgs[k])
	}
	for _, k := range sortedKeys(req.SecretFiles) {
		c, err := os.ReadFile(req.SecretFiles[k])
		if err != nil {
			return BuildResult{}, err
		}
		fmt.Fprintf(&b, "#3 file %s: %s\n", k, c)
	}
	for _, k := range sortedKeys(req.Secrets) {
		fmt.Fprintf(&b, "#4 secret %s: %s\n", k, req.Secrets[k])
	}
	out := b.Bytes()
	for len(out) > 0 {
		n := min(len(out), 5)
		_, _ = log.Write(out[:n])
		out = out[n:]
	}
	return BuildResult{Digest: "sha256:" + strings.Repeat("b", 64)}, nil
}

// fakeVault grants identity "owner" the secrets it holds and denies
// every other identity.
type fakeVault map[string]string

func (v fakeVault) ReadSecret(_ context.Context, _ *meta.Registry, identity, clientID, url string) (string, error) {
	if identity != "owner" || (clientID != "" && clientID != identity) {
		return "", errors.New("access to the vault was denied: the identity lacks Key Vault Secrets User on vault kv")
	}
	s, ok := v[url]
	if !ok {
		return "", fmt.Errorf("secret %s not found", url)
	}
	return s, nil
}

// TestRunYAMLSecretsAndVolumes: a YAML's Key Vault secrets reach a build
// argument and a cmd step's environment (as a secret mount, never an ENV
// line), a volume's files are mounted as secrets in the cmd step, and no value reaches the log, the stored spec
// or the run's error; an identity the vault denies fails the run saying why.
func TestRunYAMLSecretsAndVolumes(t *testing.T) {
	const secret, fileSecret, setSecret = "vault-value-9f8e7d", "volume-file-content-42", "set-secret-value-1b2c"
	s, m, reg := newTestService(t, echoBuilder{})
	s.o.Vault = fakeVault{"https://kv.vault.localhost/secrets/tok": secret}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { s.Work(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	yaml := `version: v1.1.0
secrets:
  - id: tok
    keyvault: https://kv.vault.localhost/secrets/tok
volumes:
  - name: creds
    secret:
      token.txt: ` + base64.StdEncoding.EncodeToString([]byte(fileSecret)) + `
steps:
  - build: -t app:{{.Run.ID}} --build-arg TOKEN={{.Secrets.tok}} .
  - cmd: busybox sh -c 'cat /run/creds/token.txt'
    env: ["API_TOKEN={{.Secrets.tok}}", "EXTRA={{.Values.extra}}"]
    volumeMounts:
      - name: creds
        mountPath: /run/creds
`
	run := func(identity string) (*meta.Run, string) {
		r, err := s.Submit(t.Context(), reg, 0, "", "Manual", RunSpec{Kind: KindSteps, Context: "/dev/null", YAML: yaml, Identity: identity,
			SecretValues: map[string]string{"extra": setSecret}})
		if err != nil {
			t.Fatal(err)
		}
		got := waitState(t, s, r.ID, meta.RunSucceeded, meta.RunFailed)
		var buf bytes.Buffer
		if err := s.WriteLog(t.Context(), r.ID, &buf, false, func() {}); err != nil {
			t.Fatal(err)
		}
		return got, buf.String()
	}
	got, log := run("owner")
	if got.State != meta.RunSucceeded {
		t.Fatalf("run %s: %s\n%s", got.State, got.Reason, log)
	}
	for _, want := range []string{"build-arg TOKEN=*****", "--mount=type=secret,id=acre-env-0,env=API_TOKEN",
		"--mount=type=secret,id=acre-env-1,env=EXTRA", "secret acre-env-0: *****", "secret acre-env-1: *****", "file acre-volume-0-token.txt: *****",
		"--mount=type=secret,id=acre-volume-0-token.txt,target=/run/creds/token.txt,required=true,mode=0444",
		"Read 1 secrets from Key Vault as owner: [tok]"} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
	if strings.Contains(log, "ENV API_TOKEN") || strings.Contains(log, "ENV EXTRA") {
		t.Errorf("an env value holding a secret became an ENV line:\n%s", log)
	}
	stored, _ := m.Read().GetRun(t.Context(), got.ID)
	for what, text := range map[string]string{"log": log, "stored spec": string(stored.Spec)} {
		for _, v := range []string{secret, fileSecret, setSecret} {
			if strings.Contains(text, v) {
				t.Errorf("%s holds %q", what, v)
			}
		}
	}

	if err := s.Validate(t.Context(), &RunSpec{Kind: KindSteps, YAML: yaml, Values: map[string]string{"x": "1"},
		SecretValues: map[string]string{"x": "2"}}); !errors.Is(err, ErrInvalid) {
		t.Errorf("a value given both plain and secret: %v", err)
	}

	got, log = run("intruder")
	if got.State != meta.RunFailed || !strings.Contains(got.Reason, "secret tok") || !strings.Contains(got.Reason, "Key Vault Secrets User") {
		t.Errorf("a denied identity: %s %q\n%s", got.State, got.Reason, log)
	}
	if strings.Contains(log, "Executing step") {
		t.Errorf("steps ran although the secret was denied:\n%s", log)
	}
}
