//go:build e2e

package e2e

import (
	"bytes"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
)

// sendJSON sends body (JSON) to path as the owner and returns the status.
func sendJSON(t testing.TB, a *Acre, method, path string, body []byte) int {
	t.Helper()
	req, err := http.NewRequest(method, a.URL(path), bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// setAttributes PATCHes ACR changeable attributes at /acr/v1/<path> as the owner.
func setAttributes(t testing.TB, a *Acre, path, attrs string) {
	t.Helper()
	if st := sendJSON(t, a, http.MethodPatch, "/acr/v1/"+path, []byte(attrs)); st != http.StatusOK {
		t.Fatalf("PATCH /acr/v1/%s %s: %d", path, attrs, st)
	}
}

// TestLocksWithRealClients checks read and list locks through crane and
// oras: crane cannot copy (nor mount the layers of) a read-locked
// repository's image, nor fetch its layers by digest, and copies it with
// mounts again once unlocked; oras discover does not show a referrer hidden
// with listEnabled=false.
func TestLocksWithRealClients(t *testing.T) {
	a := StartAcre(t, "")
	h := a.Addr
	dir := t.TempDir()
	c := newCLITool(t, "crane", dir)
	c.login(t, a)
	layer := gzipOf(t, tarOf(t, map[string][]byte{"secret.txt": randText(t, 64)}))
	mustWriteFile(t, filepath.Join(dir, "l.tar.gz"), layer)
	c.run(t, "append", "--insecure", "-f", "l.tar.gz", "-t", h+"/locked/app:v1")
	setAttributes(t, a, "locked/app", `{"readEnabled":false}`)

	runStep(t, "crane against a read-locked repository", func(t *testing.T) {
		if out := c.fails(t, "copy", "--insecure", h+"/locked/app:v1", h+"/taken/app:v1"); !strings.Contains(out, "DENIED") {
			t.Errorf("crane copy: %s", out)
		}
		c.fails(t, "blob", "--insecure", h+"/locked/app@"+sha256Of(layer))
		// What crane would do to mount it, by hand: the registry answers with an upload session.
		r := sendRequest(t, http.MethodPost, a.URL("/v2/taken/app/blobs/uploads/?mount="+sha256Of(layer)+"&from=locked/app"))
		if r.status != http.StatusAccepted {
			t.Fatalf("mount from a read-locked repository: %s", r)
		}
		c.fails(t, "blob", "--insecure", h+"/taken/app@"+sha256Of(layer))
	})
	runStep(t, "crane copies with mounts once unlocked", func(t *testing.T) {
		setAttributes(t, a, "locked/app", `{"readEnabled":true}`)
		c.run(t, "copy", "--insecure", h+"/locked/app:v1", h+"/taken/app:v1")
		if got := c.run(t, "blob", "--insecure", h+"/taken/app@"+sha256Of(layer)); got != string(layer) {
			t.Fatalf("copied layer differs")
		}
	})

	runStep(t, "oras discover hides a referrer with listEnabled=false", func(t *testing.T) {
		o := newCLITool(t, "oras", dir)
		o.login(t, a)
		mustWriteFile(t, filepath.Join(dir, "sbom.json"), []byte(`{"spdxVersion":"SPDX-2.3"}`))
		mustWriteFile(t, filepath.Join(dir, "sig.bin"), randBytes(t, 64))
		subject := h + "/locked/app:v1"
		o.run(t, "attach", "--plain-http", "--artifact-type", atSBOM, subject, "sbom.json:application/spdx+json")
		o.run(t, "attach", "--plain-http", "--artifact-type", atSignature, subject, "sig.bin:application/octet-stream")
		refs := orasDiscover(t, o, subject)
		if len(refs) != 2 {
			t.Fatalf("oras discover: %+v, want 2 referrers", refs)
		}
		var hidden string
		for _, r := range refs {
			if r.ArtifactType == atSignature {
				hidden = r.Digest
			}
		}
		setAttributes(t, a, "locked/app/_manifests/"+hidden, `{"listEnabled":false}`)
		refs = orasDiscover(t, o, subject)
		if len(refs) != 1 || refs[0].ArtifactType != atSBOM {
			t.Fatalf("oras discover after hiding the signature: %+v, want only the SBOM", refs)
		}
	})
}
