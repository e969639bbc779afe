//go:build e2e && linux

package e2e

import (
	"strings"
	"testing"
)

// TestBuildQuick: acre build of a local directory (a two-stage Dockerfile
// with a cache mount, a heredoc and a .dockerignore) builds on the server
// with BuildKit, pushes to acre and streams the log in ACR's shape; the
// image holds what the Dockerfile made and not what .dockerignore left
// out; acre task logs --run-id replays the log; --no-push pushes nothing.
func TestBuildQuick(t *testing.T) {
	b := startBuilds(t, "")
	b.pushBusybox(t, "base/busybox:1", nil)
	ctx := t.TempDir()
	writeFiles(t, ctx, map[string]string{
		"Dockerfile": "# syntax=docker/dockerfile:1\nFROM " + b.a.Addr + "/base/busybox:1 AS build\nARG BUST\n" +
			"RUN --mount=type=cache,target=/cache echo cached >> /cache/log && mkdir -p /out && cp /cache/log /out/log\n" +
			"RUN <<EOF\necho from-heredoc > /out/heredoc\nEOF\n" +
			"FROM " + b.a.Addr + "/base/busybox:1\nCOPY --from=build /out/ /built/\nCOPY app/ /app/\nRUN cat /app/hello.txt\n",
		"app/hello.txt":   "hello from the context\n",
		"app/secret.key":  "must not be sent\n",
		"notes/draft.txt": "ignored too\n",
		".dockerignore":   "**/*.key\nnotes\n",
	})
	log := b.acre(t, "build", "-r", "acre", "-t", "app:{{.Run.ID}}", "-t", "app:latest", ctx)
	id := runID(t, log)
	for _, want := range []string{
		"Queued a build with ID: " + id, "Waiting for an agent...", "Downloading source code...",
		"Logging in to registry: " + b.a.Addr, "hello from the context",
		"Successfully pushed image: " + b.a.Addr + "/app:" + id, "The following dependencies were found:",
		"- image:\n    registry: " + b.a.Addr + "\n    repository: app\n    tag: " + id + "\n    digest: sha256:",
		"  runtime-dependency:\n    registry: " + b.a.Addr + "\n    repository: base/busybox\n    tag: \"1\"",
		"Run ID: " + id + " was successful after ",
	} {
		if want == "  runtime-dependency:\n    registry: "+b.a.Addr+"\n    repository: base/busybox\n    tag: \"1\"" {
			want = strings.Replace(want, `"1"`, "1", 1)
		}
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
	files := b.imageFiles(t, "app:"+id)
	wantFiles(t, "built image", files, map[string][]byte{"app/hello.txt": []byte("hello from the context\n"),
		"built/log": []byte("cached\n"), "built/heredoc": []byte("from-heredoc\n")})
	for _, gone := range []string{"app/secret.key", "notes/draft.txt"} {
		if _, ok := files[gone]; ok {
			t.Errorf("%s was sent despite .dockerignore", gone)
		}
	}
	if d1, d2 := Run(t, b.env, b.crane, "digest", "--insecure", b.a.Addr+"/app:"+id),
		Run(t, b.env, b.crane, "digest", "--insecure", b.a.Addr+"/app:latest"); d1 != d2 {
		t.Errorf("the two tags differ: %s and %s", d1, d2)
	}

	// The log is kept: acre task logs replays it.
	again := b.acre(t, "task", "logs", "-r", "acre", "--run-id", id)
	if !strings.Contains(again, "Run ID: "+id+" was successful") || !strings.Contains(again, "hello from the context") {
		t.Errorf("task logs:\n%s", again)
	}

	// The cache mount persists between builds: a second build sees the first's line.
	log = b.acre(t, "build", "-r", "acre", "-t", "app:second", "--build-arg", "BUST=2", ctx)
	if files := b.imageFiles(t, "app:second"); string(files["built/log"]) != "cached\ncached\n" {
		t.Errorf("cache mount content after a second build: %q", files["built/log"])
	}

	// --no-push builds and pushes nothing.
	log = b.acre(t, "build", "-r", "acre", "-t", "nopush:1", "--no-push", ctx)
	if strings.Contains(log, "Successfully pushed") {
		t.Errorf("--no-push pushed:\n%s", log)
	}
	if out, err := RunErr(b.env, b.crane, "digest", "--insecure", b.a.Addr+"/nopush:1"); err == nil {
		t.Errorf("--no-push: the image exists: %s", out)
	}
}
