//go:build e2e && linux

package e2e

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestRunVaultSecretsAndVolumes: a task YAML reads a secret of acre's Key
// Vault (as the run's identity, which holds Key Vault Secrets User) into a
// build argument and a cmd step's environment (with a --set-secret value),
// and mounts a secret volume into the cmd step; BuildKit and runc really
// run both, and the value is
// in the built image but never in the live log, the stored log or the run
// view. A clientID naming another identity than the run's is refused; an
// identity without the role fails the run saying so, before any step. The
// vault secret and a --secret-build-arg are nowhere in the SQLite files
// (sealed under the 0600 key file). The built image holds the vault secret
// (its /token, and its config's history), so this server keeps no blob
// inline in its database, where the check would find the image's bytes.
func TestRunVaultSecretsAndVolumes(t *testing.T) {
	const secret, fileSecret, buildArg, setSecret = "vault-s3cret-7c1d2e", "volume-s3cret-5a6b", "build-arg-s3cret-3f4e", "set-s3cret-8d9c"
	cfg := filepath.Join(t.TempDir(), "acre.yaml")
	if err := os.WriteFile(cfg, []byte("storage:\n  blobs:\n    inline_max_kib: 0\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	b := startBuilds(t, "", "--config", cfg)
	b.pushBusybox(t, "base/busybox:1", nil)
	b.acre(t, "keyvault", "create", "-n", "kvtasks")
	var sec struct{ ID string }
	must(t, json.Unmarshal([]byte(b.acre(t, "keyvault", "secret", "set", "--vault-name", "kvtasks", "-n", "tok", "--value", secret)), &sec))
	url, _, _ := strings.Cut(sec.ID, "/secrets/tok/") // the latest version
	url += "/secrets/tok"
	b.acre(t, "role", "assignment", "create", "--assignee", b.a.User, "--role", "Key Vault Secrets User", "--scope", "/vaults/kvtasks")

	src := t.TempDir()
	writeFiles(t, src, map[string]string{
		"Dockerfile": "FROM " + b.a.Addr + "/base/busybox:1\nARG TOKEN\nRUN echo \"tok=$TOKEN\" && echo \"$TOKEN\" > /token\n",
		"acb.yaml": `version: v1.1.0
secrets:
  - id: tok
    keyvault: ` + url + `
    clientID: ` + b.a.User + `
volumes:
  - name: creds
    secret:
      token.txt: ` + base64.StdEncoding.EncodeToString([]byte(fileSecret)) + `
steps:
  - id: build
    build: -t $Registry/secrets:$ID --build-arg TOKEN={{.Secrets.tok}} .
  - id: push
    push: ["$Registry/secrets:$ID"]
  - id: use
    cmd: $Registry/base/busybox:1 sh -c 'echo "env=$API_TOKEN"; echo "extra=$EXTRA"; echo "file=$(cat /run/creds/token.txt)"; ls -l /run/creds'
    env: ["API_TOKEN={{.Secrets.tok}}", "EXTRA={{.Values.extra}}"]
    volumeMounts:
      - name: creds
        mountPath: /run/creds
`})
	log := b.acre(t, "run", "-r", "acre", "-f", "acb.yaml", "--set-secret", "extra="+setSecret, src)
	id := runID(t, log)
	// The masked lines show the values were there: only the exact value is masked.
	for _, want := range []string{"tok=*****", "env=*****", "extra=*****", "file=*****", "token.txt", "Run ID: " + id + " was successful"} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
	if strings.Contains(log, "ENV API_TOKEN") || strings.Contains(log, `ENV "API_TOKEN"`) {
		t.Errorf("the cmd step's secret env became an ENV instruction:\n%s", log)
	}
	if got := string(b.imageFiles(t, "secrets:"+id)["token"]); got != secret+"\n" {
		t.Errorf("the build argument from the vault: /token = %q", got)
	}
	for what, text := range map[string]string{"live log": log,
		"stored log": b.acre(t, "task", "logs", "-r", "acre", "--run-id", id),
		"run view":   b.acre(t, "task", "show-run", "-r", "acre", "--run-id", id)} {
		for _, v := range []string{secret, fileSecret, setSecret} {
			if strings.Contains(text, v) {
				t.Errorf("the %s holds %q:\n%s", what, v, text)
			}
		}
	}

	// clientID names another identity than the run's: refused.
	plain := "secrets:\n  - id: tok\n    keyvault: " + url + "\nsteps:\n  - cmd: $Registry/base/busybox:1 echo never\n"
	writeFiles(t, src, map[string]string{"plain.yaml": plain,
		"other-client.yaml": strings.Replace(plain, "\nsteps:", "\n    clientID: someone-else\nsteps:", 1)})
	if out, err := b.acreErr("run", "-r", "acre", "-f", "other-client.yaml", src); err == nil ||
		!strings.Contains(out, `clientID "someone-else" is not the run's identity`) {
		t.Errorf("a clientID naming another identity: %v\n%s", err, out)
	}

	// An identity without Key Vault Secrets User (but allowed to push).
	b.acre(t, "identity", "create", "--name", "novault", "--password", "novault-password-123")
	b.acre(t, "role", "assignment", "create", "--assignee", "novault", "--role", "Contributor", "--scope", "/registries/acre")
	other := []string{"HOME=" + t.TempDir()}
	Run(t, other, acreBin, "account", "login", "--server", "http://"+b.a.Addr, "--username", "novault", "--password", "novault-password-123")
	out, err := RunErr(other, acreBin, "run", "-r", "acre", "-f", "plain.yaml", src)
	if err == nil || !strings.Contains(out, "secret tok") || !strings.Contains(out, "Key Vault Secrets User") ||
		strings.Contains(out, "Executing step ID") {
		t.Errorf("a run whose identity may not read the vault: %v\n%s", err, out)
	}

	// A secret build argument of a quick build, then everything at rest.
	writeFiles(t, src, map[string]string{"Dockerfile": "FROM " + b.a.Addr + "/base/busybox:1\nARG TOKEN\nRUN echo \"arg=$TOKEN\"\n"})
	if log := b.acre(t, "build", "-r", "acre", "--no-push", "--secret-build-arg", "TOKEN="+buildArg, src); !strings.Contains(log, "arg=*****") {
		t.Errorf("secret build argument:\n%s", log)
	}
	files, _ := filepath.Glob(filepath.Join(b.a.Data, "meta.db*"))
	if len(files) == 0 {
		t.Fatal("no SQLite files")
	}
	for _, f := range files {
		raw := mustReadFile(t, f)
		for _, v := range []string{secret, buildArg, setSecret} {
			if bytes.Contains(raw, []byte(v)) {
				t.Errorf("%s holds %q in the clear", filepath.Base(f), v)
			}
		}
	}
	if st, err := os.Stat(filepath.Join(b.a.Data, "secret.key")); err != nil || st.Mode().Perm() != 0o600 || st.Size() != 32 {
		t.Errorf("key file: %v %v", st, err)
	}
}

// TestSealKeyMismatchRefused: a server started on a metadata store with
// another secret key file (a node given a fresh key) refuses to start and
// says what to do; with its own key back it starts.
func TestSealKeyMismatchRefused(t *testing.T) {
	data := t.TempDir()
	a := StartAcre(t, data)
	a.Stop(t)
	key := filepath.Join(data, "secret.key")
	orig := mustReadFile(t, key)
	other := bytes.Clone(orig)
	other[0] ^= 0xff
	must(t, os.WriteFile(key, other, 0o600))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, acreBin, "serve", "--addr", "127.0.0.1:0", "--data", data).CombinedOutput()
	if err == nil || ctx.Err() != nil || !strings.Contains(string(out), "is not the key this metadata store's secrets are sealed with") {
		t.Fatalf("a server with another key: %v\n%s", err, out)
	}
	must(t, os.WriteFile(key, orig, 0o600))
	StartAcre(t, data).Stop(t)
}
