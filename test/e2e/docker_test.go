//go:build e2e && linux

package e2e

import (
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// dockerDaemon is a private dockerd started by a test.
type dockerDaemon struct {
	docker string   // the docker CLI
	env    []string // DOCKER_HOST and DOCKER_CONFIG for the CLI
	dir    string   // short temp directory holding the socket and state
}

// findBin returns the first of paths that exists, else name on $PATH.
func findBin(t testing.TB, name string, paths ...string) string {
	t.Helper()
	for _, p := range paths {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s is not installed (looked at %v and $PATH)", name, paths)
	}
	return p
}

// startDockerd starts a dockerd with its own data and exec roots and a
// socket in a short temp directory, waits until it answers, and stops it
// when the test ends. It fails the test with the daemon's log when the
// daemon does not come up.
func startDockerd(t testing.TB) *dockerDaemon {
	t.Helper()
	dockerd := findBin(t, "dockerd", "/usr/sbin/dockerd")
	docker := findBin(t, "docker", "/usr/bin/docker")
	// A unix socket path must stay under ~100 bytes, so no t.TempDir().
	dir, err := os.MkdirTemp("", "dk")
	if err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "docker.sock")
	logs := &syncBuffer{}
	cmd := exec.Command(dockerd,
		"--iptables=false", "--bridge=none", "--ip-masq=false",
		"--data-root", filepath.Join(dir, "root"),
		"--exec-root", filepath.Join(dir, "exec"),
		"--pidfile", filepath.Join(dir, "docker.pid"),
		"--host", "unix://"+sock)
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		os.RemoveAll(dir)
		t.Fatalf("start dockerd: %v", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	logged := false // the daemon's log is already in a failure message
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			t.Errorf("dockerd did not stop within 20s of SIGTERM; killing it")
			// The containerd it runs gets SIGKILL when it dies.
			_ = cmd.Process.Kill()
			<-done
		}
		if t.Failed() && !logged {
			t.Logf("dockerd log (tail):\n%s", tail(logs.String(), 40))
		}
		// A daemon that died early leaves its data root mounted.
		unmountUnder(t, dir)
		if err := os.RemoveAll(dir); err != nil {
			t.Logf("removing %s: %v", dir, err)
		}
	})

	d := &dockerDaemon{
		docker: docker,
		dir:    dir,
		env: []string{
			"DOCKER_HOST=unix://" + sock,
			"DOCKER_CONFIG=" + t.TempDir(),
			"DOCKER_CONTENT_TRUST=0",
			"DOCKER_CLI_EXPERIMENTAL=enabled",
		},
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		out, err := RunErr(d.env, docker, "version", "--format", "{{.Server.Version}}")
		if err == nil {
			t.Logf("dockerd %s on %s", strings.TrimSpace(out), sock)
			return d
		}
		select {
		case <-done:
			logged = true
			t.Fatalf("dockerd exited before answering (%v):\n%s", cmd.ProcessState, tail(logs.String(), 60))
		case <-time.After(250 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			logged = true
			t.Fatalf("dockerd did not answer within 60s; last docker version: %v\n%s\ndockerd log:\n%s", err, out, tail(logs.String(), 60))
		}
	}
}

// unmountUnder detaches every mount at or below dir, deepest first.
func unmountUnder(t testing.TB, dir string) {
	t.Helper()
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Logf("reading mountinfo: %v", err)
		return
	}
	var points []string
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) < 5 {
			continue
		}
		// Field 5 is the mount point, with space, tab, newline and
		// backslash octal-escaped.
		p := strings.NewReplacer(`\040`, " ", `\011`, "\t", `\012`, "\n", `\134`, `\`).Replace(f[4])
		if p == dir || strings.HasPrefix(p, dir+"/") {
			points = append(points, p)
		}
	}
	sort.Slice(points, func(i, j int) bool { return len(points[i]) > len(points[j]) })
	for _, p := range points {
		if err := syscall.Unmount(p, syscall.MNT_DETACH); err != nil {
			t.Logf("unmount %s: %v", p, err)
		}
	}
}

// run runs the docker CLI against the daemon, failing the test on error.
func (d *dockerDaemon) run(t testing.TB, args ...string) string {
	t.Helper()
	return Run(t, d.env, d.docker, args...)
}

// inspect returns the image ID and RootFS layers of a local image.
func (d *dockerDaemon) inspect(t *testing.T, ref string) (id string, layers []string) {
	t.Helper()
	out := d.run(t, "image", "inspect", "--format", "{{.Id}} {{json .RootFS.Layers}}", ref)
	id, js, ok := strings.Cut(strings.TrimSpace(out), " ")
	if !ok || json.Unmarshal([]byte(js), &layers) != nil {
		t.Fatalf("docker image inspect %s: unexpected output %q", ref, out)
	}
	return id, layers
}

// savedFiles runs docker save on ref and returns the files of all the
// image's layers, later layers overriding earlier ones.
func (d *dockerDaemon) savedFiles(t *testing.T, ref string) map[string][]byte {
	t.Helper()
	path := filepath.Join(t.TempDir(), "save.tar")
	d.run(t, "save", "-o", path, ref)
	outer := untar(t, mustReadFile(t, path))
	var saved []struct {
		Config string
		Layers []string
	}
	if err := json.Unmarshal(outer["manifest.json"], &saved); err != nil || len(saved) != 1 {
		t.Fatalf("docker save %s: manifest.json %q: %v (entries %v)", ref, outer["manifest.json"], err, sortedKeys(outer))
	}
	files := map[string][]byte{}
	for _, l := range saved[0].Layers {
		b, ok := outer[l]
		if !ok {
			t.Fatalf("docker save %s: layer %s is missing (entries %v)", ref, l, sortedKeys(outer))
		}
		for n, c := range untar(t, b) {
			files[n] = c
		}
	}
	return files
}

// TestDocker makes an image without any registry (docker import of a
// busybox rootfs with random files), pushes it to acre with the real
// Docker engine, removes it locally, pulls it back by tag and by digest and
// checks its content and layers; pushes a second tag to another repository
// (a cross-repository blob mount) and checks both repositories serve the
// same manifest.
func TestDocker(t *testing.T) {
	a := StartAcre(t, "")
	d := startDockerd(t)
	runStep(t, "login", func(t *testing.T) {
		if out := d.run(t, "login", a.Addr, "-u", a.User, "-p", a.Password); !strings.Contains(out, "Login Succeeded") {
			t.Fatalf("docker login: %s", out)
		}
	})

	files := map[string][]byte{
		"bin/busybox":          mustReadFile(t, "/bin/busybox"),
		"etc/acre/random.txt":  randText(t, 64),
		"data/acre/random.bin": randBytes(t, 64<<10),
	}
	rootfs := tarOf(t, files)
	rootfsPath := mustWriteFile(t, filepath.Join(t.TempDir(), "rootfs.tar"), rootfs)

	repo1, repo2 := "dockertest/busybox", "dockertest/copy"
	ref1, ref2 := a.Addr+"/"+repo1+":v1", a.Addr+"/"+repo2+":v1"
	pushedRe := regexp.MustCompile(`v1: digest: (sha256:[0-9a-f]{64}) size: (\d+)`)

	var imageID, digest string
	var layers []string
	runStep(t, "import", func(t *testing.T) {
		d.run(t, "import", "--message", "acre e2e", rootfsPath, ref1)
		imageID, layers = d.inspect(t, ref1)
		wantEqual(t, "RootFS layers of the imported image", layers, []string{sha256Of(rootfs)})
	})

	runStep(t, "push", func(t *testing.T) {
		out := d.run(t, "push", ref1)
		m := pushedRe.FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("docker push: no digest in output:\n%s", out)
		}
		digest = m[1]
		man, body, dg := getManifest(t, a, repo1, "v1")
		wantEqual(t, "registry digest of v1", dg, digest)
		wantEqual(t, "manifest size", m[2], strconv.Itoa(len(body)))
		wantEqual(t, "manifest mediaType", man.MediaType, mtDockerManifest)
		wantEqual(t, "config digest (image ID)", man.Config.Digest, imageID)
		if len(man.Layers) != 1 {
			t.Fatalf("manifest has %d layers, want 1: %s", len(man.Layers), body)
		}
		// The registry's layer holds what was imported.
		wantFiles(t, "pushed layer", untar(t, getBlob(t, a, repo1, man.Layers[0].Digest)), files)
		repoDigests := d.run(t, "image", "inspect", "--format", "{{json .RepoDigests}}", ref1)
		if !strings.Contains(repoDigests, a.Addr+"/"+repo1+"@"+digest) {
			t.Errorf("RepoDigests %s lack %s", strings.TrimSpace(repoDigests), digest)
		}
	})

	runStep(t, "push to a second repository", func(t *testing.T) {
		d.run(t, "tag", ref1, ref2)
		out := d.run(t, "push", ref2)
		m := pushedRe.FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("docker push: no digest in output:\n%s", out)
		}
		wantEqual(t, "pushed digest in the second repository", m[1], digest)
		if !strings.Contains(out, "Mounted from "+repo1) {
			t.Errorf("docker push %s did not mount the layer from %s:\n%s", ref2, repo1, out)
		}
		_, body1, dg1 := getManifest(t, a, repo1, "v1")
		_, body2, dg2 := getManifest(t, a, repo2, "v1")
		wantEqual(t, "digest of "+repo2, dg2, dg1)
		wantEqual(t, "manifest bytes of "+repo2, string(body2), string(body1))
		crane := Tool(t, "crane")
		for _, ref := range []string{ref1, ref2} {
			wantEqual(t, "crane manifest "+ref, sha256Of([]byte(Run(t, d.env, crane, "manifest", "--insecure", ref))), digest)
		}
	})

	runStep(t, "manifest inspect", func(t *testing.T) {
		out := d.run(t, "manifest", "inspect", "--insecure", ref1)
		var m ociManifest
		if err := json.Unmarshal([]byte(out), &m); err != nil {
			t.Fatalf("docker manifest inspect: %v\n%s", err, out)
		}
		wantEqual(t, "docker manifest inspect config", m.Config.Digest, imageID)
		reg, _, _ := getManifest(t, a, repo1, "v1")
		wantEqual(t, "docker manifest inspect layers", m.Layers, reg.Layers)
	})

	removeAll := func(t *testing.T, refs ...string) {
		t.Helper()
		d.run(t, append([]string{"rmi"}, refs...)...)
		if out, err := RunErr(d.env, d.docker, "image", "inspect", imageID); err == nil {
			t.Fatalf("image %s is still present after docker rmi:\n%s", imageID, out)
		}
	}

	runStep(t, "pull by tag", func(t *testing.T) {
		removeAll(t, ref1, ref2)
		out := d.run(t, "pull", ref1)
		if !strings.Contains(out, "Digest: "+digest) {
			t.Errorf("docker pull %s: output lacks digest %s:\n%s", ref1, digest, out)
		}
		id, l := d.inspect(t, ref1)
		wantEqual(t, "image ID after pull", id, imageID)
		wantEqual(t, "RootFS layers after pull", l, layers)
		wantFiles(t, "docker save "+ref1, d.savedFiles(t, ref1), files)
	})

	runStep(t, "pull by digest", func(t *testing.T) {
		removeAll(t, ref1)
		byDigest := a.Addr + "/" + repo1 + "@" + digest
		d.run(t, "pull", byDigest)
		id, l := d.inspect(t, byDigest)
		wantEqual(t, "image ID after pull by digest", id, imageID)
		wantEqual(t, "RootFS layers after pull by digest", l, layers)
		wantFiles(t, "docker save "+imageID, d.savedFiles(t, imageID), files)
	})

	runStep(t, "pull from the second repository", func(t *testing.T) {
		d.run(t, "pull", ref2)
		id, l := d.inspect(t, ref2)
		wantEqual(t, "image ID from "+repo2, id, imageID)
		wantEqual(t, "RootFS layers from "+repo2, l, layers)
		if r := sendRequest(t, http.MethodHead, a.URL("/v2/"+repo2+"/blobs/"+imageID)); r.status != http.StatusOK {
			t.Errorf("HEAD config blob in %s = %s", repo2, r)
		}
	})

	// Nothing above needs a container; make sure none was created.
	if out := strings.TrimSpace(d.run(t, "ps", "-aq")); out != "" {
		t.Errorf("unexpected containers: %s", out)
	}
}
