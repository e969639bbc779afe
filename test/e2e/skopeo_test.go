//go:build e2e

package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestSkopeo pushes an OCI archive with skopeo (containers/image: a POST,
// then the bytes, following each Location), copies it to another
// repository and pulls it back, checking every digest. The image has a
// config small enough to be kept inline and a layer kept in a file.
func TestSkopeo(t *testing.T) {
	skopeo, err := exec.LookPath("skopeo")
	if err != nil {
		t.Fatal("skopeo is not installed: run the README's test command, which installs it")
	}
	a := StartAcre(t, "")
	h, dir := a.Addr, t.TempDir()
	policy := mustWriteFile(t, filepath.Join(dir, "policy.json"), []byte(`{"default":[{"type":"insecureAcceptAnything"}]}`))
	env := []string{"HOME=" + dir, "NO_PROXY=*", "no_proxy=*"}
	creds := a.User + ":" + a.Password
	run := func(t *testing.T, args ...string) string {
		t.Helper()
		return Run(t, env, skopeo, append([]string{"--policy", policy}, args...)...)
	}
	files := map[string][]byte{"etc/skopeo.txt": randText(t, 48), "data/payload.bin": randBytes(t, 300<<10)}
	layout, manifestJSON, layer := ociLayout(t, files)
	archive := mustWriteFile(t, filepath.Join(dir, "layout.tar"), layout)
	digest := sha256Of(manifestJSON)

	runStep(t, "push", func(t *testing.T) {
		run(t, "copy", "--dest-tls-verify=false", "--dest-creds", creds, "oci-archive:"+archive, "docker://"+h+"/skopeo/app:v1")
		_, body, dg := getManifest(t, a, "skopeo/app", "v1")
		wantEqual(t, "manifest digest", dg, digest)
		wantEqual(t, "manifest", string(body), string(manifestJSON))
		wantEqual(t, "layer blob", sha256Of(getBlob(t, a, "skopeo/app", sha256Of(layer))), sha256Of(layer))
	})
	runStep(t, "copy to another repository", func(t *testing.T) {
		run(t, "copy", "--src-tls-verify=false", "--dest-tls-verify=false", "--src-creds", creds, "--dest-creds", creds,
			"docker://"+h+"/skopeo/app:v1", "docker://"+h+"/skopeo/copy:v1")
		_, _, dg := getManifest(t, a, "skopeo/copy", "v1")
		wantEqual(t, "copied manifest digest", dg, digest)
	})
	runStep(t, "pull", func(t *testing.T) {
		out := filepath.Join(dir, "pulled")
		run(t, "copy", "--src-tls-verify=false", "--src-creds", creds, "docker://"+h+"/skopeo/copy:v1", "dir:"+out)
		got, err := os.ReadFile(filepath.Join(out, strings.TrimPrefix(sha256Of(layer), "sha256:")))
		if err != nil {
			t.Fatal(err)
		}
		wantEqual(t, "pulled layer", sha256Of(got), sha256Of(layer))
		if insp := run(t, "inspect", "--tls-verify=false", "--creds", creds, "docker://"+h+"/skopeo/copy:v1"); !strings.Contains(insp, digest) {
			t.Errorf("skopeo inspect does not name %s:\n%s", digest, insp)
		}
	})
}
