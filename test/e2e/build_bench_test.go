//go:build e2e && linux

package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// BenchmarkQuickBuild measures, in one run, a quick build of a small
// Dockerfile (base + COPY + RUN, new content each time) from `acre build`
// to pushed, the same with `docker buildx build` + `docker push` against
// acre, and an `acre build` rebuild of unchanged content (warm cache). It
// reports seconds per build and the acre/docker ratio.
//
//	ACRE_BIN=... ACRE_TOOLS=... go test -tags e2e -run '^$' -bench QuickBuild -benchtime 5x ./test/e2e/
func BenchmarkQuickBuild(b *testing.B) {
	var env *buildEnv
	var d *dockerDaemon
	setup := func(tt testing.TB) {
		env = startBuilds(tt, "")
		env.pushBusybox(tt, "base/busybox:1", nil)
		d = startDockerd(tt)
		plugins := filepath.Join(strings.TrimPrefix(d.env[1], "DOCKER_CONFIG="), "cli-plugins")
		must(tt, os.MkdirAll(plugins, 0o755))
		bx, err := os.ReadFile(Tool(tt, "docker-buildx"))
		must(tt, err)
		must(tt, os.WriteFile(filepath.Join(plugins, "docker-buildx"), bx, 0o755))
		d.run(tt, "login", env.a.Addr, "-u", env.a.User, "-p", env.a.Password)
	}
	tt := testing.TB(b)
	setup(tt)
	ctx := b.TempDir()
	var acre, warm, docker time.Duration
	for i := 0; i < b.N; i++ {
		writeFiles(tt, ctx, map[string]string{"Dockerfile": "FROM " + env.a.Addr + "/base/busybox:1\nCOPY app.txt /app.txt\nRUN cat /app.txt > /copy\n",
			"app.txt": fmt.Sprintf("build %d at %d\n", i, time.Now().UnixNano())})
		start := time.Now()
		env.acre(tt, "build", "-r", "acre", "-t", "bench:acre", ctx)
		acre += time.Since(start)
		start = time.Now()
		env.acre(tt, "build", "-r", "acre", "-t", "bench:acre", ctx)
		warm += time.Since(start)
		writeFiles(tt, ctx, map[string]string{"app.txt": fmt.Sprintf("docker %d at %d\n", i, time.Now().UnixNano())})
		start = time.Now()
		d.run(tt, "buildx", "build", "--progress", "plain", "--network", "none", "--load", "-t", env.a.Addr+"/bench:docker", ctx)
		d.run(tt, "push", env.a.Addr+"/bench:docker")
		docker += time.Since(start)
	}
	n := float64(b.N)
	b.ReportMetric(acre.Seconds()/n, "acre-build-s/op")
	b.ReportMetric(warm.Seconds()/n, "acre-warm-rebuild-s/op")
	b.ReportMetric(docker.Seconds()/n, "docker-build-push-s/op")
	b.ReportMetric(acre.Seconds()/docker.Seconds(), "acre/docker")
}
