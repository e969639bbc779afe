//go:build e2e && linux

package e2e

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestBuildFromGit: acre build from a git URL (branch and folder) served by
// a smart-HTTP git server; the dependencies block names the head revision.
func TestBuildFromGit(t *testing.T) {
	g := startGitServer(t)
	b := startBuilds(t, "", "--config", g.config(t, ""))
	b.pushBusybox(t, "base/busybox:1", nil)
	work := g.repo(t, "app")
	commit := g.commit(t, work, map[string]string{
		"src/Dockerfile": "FROM " + b.a.Addr + "/base/busybox:1\nCOPY msg.txt /msg.txt\n",
		"src/msg.txt":    "from git\n", "README": "outside the folder\n"})
	log := b.acre(t, "build", "-r", "acre", "-t", "gitapp:{{.Run.ID}}", g.URL+"/app.git#main:src")
	id := runID(t, log)
	if !strings.Contains(log, "git-head-revision: "+commit) {
		t.Errorf("log lacks the head revision %s:\n%s", commit, log)
	}
	if got := string(b.imageFiles(t, "gitapp:"+id)["msg.txt"]); got != "from git\n" {
		t.Errorf("image from git: msg.txt %q", got)
	}
}

// TestRunMultiStep: acre run of a task YAML with two build steps in
// parallel, a push step waiting for both, a cmd step running a pushed
// image with the source at /workspace and the YAML's env, and a failing
// step whose errors are ignored; then a YAML whose failing step stops the
// run before the next one.
func TestRunMultiStep(t *testing.T) {
	b := startBuilds(t, "")
	b.pushBusybox(t, "base/busybox:1", nil)
	src := t.TempDir()
	writeFiles(t, src, map[string]string{
		"a/Dockerfile": "FROM " + b.a.Addr + "/base/busybox:1\nRUN echo a > /who\n",
		"b/Dockerfile": "FROM " + b.a.Addr + "/base/busybox:1\nARG WHO\nRUN echo $WHO > /who\n",
		"data.txt":     "workspace file\n",
		"acb.yaml": `version: v1.1.0
stepTimeout: 300
env:
  - GREETING=hello
steps:
  - id: build-a
    build: -t {{.Run.Registry}}/multi-a:{{.Run.ID}} -f Dockerfile a
    when: ["-"]
  - id: build-b
    build: -t $Registry/multi-b:$ID --build-arg WHO={{.Values.who}} b
    when: ["-"]
  - id: push
    push:
      - $Registry/multi-a:$ID
      - $Registry/multi-b:$ID
    when: [build-a, build-b]
  - id: greet
    cmd: $Registry/multi-b:$ID sh -c 'echo "$GREETING from $(cat /who) in $(pwd) - $(cat data.txt)"'
  - id: tolerated
    cmd: $Registry/base/busybox:1 false
    ignoreErrors: true
`})
	log := b.acre(t, "run", "-r", "acre", "-f", "acb.yaml", "--set", "who=values", src)
	id := runID(t, log)
	for _, want := range []string{"Executing step ID: build-a", "Executing step ID: build-b",
		"Successfully pushed image: " + b.a.Addr + "/multi-a:" + id, "Successfully pushed image: " + b.a.Addr + "/multi-b:" + id,
		"hello from values in /workspace - workspace file", "Step ID: tolerated marked as failed",
		"Run ID: " + id + " was successful"} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
	// The push waited for both builds.
	push := strings.Index(log, "Executing step ID: push")
	for _, s := range []string{"Step ID: build-a marked as successful", "Step ID: build-b marked as successful"} {
		if i := strings.Index(log, s); i < 0 || i > push {
			t.Errorf("%q is not before the push step", s)
		}
	}
	if got := string(b.imageFiles(t, "multi-b:"+id)["who"]); got != "values\n" {
		t.Errorf("multi-b /who = %q", got)
	}

	// A failing step stops the run; the step after it never runs.
	writeFiles(t, src, map[string]string{"fail.yaml": `steps:
  - id: breaks
    cmd: $Registry/base/busybox:1 sh -c 'echo about-to-fail; exit 3'
  - id: never
    cmd: $Registry/base/busybox:1 echo should-not-run
`})
	out, err := b.acreErr("run", "-r", "acre", "-f", "fail.yaml", src)
	if err == nil || !strings.Contains(out, "about-to-fail") || strings.Contains(out, "Executing step ID: never") ||
		!strings.Contains(out, "step breaks failed") {
		t.Errorf("a failing step: %v\n%s", err, out)
	}
	// --cmd with no context.
	if out := b.acre(t, "run", "-r", "acre", "--cmd", "$Registry/base/busybox:1 echo quick-cmd", "/dev/null"); !strings.Contains(out, "quick-cmd") {
		t.Errorf("--cmd run:\n%s", out)
	}
}

// runsOf lists a task's runs (newest first) as the API shows them.
func (b *buildEnv) runsOf(t *testing.T, task string) []struct{ RunID, Status, Trigger string } {
	t.Helper()
	var runs []struct{ RunID, Status, Trigger string }
	out := b.acre(t, "task", "list-runs", "-r", "acre", "-n", task, "--top", "50")
	if err := json.Unmarshal([]byte(out), &runs); err != nil {
		t.Fatalf("list-runs: %v\n%s", err, out)
	}
	return runs
}

// waitTrigger waits for a run of task with the trigger and returns its ID.
func (b *buildEnv) waitTrigger(t *testing.T, task, trigger string, deadline time.Duration) string {
	t.Helper()
	end := time.Now().Add(deadline)
	for time.Now().Before(end) {
		for _, r := range b.runsOf(t, task) {
			if r.Trigger == trigger {
				return r.RunID
			}
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Fatalf("no %s run of task %s within %s: %+v", trigger, task, deadline, b.runsOf(t, task))
	return ""
}

// TestTaskTriggers: a task from a git context runs on demand, on a push
// webhook (commit trigger, with the task's token; a wrong token is refused,
// another branch ignored), when its base image moves in acre (base-image
// trigger) and on a cron timer; list-runs -o table shows them; a task whose
// identity lacks AcrPush fails with a message saying so.
func TestTaskTriggers(t *testing.T) {
	g := startGitServer(t)
	b := startBuilds(t, "", "--config", g.config(t, ""))
	b.pushBusybox(t, "base/busybox:1", nil)
	work := g.repo(t, "svc")
	g.commit(t, work, map[string]string{"src/Dockerfile": "FROM " + b.a.Addr + "/base/busybox:1\nCOPY v.txt /v.txt\n", "src/v.txt": "v1\n"})
	var created struct {
		Trigger struct{ SourceTriggerWebhook string }
	}
	out := b.acre(t, "task", "create", "-r", "acre", "-n", "svc", "--context", g.URL+"/svc.git#main:src", "-f", "Dockerfile",
		"-t", "svc:{{.Run.ID}}", "-t", "svc:latest", "--commit-trigger-enabled", "--base-image-trigger-enabled")
	if err := json.Unmarshal([]byte(out), &created); err != nil || created.Trigger.SourceTriggerWebhook == "" {
		t.Fatalf("task create: %v\n%s", err, out)
	}
	first := runID(t, b.acre(t, "task", "run", "-r", "acre", "-n", "svc"))
	b.waitRun(t, first, "Succeeded")

	// Commit trigger.
	commit := g.commit(t, work, map[string]string{"src/v.txt": "v2\n"})
	hook := "http://" + b.a.Addr + created.Trigger.SourceTriggerWebhook
	post := func(url, ref string) int {
		body, _ := json.Marshal(map[string]string{"ref": ref, "after": commit})
		resp, err := http.Post(url, "application/json", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if st := post(strings.Replace(hook, "token=", "token=x", 1), "refs/heads/main"); st != http.StatusUnauthorized {
		t.Errorf("webhook with a wrong token: %d", st)
	}
	if st := post(hook, "refs/heads/other"); st != http.StatusOK {
		t.Errorf("webhook for another branch: %d", st)
	}
	if st := post(hook, "refs/heads/main"); st != http.StatusAccepted {
		t.Fatalf("webhook: %d", st)
	}
	byCommit := b.waitTrigger(t, "svc", "Commit", 2*time.Minute)
	b.waitRun(t, byCommit, "Succeeded")
	if log := b.acre(t, "task", "logs", "-r", "acre", "--run-id", byCommit); !strings.Contains(log, "git-head-revision: "+commit) {
		t.Errorf("commit-triggered run's log lacks %s:\n%s", commit, log)
	}
	if got := string(b.imageFiles(t, "svc:latest")["v.txt"]); got != "v2\n" {
		t.Errorf("after the commit trigger, svc:latest has v.txt %q", got)
	}

	// Base-image trigger: a new base under the same tag.
	b.pushBusybox(t, "base/busybox:1", map[string]string{"etc/base-version": "2\n"})
	byBase := b.waitTrigger(t, "svc", "Image Update", 2*time.Minute)
	b.waitRun(t, byBase, "Succeeded")
	if got := string(b.imageFiles(t, "svc:latest")["etc/base-version"]); got != "2\n" {
		t.Errorf("after the base-image trigger, svc:latest has the old base (%q)", got)
	}

	// Timer trigger (cron has minute resolution: up to a minute's wait).
	b.acre(t, "task", "create", "-r", "acre", "-n", "tick", "--context", "/dev/null", "--cmd", "base/busybox:1 echo tick",
		"--schedule", "* * * * *")
	tick := b.waitTrigger(t, "tick", "Timer", 3*time.Minute)
	b.waitRun(t, tick, "Succeeded")

	table := b.acre(t, "task", "list-runs", "-r", "acre", "-o", "table")
	lines := strings.Split(strings.TrimSpace(table), "\n")
	if len(lines) < 6 || !strings.HasPrefix(lines[0], "RUN ID") || !strings.Contains(lines[0], "TASK") ||
		!strings.Contains(lines[0], "PLATFORM") || !strings.Contains(lines[0], "STATUS") || !strings.Contains(lines[0], "TRIGGER") ||
		!strings.Contains(lines[0], "STARTED") || !strings.Contains(lines[0], "DURATION") {
		t.Errorf("list-runs -o table:\n%s", table)
	}
	for _, want := range []string{"Commit", "Image Update", "Timer", "Manual", "svc", "tick", "Succeeded", "linux"} {
		if !strings.Contains(table, want) {
			t.Errorf("list-runs table lacks %q:\n%s", want, table)
		}
	}

	// An identity without AcrPush: the run fails and says why.
	b.acre(t, "identity", "create", "--name", "puller", "--type", "serviceprincipal")
	b.acre(t, "role", "assignment", "create", "--assignee", "puller", "--role", "AcrPull", "--scope", "/registries/acre")
	b.acre(t, "task", "create", "-r", "acre", "-n", "denied", "--context", g.URL+"/svc.git#main:src", "-t", "denied:1",
		"--assign-identity", "puller")
	denied := runID(t, b.acre(t, "task", "run", "-r", "acre", "-n", "denied", "--no-logs"))
	if v := b.waitRun(t, denied, "Failed"); !strings.Contains(v, `may not push to acre/denied`) || !strings.Contains(v, "AcrPush") {
		t.Errorf("run without AcrPush:\n%s", v)
	}
}

// TestTaskCommitPolling: a task with a commit trigger on a plain git URL
// (no webhook) runs when the branch's head moves.
func TestTaskCommitPolling(t *testing.T) {
	g := startGitServer(t)
	b := startBuilds(t, "", "--config", g.config(t, "  commit_poll: 1s\n"))
	b.pushBusybox(t, "base/busybox:1", nil)
	work := g.repo(t, "poll")
	first := g.commit(t, work, map[string]string{"Dockerfile": "FROM " + b.a.Addr + "/base/busybox:1\nCOPY v /v\n", "v": "1\n"})
	b.acre(t, "task", "create", "-r", "acre", "-n", "poll", "--context", g.URL+"/poll.git#main", "-t", "poll:{{.Run.ID}}",
		"--commit-trigger-enabled")
	deadline := time.Now().Add(2 * time.Minute)
	for !strings.Contains(b.acre(t, "task", "show", "-r", "acre", "-n", "poll"), first) {
		if time.Now().After(deadline) {
			t.Fatalf("the commit trigger never saw %s", first)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if runs := b.runsOf(t, "poll"); len(runs) != 0 {
		t.Errorf("the first look ran the task: %+v", runs)
	}
	second := g.commit(t, work, map[string]string{"v": "2\n"})
	id := b.waitTrigger(t, "poll", "Commit", 2*time.Minute)
	b.waitRun(t, id, "Succeeded")
	if log := b.acre(t, "task", "logs", "-r", "acre", "--run-id", id, "--no-follow"); !strings.Contains(log, "git-head-revision: "+second) {
		t.Errorf("polled run's log lacks %s:\n%s", second, log)
	}
}
