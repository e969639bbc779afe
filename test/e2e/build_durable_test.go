//go:build e2e && linux

package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// waitLog polls a run's log until it contains want.
func (b *buildEnv) waitLog(t *testing.T, id, want string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Minute)
	for time.Now().Before(deadline) {
		out, _ := b.acreErr("task", "show-run", "-r", "acre", "--run-id", id, "--query", "status", "-o", "tsv")
		if strings.TrimSpace(out) == "Running" {
			if log, _ := RunErr(b.env, acreBin, "task", "logs", "-r", "acre", "--run-id", id, "--no-follow"); strings.Contains(log, want) {
				return
			}
		}
		time.Sleep(300 * time.Millisecond)
	}
	t.Fatalf("run %s: the log never showed %q", id, want)
}

// processesUnder lists the pids whose command line names dir.
func processesUnder(dir string) []string {
	var pids []string
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && strings.Contains(string(b), dir) {
			pids = append(pids, e.Name())
		}
	}
	return pids
}

// TestBuildSurvivesKill: acre is killed (SIGKILL) while a build runs and
// another waits in the queue. BuildKit dies with it. After a restart the
// cut run ends Failed with the reason and its log so far, and the queued
// run builds.
func TestBuildSurvivesKill(t *testing.T) {
	data := t.TempDir()
	cfg := filepath.Join(t.TempDir(), "acre.yaml")
	must(t, os.WriteFile(cfg, []byte("tasks:\n  concurrency: 1\n"), 0o600))
	b := startBuilds(t, data, "--config", cfg)
	b.pushBusybox(t, "base/busybox:1", nil)
	slow, quick := t.TempDir(), t.TempDir()
	writeFiles(t, slow, map[string]string{"Dockerfile": "FROM " + b.a.Addr + "/base/busybox:1\nRUN echo started-sleeping && sleep 600\n"})
	writeFiles(t, quick, map[string]string{"Dockerfile": "FROM " + b.a.Addr + "/base/busybox:1\nRUN echo queued-one > /q\n"})
	cut := runID(t, b.acre(t, "build", "-r", "acre", "-t", "slow:1", "--no-logs", slow))
	b.waitLog(t, cut, "started-sleeping")
	queued := runID(t, b.acre(t, "build", "-r", "acre", "-t", "queued:1", "--no-logs", quick))

	b.a.Kill()
	deadline := time.Now().Add(time.Minute)
	for len(processesUnder(filepath.Join(data, "buildkit"))) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("buildkitd outlived acre: pids %v", processesUnder(filepath.Join(data, "buildkit")))
		}
		time.Sleep(100 * time.Millisecond)
	}

	// The same address, so that the queued run's FROM still names it.
	b.a = StartAcre(t, data, "--config", cfg, "--addr", b.a.Addr)
	b.acre(t, "account", "login", "--server", "http://"+b.a.Addr, "--username", b.a.User, "--password", b.a.Password)
	view := b.waitRun(t, cut, "Failed")
	if !strings.Contains(view, "the node running it stopped before the run ended") {
		t.Errorf("the cut run's reason:\n%s", view)
	}
	log := b.acre(t, "task", "logs", "-r", "acre", "--run-id", cut, "--no-follow")
	if !strings.Contains(log, "started-sleeping") || !strings.Contains(log, "failed: the node running it stopped") {
		t.Errorf("the cut run's log:\n%s", log)
	}
	b.waitRun(t, queued, "Succeeded")
	if got := string(b.imageFiles(t, "queued:1")["q"]); got != "queued-one\n" {
		t.Errorf("the queued run's image: %q", got)
	}
}

// TestBuildCancel: cancel-run stops a running build (it ends Canceled,
// its log says so) and a queued one before it starts.
func TestBuildCancel(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "acre.yaml")
	must(t, os.WriteFile(cfg, []byte("tasks:\n  concurrency: 1\n"), 0o600))
	b := startBuilds(t, "", "--config", cfg)
	b.pushBusybox(t, "base/busybox:1", nil)
	slow := t.TempDir()
	writeFiles(t, slow, map[string]string{"Dockerfile": "FROM " + b.a.Addr + "/base/busybox:1\nRUN echo started-sleeping && sleep 600\n"})
	running := runID(t, b.acre(t, "build", "-r", "acre", "-t", "slow:1", "--no-logs", slow))
	b.waitLog(t, running, "started-sleeping")
	queued := runID(t, b.acre(t, "build", "-r", "acre", "-t", "slow:2", "--no-logs", slow))
	b.acre(t, "task", "cancel-run", "-r", "acre", "--run-id", queued)
	if v := b.waitRun(t, queued, "Canceled"); !strings.Contains(v, "canceled by the user") {
		t.Errorf("queued run after cancel:\n%s", v)
	}
	b.acre(t, "task", "cancel-run", "-r", "acre", "--run-id", running)
	b.waitRun(t, running, "Canceled")
	if log := b.acre(t, "task", "logs", "-r", "acre", "--run-id", running, "--no-follow"); !strings.Contains(log, "Run ID: "+running+" was canceled") {
		t.Errorf("log of the canceled run:\n%s", log)
	}
	if out, err := b.acreErr("task", "cancel-run", "-r", "acre", "--run-id", running); err == nil || !strings.Contains(out, "already ended") {
		t.Errorf("cancel of an ended run: %v\n%s", err, out)
	}
}
