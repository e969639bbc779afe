//go:build e2e && linux

package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// corpus is the Dockerfile corpus; BASE stands for the busybox base and
// every file starts with a "# syntax=" line naming the Dockerfile frontend
// served from acre (so acre and Docker parse with the same frontend).
var corpus = map[string]string{
	"multistage":   "FROM BASE AS build\nRUN mkdir /out && echo built > /out/f\nFROM BASE\nCOPY --from=build /out/f /f\n",
	"arg-before":   "ARG IMG=BASE\nFROM $IMG\nARG IMG\nRUN echo \"$IMG\" | wc -c > /len\n",
	"cache-mount":  "FROM BASE\nRUN --mount=type=cache,target=/cache echo c >> /cache/x && cp /cache/x /seen\n",
	"secret":       "FROM BASE\nRUN --mount=type=secret,id=tok test \"$(cat /run/secrets/tok)\" = corpus-secret && echo ok > /used\n",
	"heredoc-run":  "FROM BASE\nRUN <<EOF\necho one > /one\necho two > /two\nEOF\n",
	"heredoc-copy": "FROM BASE\nCOPY <<EOF /etc/greeting\nhello heredoc\nEOF\n",
	"chmod-chown":  "FROM BASE\nCOPY --chmod=0755 app.txt /app/run.sh\nCOPY --chown=1000:1000 app.txt /app/owned.txt\n",
	"onbuild":      "FROM BASE\nONBUILD RUN echo child > /child\nRUN echo parent > /parent\n",
	"healthcheck":  "FROM BASE\nHEALTHCHECK --interval=30s --timeout=3s CMD wget -O- http://localhost/ || exit 1\n",
	"user":         "FROM BASE\nRUN mkdir -p /home/app && chown 1000 /home/app\nUSER 1000:1000\nRUN id -u > /home/app/uid\n",
	"workdir":      "FROM BASE\nWORKDIR /srv/app\nCOPY app.txt .\nRUN pwd > where\n",
	"shell":        "FROM BASE\nSHELL [\"/bin/sh\", \"-e\", \"-c\"]\nRUN echo shell > /shell\n",
	"metadata":     "FROM BASE\nENV A=1 B=\"two words\"\nLABEL org.example.k=v\nEXPOSE 8080/tcp\nSTOPSIGNAL SIGTERM\nENTRYPOINT [\"/bin/sh\", \"-c\"]\nCMD [\"echo hi\"]\n",
	"add-tar":      "FROM BASE\nADD files.tar /unpacked/\n",
	"target":       "FROM BASE AS base\nRUN echo base > /b\nFROM base AS mid\nRUN echo mid > /m\nFROM mid AS final\nRUN echo final > /f\n",
	"dockerignore": "FROM BASE\nCOPY . /ctx/\n",
}

// TestBuildCorpusMatchesDocker builds each Dockerfile of the corpus with
// acre (BuildKit on the server) and with docker buildx build against a
// private dockerd, and compares the images' files and configs.
func TestBuildCorpusMatchesDocker(t *testing.T) {
	b := startBuilds(t, "")
	b.pushBusybox(t, "base/busybox:1", nil)
	base := b.a.Addr + "/base/busybox:1"
	// The Dockerfile frontend image, served by acre.
	fe := t.TempDir()
	must(t, os.MkdirAll(filepath.Join(fe, "root", "bin"), 0o755))
	bin, err := os.ReadFile(Tool(t, "dockerfile-frontend"))
	must(t, err)
	must(t, os.WriteFile(filepath.Join(fe, "root", "bin", "dockerfile-frontend"), bin, 0o755))
	Run(t, nil, "tar", "-C", filepath.Join(fe, "root"), "-cf", filepath.Join(fe, "l.tar"), ".")
	feRef := b.a.Addr + "/docker/dockerfile:1"
	Run(t, b.env, b.crane, "append", "--insecure", "-f", filepath.Join(fe, "l.tar"), "-t", feRef)
	Run(t, b.env, b.crane, "mutate", "--insecure", "--set-platform", "linux/amd64", "--entrypoint", "/bin/dockerfile-frontend",
		"-l", "moby.buildkit.frontend.network.none=true",
		"-l", "moby.buildkit.frontend.caps=moby.buildkit.frontend.inputs,moby.buildkit.frontend.subrequests,moby.buildkit.frontend.contexts",
		feRef)

	d := startDockerd(t)
	plugins := filepath.Join(strings.TrimPrefix(d.env[1], "DOCKER_CONFIG="), "cli-plugins")
	must(t, os.MkdirAll(plugins, 0o755))
	bx, err := os.ReadFile(Tool(t, "docker-buildx"))
	must(t, err)
	must(t, os.WriteFile(filepath.Join(plugins, "docker-buildx"), bx, 0o755))
	d.run(t, "login", b.a.Addr, "-u", b.a.User, "-p", b.a.Password)
	secretFile := filepath.Join(t.TempDir(), "tok")
	must(t, os.WriteFile(secretFile, []byte("corpus-secret"), 0o600))

	for name, body := range corpus {
		t.Run(name, func(t *testing.T) {
			ctx := t.TempDir()
			df := "# syntax=" + feRef + "\n" + strings.ReplaceAll(body, "BASE", base)
			writeFiles(t, ctx, map[string]string{"Dockerfile": df, "app.txt": "app\n", "skip.log": "ignored\n",
				".dockerignore": "*.log\n"})
			tarDir := t.TempDir()
			writeFiles(t, tarDir, map[string]string{"in/tar.txt": "from tar\n"})
			Run(t, nil, "tar", "-C", tarDir, "-cf", filepath.Join(ctx, "files.tar"), "in")
			acreArgs := []string{"build", "-r", "acre", "-t", "corpus/" + name + ":1", "--secret-build-arg", "tok=corpus-secret"}
			dockerArgs := []string{"buildx", "build", "--progress", "plain", "--load", "-t", "corpus-" + name,
				"--network", "none", "--secret", "id=tok,src=" + secretFile}
			if name == "target" {
				acreArgs = append(acreArgs, "--target", "mid")
				dockerArgs = append(dockerArgs, "--target", "mid")
			}
			b.acre(t, append(acreArgs, ctx)...)
			d.run(t, append(dockerArgs, ctx)...)

			got := b.imageFiles(t, "corpus/"+name+":1")
			want := d.savedFiles(t, "corpus-"+name)
			for _, f := range []map[string][]byte{got, want} {
				delete(f, "bin/busybox") // the same base: skip the big file
			}
			if !reflect.DeepEqual(sortedKeys(got), sortedKeys(want)) {
				t.Errorf("files differ:\nacre   %v\ndocker %v", sortedKeys(got), sortedKeys(want))
			}
			wantFiles(t, "acre's image against docker's", got, want)

			var acreCfg struct{ Config map[string]any }
			must(t, json.Unmarshal([]byte(Run(t, b.env, b.crane, "config", "--insecure", b.a.Addr+"/corpus/"+name+":1")), &acreCfg))
			var dockerCfg map[string]any
			must(t, json.Unmarshal([]byte(d.run(t, "image", "inspect", "--format", "{{json .Config}}", "corpus-"+name)), &dockerCfg))
			for _, k := range []string{"Env", "Cmd", "Entrypoint", "WorkingDir", "User", "Healthcheck", "OnBuild", "Shell",
				"Labels", "ExposedPorts", "StopSignal", "Volumes"} {
				a, dk := acreCfg.Config[k], dockerCfg[k]
				if isEmpty(a) && isEmpty(dk) {
					continue
				}
				if !reflect.DeepEqual(a, dk) {
					t.Errorf("config %s: acre %v, docker %v", k, a, dk)
				}
			}
		})
	}
}

func isEmpty(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return x == ""
	case []any:
		return len(x) == 0
	case map[string]any:
		return len(x) == 0
	}
	return false
}
