//go:build e2e && linux

package e2e

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestTaskBaseFromOtherRegistry: a task builds FROM a base kept in another
// registry that wants a login (a second acre): without a credential the
// run fails; with `acre task credential add` it succeeds (the password
// never shown nor logged); when a new base is pushed there, the polling
// base-image trigger (tasks.base_poll) rebuilds the task on it; the
// password may live in acre's Key Vault (read as the task's identity).
func TestTaskBaseFromOtherRegistry(t *testing.T) {
	other := StartAcre(t, "")
	g := startGitServer(t)
	cfg := t.TempDir() + "/acre.yaml"
	writeFiles(t, "/", map[string]string{cfg: fmt.Sprintf("tasks:\n  base_poll: 1s\n  allow: [%q, %q]\n  insecure_registries: [%q]\n",
		other.Addr, strings.TrimPrefix(g.URL, "http://"), other.Addr)})
	b := startBuilds(t, "", "--config", cfg)
	Run(t, b.env, b.crane, "auth", "login", other.Addr, "-u", other.User, "-p", other.Password)
	b.pushBusyboxTo(t, other.Addr, "lib/base:1", map[string]string{"etc/base-version": "1\n"})
	work := g.repo(t, "app")
	g.commit(t, work, map[string]string{"Dockerfile": "FROM " + other.Addr + "/lib/base:1\nCOPY v /v\nRUN cat /etc/base-version\n", "v": "1\n"})
	b.acre(t, "task", "create", "-r", "acre", "-n", "app", "--context", g.URL+"/app.git#main", "-t", "app:{{.Run.ID}}",
		"-t", "app:latest", "--base-image-trigger-enabled")

	// No credential: the other registry refuses the pull.
	denied := runID(t, b.acre(t, "task", "run", "-r", "acre", "-n", "app", "--no-logs"))
	b.waitRun(t, denied, "Failed")
	if l := b.acre(t, "task", "logs", "-r", "acre", "--run-id", denied, "--no-follow"); !strings.Contains(l, "401") && !strings.Contains(l, "nauthorized") {
		t.Errorf("the run without a credential failed for another reason:\n%s", l)
	}

	b.acre(t, "task", "credential", "add", "-r", "acre", "-n", "app", "--login-server", other.Addr, "-u", other.User, "-p", other.Password)
	if out, err := b.acreErr("task", "credential", "add", "-r", "acre", "-n", "app", "--login-server", other.Addr, "-u", "x", "-p", "y"); err == nil {
		t.Errorf("a second add for the same login server succeeded:\n%s", out)
	}
	list := b.acre(t, "task", "credential", "list", "-r", "acre", "-n", "app")
	if !strings.Contains(list, other.Addr) || !strings.Contains(list, other.User) || strings.Contains(list, other.Password) {
		t.Errorf("credential list:\n%s", list)
	}
	log := b.acre(t, "task", "run", "-r", "acre", "-n", "app")
	id := runID(t, log)
	b.waitRun(t, id, "Succeeded")
	stored := b.acre(t, "task", "logs", "-r", "acre", "--run-id", id, "--no-follow")
	for what, text := range map[string]string{"live log": log, "stored log": stored,
		"run view":  b.acre(t, "task", "show-run", "-r", "acre", "--run-id", id),
		"task show": b.acre(t, "task", "show", "-r", "acre", "-n", "app")} {
		if strings.Contains(text, other.Password) {
			t.Errorf("the credential's password appears in the %s:\n%s", what, text)
		}
	}
	if !strings.Contains(stored, "registry: "+other.Addr) || !strings.Contains(stored, "repository: lib/base") {
		t.Errorf("the dependencies lack the other registry's base:\n%s", stored)
	}

	// A new base there: the poll sees it and the task runs on it.
	b.pushBusyboxTo(t, other.Addr, "lib/base:1", map[string]string{"etc/base-version": "2\n"})
	byBase := b.waitTrigger(t, "app", "Image Update", 3*time.Minute)
	b.waitRun(t, byBase, "Succeeded")
	if got := string(b.imageFiles(t, "app:latest")["etc/base-version"]); got != "2\n" {
		t.Errorf("after the base moved, app:latest has base version %q", got)
	}
	// (crane append then mutate pushes the tag twice: one or two runs.)
	for _, r := range b.runsOf(t, "app") {
		if r.Trigger == "Image Update" {
			b.waitRun(t, r.RunID, "Succeeded")
		}
	}

	// The password from acre's Key Vault, read as the task's identity.
	b.acre(t, "keyvault", "create", "-n", "kvcreds")
	var sec struct{ ID string }
	must(t, json.Unmarshal([]byte(b.acre(t, "keyvault", "secret", "set", "--vault-name", "kvcreds", "-n", "otherpass", "--value", other.Password)), &sec))
	url, _, _ := strings.Cut(sec.ID, "/secrets/otherpass/")
	url += "/secrets/otherpass"
	b.acre(t, "role", "assignment", "create", "--assignee", b.a.User, "--role", "Key Vault Secrets User", "--scope", "/vaults/kvcreds")
	b.acre(t, "task", "credential", "update", "-r", "acre", "-n", "app", "--login-server", other.Addr, "-p", url, "--use-identity", "someone-else")
	wrongID := runID(t, b.acre(t, "task", "run", "-r", "acre", "-n", "app", "--no-logs"))
	if v := b.waitRun(t, wrongID, "Failed"); !strings.Contains(v, "someone-else") {
		t.Errorf("a run reading the credential as another identity:\n%s", v)
	}
	b.acre(t, "task", "credential", "update", "-r", "acre", "-n", "app", "--login-server", other.Addr, "--use-identity", "[system]")
	if list := b.acre(t, "task", "credential", "list", "-r", "acre", "-n", "app"); !strings.Contains(list, "Vaultsecret") || !strings.Contains(list, url) {
		t.Errorf("credential list with a Key Vault password:\n%s", list)
	}
	fromVault := runID(t, b.acre(t, "task", "run", "-r", "acre", "-n", "app", "--no-logs"))
	b.waitRun(t, fromVault, "Succeeded")
	if l := b.acre(t, "task", "logs", "-r", "acre", "--run-id", fromVault, "--no-follow"); strings.Contains(l, other.Password) {
		t.Errorf("the password read from Key Vault appears in the log:\n%s", l)
	}

	// Update and remove.
	b.acre(t, "task", "credential", "update", "-r", "acre", "-n", "app", "--login-server", other.Addr, "-p", "changed")
	b.acre(t, "task", "credential", "remove", "-r", "acre", "-n", "app", "--login-server", other.Addr)
	if list := b.acre(t, "task", "credential", "list", "-r", "acre", "-n", "app"); strings.Contains(list, other.Addr) {
		t.Errorf("after remove:\n%s", list)
	}
}
