//go:build e2e

package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
)

// TestCrane pushes an image built by the test with crane, pulls it back in
// three ways, tags, copies, lists, builds a multi-platform index and deletes.
func TestCrane(t *testing.T) {
	a := StartAcre(t, "")
	h := a.Addr
	dir := t.TempDir()
	c := newCLITool(t, "crane", dir)
	c.login(t, a)
	crane := func(t *testing.T, args ...string) string {
		t.Helper()
		return c.run(t, append(args, "--insecure")...)
	}

	files1 := map[string][]byte{"etc/crane/one.txt": randText(t, 32), "data/one.bin": randBytes(t, 48<<10)}
	files2 := map[string][]byte{"data/two.bin": randBytes(t, 16<<10), "etc/crane/two.txt": randText(t, 16)}
	tar1, tar2 := tarOf(t, files1), tarOf(t, files2)
	l1, l2 := gzipOf(t, tar1), gzipOf(t, tar2)
	mustWriteFile(t, filepath.Join(dir, "l1.tar.gz"), l1)
	mustWriteFile(t, filepath.Join(dir, "l2.tar.gz"), l2)

	var digest string
	runStep(t, "push", func(t *testing.T) {
		digest = refDigest(t, crane(t, "append", "-f", "l1.tar.gz", "-f", "l2.tar.gz", "-t", h+"/crane/app:v1"))
		m, _, dg := getManifest(t, a, "crane/app", "v1")
		wantEqual(t, "manifest digest", dg, digest)
		if len(m.Layers) != 2 {
			t.Fatalf("manifest has %d layers, want 2: %+v", len(m.Layers), m)
		}
		for i, l := range [][]byte{l1, l2} {
			wantEqual(t, fmt.Sprintf("layer %d digest", i), m.Layers[i].Digest, sha256Of(l))
			wantEqual(t, fmt.Sprintf("layer %d size", i), m.Layers[i].Size, int64(len(l)))
			wantEqual(t, fmt.Sprintf("layer %d bytes", i), sha256Of(getBlob(t, a, "crane/app", m.Layers[i].Digest)), sha256Of(l))
		}
		var cfg ociImageConfig
		if err := json.Unmarshal(getBlob(t, a, "crane/app", m.Config.Digest), &cfg); err != nil {
			t.Fatal(err)
		}
		wantEqual(t, "diff_ids", cfg.RootFS.DiffIDs, []string{sha256Of(tar1), sha256Of(tar2)})
	})

	runStep(t, "pull", func(t *testing.T) {
		// An OCI layout keeps manifest and blobs byte for byte.
		crane(t, "pull", "--format", "oci", h+"/crane/app:v1", "layout")
		blob := func(dg string) []byte {
			return mustReadFile(t, filepath.Join(dir, "layout", "blobs", "sha256", strings.TrimPrefix(dg, "sha256:")))
		}
		wantEqual(t, "pulled manifest digest", sha256Of(blob(digest)), digest)
		for i, l := range [][]byte{l1, l2} {
			if !bytes.Equal(blob(sha256Of(l)), l) {
				t.Errorf("pulled layer %d differs from the pushed one", i)
			}
		}
		if got := crane(t, "blob", h+"/crane/app@"+sha256Of(l2)); got != string(l2) {
			t.Errorf("crane blob: got %d bytes %s, want %s", len(got), sha256Of([]byte(got)), sha256Of(l2))
		}
		crane(t, "export", h+"/crane/app:v1", "fs.tar")
		fs := untar(t, mustReadFile(t, filepath.Join(dir, "fs.tar")))
		wantFiles(t, "crane export", fs, files1)
		wantFiles(t, "crane export", fs, files2)
	})

	runStep(t, "tag", func(t *testing.T) {
		crane(t, "tag", h+"/crane/app:v1", "v2")
		wantEqual(t, "crane digest v2", strings.TrimSpace(crane(t, "digest", h+"/crane/app:v2")), digest)
		wantEqual(t, "HEAD v2 digest", headDigest(t, a, "crane/app", "v2"), digest)
	})

	runStep(t, "copy", func(t *testing.T) {
		crane(t, "copy", h+"/crane/app:v1", h+"/crane/copy:v1")
		wantEqual(t, "copied digest", headDigest(t, a, "crane/copy", "v1"), digest)
		wantEqual(t, "crane digest of copy", strings.TrimSpace(crane(t, "digest", h+"/crane/copy:v1")), digest)
		for _, l := range [][]byte{l1, l2} {
			if r := sendRequest(t, http.MethodHead, a.URL("/v2/crane/copy/blobs/"+sha256Of(l))); r.status != http.StatusOK {
				t.Errorf("HEAD layer %s in crane/copy = %s", sha256Of(l), r)
			}
		}
	})

	runStep(t, "list", func(t *testing.T) {
		wantEqual(t, "crane ls crane/app", outputLines(crane(t, "ls", h+"/crane/app")), []string{"v1", "v2"})
		wantEqual(t, "crane catalog", outputLines(crane(t, "catalog", h)), []string{"crane/app", "crane/copy"})
	})

	runStep(t, "index", func(t *testing.T) {
		amd := refDigest(t, crane(t, "mutate", "--set-platform", "linux/amd64", h+"/crane/app:v1", "-t", h+"/crane/app:amd64"))
		arm := refDigest(t, crane(t, "mutate", "--set-platform", "linux/arm64", h+"/crane/app:v1", "-t", h+"/crane/app:arm64"))
		idx := refDigest(t, crane(t, "index", "append", "-m", h+"/crane/app:amd64", "-m", h+"/crane/app:arm64", "-t", h+"/crane/multi:v1"))
		m, _, dg := getManifest(t, a, "crane/multi", "v1")
		wantEqual(t, "index digest", dg, idx)
		wantEqual(t, "index mediaType", m.MediaType, mtOCIIndex)
		if len(m.Manifests) != 2 {
			t.Fatalf("index has %d manifests, want 2: %+v", len(m.Manifests), m)
		}
		wantEqual(t, "index children", []string{m.Manifests[0].Digest, m.Manifests[1].Digest}, []string{amd, arm})
		wantEqual(t, "platform 0", *m.Manifests[0].Platform, ociPlatform{OS: "linux", Architecture: "amd64"})
		wantEqual(t, "platform 1", *m.Manifests[1].Platform, ociPlatform{OS: "linux", Architecture: "arm64"})
		for _, d := range []string{amd, arm} {
			if s := manifestStatus(t, a, "crane/multi", d); s != http.StatusOK {
				t.Errorf("child %s in crane/multi: HEAD = %d", d, s)
			}
		}
		wantEqual(t, "digest --platform linux/arm64", strings.TrimSpace(crane(t, "digest", "--platform", "linux/arm64", h+"/crane/multi:v1")), arm)
		wantEqual(t, "digest --platform linux/amd64", strings.TrimSpace(crane(t, "digest", "--platform", "linux/amd64", h+"/crane/multi:v1")), amd)
		crane(t, "export", "--platform", "linux/arm64", h+"/crane/multi:v1", "arm.tar")
		wantFiles(t, "crane export linux/arm64", untar(t, mustReadFile(t, filepath.Join(dir, "arm.tar"))), files2)
	})

	runStep(t, "delete", func(t *testing.T) {
		crane(t, "delete", h+"/crane/copy@"+digest)
		wantManifestGone(t, a, "crane/copy", digest)
		wantManifestGone(t, a, "crane/copy", "v1")
		c.fails(t, "digest", "--insecure", h+"/crane/copy:v1")
		wantEqual(t, "crane ls crane/copy", outputLines(crane(t, "ls", h+"/crane/copy")), []string(nil))
		// The same manifest in another repository is untouched.
		wantEqual(t, "crane/app v1 after deleting the copy", headDigest(t, a, "crane/app", "v1"), digest)
		wantEqual(t, "crane ls crane/app", outputLines(crane(t, "ls", h+"/crane/app")), []string{"amd64", "arm64", "v1", "v2"})
	})
}
