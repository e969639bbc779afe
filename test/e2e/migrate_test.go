//go:build e2e

package e2e

import (
	"os"
	"strings"
	"testing"
)

// webAppsOn is configuration that turns web apps on (their front door on a
// free loopback port), for servers whose web apps a test only stores.
func webAppsOn(t *testing.T) string {
	return "webapps:\n  addr: " + freeAddr(t) + "\n  probe: 300ms\n  max_backoff: 1s\n  stop_grace: 2s\n"
}

// movedState is what seedMovedState stored beside the images, as the CLI
// showed it, to find again after acre migrate.
type movedState struct {
	runID string // the run of task "moved", with its log
	app   string // web app "moved-web"'s JSON
}

// seedMovedState stores, through the CLI signed in to the embedded server,
// what acre migrate once left behind: a vault with a sealed secret, a task
// (with a secret value) and a run of it with its log, a plan and a web app.
func seedMovedState(t *testing.T, cli acreCLI) movedState {
	t.Helper()
	cli.run(t, "keyvault", "create", "-n", "kvmoved")
	cli.run(t, "keyvault", "secret", "set", "--vault-name", "kvmoved", "-n", "dbpass", "--value", "moved-secret-1")
	cli.run(t, "task", "create", "-r", "acre", "-n", "moved", "--cmd", "busybox echo moved", "-c", "/dev/null",
		"--set-secret", "TOK=moved-token", "--schedule", "0 3 * * *")
	// No builder is configured: the run fails at once, with a log that says so.
	out, _ := RunErr(cli.env, acreBin, "task", "run", "-r", "acre", "-n", "moved")
	var s movedState
	for _, l := range strings.Split(out, "\n") {
		if id, ok := strings.CutPrefix(l, "Queued a run with ID: "); ok {
			s.runID = strings.TrimSpace(id)
		}
	}
	if s.runID == "" {
		t.Fatalf("task run: no run ID in\n%s", out)
	}
	cli.run(t, "appservice", "plan", "create", "-n", "moved-plan", "--sku", "B1")
	cli.run(t, "webapp", "create", "-n", "moved-web", "-p", "moved-plan", "-i", "acre.localhost/moved/none:1")
	s.app = cli.run(t, "webapp", "show", "-n", "moved-web", "--query", "{name: name, plan: serverFarmId, image: siteConfig.linuxFxVersion}")
	return s
}

// check reads s back through the CLI signed in to the server on the
// destination stores: the secret opens (the key came along), the task, its
// run and the run's log, the web app on its plan; and new runs get new IDs.
func (s movedState) check(t *testing.T, cli acreCLI) {
	t.Helper()
	var sec struct{ Value string }
	cli.json(t, &sec, "keyvault", "secret", "show", "--vault-name", "kvmoved", "-n", "dbpass")
	if sec.Value != "moved-secret-1" {
		t.Errorf("the moved secret reads %q, want moved-secret-1", sec.Value)
	}
	var task struct {
		Name         string
		SecretValues []string
		Trigger      struct {
			TimerTriggers []string `json:"timerTriggers"`
			NextTimer     string   `json:"nextTimer"`
		}
	}
	cli.json(t, &task, "task", "show", "-r", "acre", "-n", "moved")
	if task.Name != "moved" || len(task.SecretValues) != 1 || len(task.Trigger.TimerTriggers) != 1 ||
		task.Trigger.TimerTriggers[0] != "0 3 * * *" || task.Trigger.NextTimer == "" {
		t.Errorf("the moved task: %+v", task)
	}
	var runs []struct{ RunID, Status, Task string }
	cli.json(t, &runs, "task", "list-runs", "-r", "acre")
	if len(runs) != 1 || runs[0].RunID != s.runID || runs[0].Task != "moved" || runs[0].Status != "Failed" {
		t.Errorf("the moved runs: %+v, want %s of task moved, Failed", runs, s.runID)
	}
	if log := cli.run(t, "task", "logs", "-r", "acre", "--run-id", s.runID, "--no-follow"); !strings.Contains(log, "builds are not configured") {
		t.Errorf("the moved run's log:\n%s", log)
	}
	if app := cli.run(t, "webapp", "show", "-n", "moved-web", "--query",
		"{name: name, plan: serverFarmId, image: siteConfig.linuxFxVersion}"); app != s.app {
		t.Errorf("the moved web app:\n%s\nwant\n%s", app, s.app)
	}
	var plan struct{ Name string }
	cli.json(t, &plan, "appservice", "plan", "show", "-n", "moved-plan")
	if plan.Name != "moved-plan" {
		t.Errorf("the moved plan: %+v", plan)
	}
	out, _ := RunErr(cli.env, acreBin, "task", "run", "-r", "acre", "-n", "moved")
	if !strings.Contains(out, "Queued a run with ID: ") || strings.Contains(out, "ID: "+s.runID+"\n") {
		t.Errorf("a run after moving reuses an ID or was not queued:\n%s", out)
	}
}

// appendConfig adds text to the configuration file at path.
func appendConfig(t *testing.T, path, text string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(text); err != nil {
		t.Fatal(err)
	}
}
