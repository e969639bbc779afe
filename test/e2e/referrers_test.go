//go:build e2e

package e2e

import (
	"encoding/json"
	"net/http"
	"path/filepath"
	"testing"
)

// TestReferrersSurvivePurgeWithOras attaches a signature and an SBOM with
// oras, purges untagged manifests and finds them still discoverable while
// their subject is there (an unrelated untagged manifest goes); deleting
// the subject with oras takes them with it.
func TestReferrersSurvivePurgeWithOras(t *testing.T) {
	a := StartAcre(t, "")
	h := a.Addr
	dir := t.TempDir()
	o := newCLITool(t, "oras", dir)
	o.login(t, a)
	mustWriteFile(t, filepath.Join(dir, "app.txt"), randText(t, 64))
	mustWriteFile(t, filepath.Join(dir, "other.txt"), randText(t, 64))
	mustWriteFile(t, filepath.Join(dir, "sbom.json"), []byte(`{"spdxVersion":"SPDX-2.3"}`))
	mustWriteFile(t, filepath.Join(dir, "sig.bin"), randBytes(t, 64))
	subject := h + "/signed/app:v1"
	o.run(t, "push", "--plain-http", "--artifact-type", "application/vnd.example.app", subject, "app.txt")
	o.run(t, "push", "--plain-http", "--artifact-type", "application/vnd.example.app", h+"/signed/app:gone", "other.txt")
	unrelated := o.line(t, "resolve", "--plain-http", h+"/signed/app:gone")
	if r := sendRequest(t, http.MethodDelete, a.URL("/acr/v1/signed/app/_tags/gone")); r.status != http.StatusAccepted {
		t.Fatalf("untag: %s", r)
	}
	o.run(t, "attach", "--plain-http", "--artifact-type", atSBOM, subject, "sbom.json:application/spdx+json")
	o.run(t, "attach", "--plain-http", "--artifact-type", atSignature, subject, "sig.bin:application/octet-stream")
	refs := orasDiscover(t, o, subject)
	if len(refs) != 2 {
		t.Fatalf("oras discover: %+v", refs)
	}

	body, _ := json.Marshal(map[string]any{"filters": []string{"signed/app:.*"}, "ago": "0d", "untagged": true, "keep": 1})
	if st := sendJSON(t, a, http.MethodPost, "/api/v1/registries/acre/purge", body); st != http.StatusOK {
		t.Fatalf("purge: %d", st)
	}
	if got := orasDiscover(t, o, subject); len(got) != 2 {
		t.Fatalf("after purge, oras discover: %+v, want the signature and the SBOM", got)
	}
	o.fails(t, "manifest", "fetch", "--plain-http", h+"/signed/app@"+unrelated)

	o.run(t, "manifest", "delete", "--plain-http", "--force", subject)
	for _, r := range refs {
		o.fails(t, "manifest", "fetch", "--plain-http", h+"/signed/app@"+r.Digest)
	}
}
