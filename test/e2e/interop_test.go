//go:build e2e

package e2e

import (
	"path/filepath"
	"testing"
)

// TestClientsInterop pushes with each client and reads back with every
// client: the manifest digest each one resolves and the blob bytes each
// one fetches must be what was pushed.
func TestClientsInterop(t *testing.T) {
	a := StartAcre(t, "")
	h := a.Addr
	dir := t.TempDir()
	clients := map[string]cliTool{
		"crane":  newCLITool(t, "crane", dir),
		"oras":   newCLITool(t, "oras", dir),
		"regctl": newCLITool(t, "regctl", dir),
	}
	_, _, _ = clients["regctl"].exec("registry", "set", "--tls", "disabled", h) // its ping fails before login
	for _, c := range clients {
		c.login(t, a)
	}

	// Each pusher stores one blob it was given and returns its repository.
	type pushed struct {
		repo string
		blob []byte
	}
	pushers := []struct {
		name string
		push func(t *testing.T) pushed
	}{
		{"crane", func(t *testing.T) pushed {
			l := gzipOf(t, tarOf(t, map[string][]byte{"interop/crane.bin": randBytes(t, 8<<10)}))
			mustWriteFile(t, filepath.Join(dir, "crane-layer.tar.gz"), l)
			clients["crane"].run(t, "append", "--insecure", "-f", "crane-layer.tar.gz", "-t", h+"/interop/crane:v1")
			return pushed{"interop/crane", l}
		}},
		{"oras", func(t *testing.T) pushed {
			b := randBytes(t, 8<<10)
			mustWriteFile(t, filepath.Join(dir, "oras.bin"), b)
			clients["oras"].run(t, "push", "--plain-http", "--artifact-type", "application/vnd.example.interop", h+"/interop/oras:v1", "oras.bin:application/vnd.example.payload")
			return pushed{"interop/oras", b}
		}},
		{"regctl", func(t *testing.T) pushed {
			b := randBytes(t, 8<<10)
			mustWriteFile(t, filepath.Join(dir, "regctl.bin"), b)
			clients["regctl"].run(t, "artifact", "put", "--artifact-type", "application/vnd.example.interop", "-f", "regctl.bin", "-m", "application/vnd.example.payload", h+"/interop/regctl:v1")
			return pushed{"interop/regctl", b}
		}},
	}
	readers := []struct {
		name   string
		digest func(t *testing.T, ref string) string
		blob   func(t *testing.T, repo, dg string) string
	}{
		{"crane",
			func(t *testing.T, ref string) string { return clients["crane"].line(t, "digest", "--insecure", ref) },
			func(t *testing.T, repo, dg string) string {
				return clients["crane"].run(t, "blob", "--insecure", h+"/"+repo+"@"+dg)
			}},
		{"oras",
			func(t *testing.T, ref string) string { return clients["oras"].line(t, "resolve", "--plain-http", ref) },
			func(t *testing.T, repo, dg string) string {
				return clients["oras"].run(t, "blob", "fetch", "--plain-http", "--output", "-", h+"/"+repo+"@"+dg)
			}},
		{"regctl",
			func(t *testing.T, ref string) string { return clients["regctl"].line(t, "manifest", "digest", ref) },
			func(t *testing.T, repo, dg string) string {
				return clients["regctl"].run(t, "blob", "get", h+"/"+repo, dg)
			}},
	}
	for _, p := range pushers {
		var got pushed
		runStep(t, "push by "+p.name, func(t *testing.T) { got = p.push(t) })
		m, _, dg := getManifest(t, a, got.repo, "v1")
		found := false
		for _, l := range m.Layers {
			found = found || l.Digest == sha256Of(got.blob)
		}
		if !found {
			t.Fatalf("manifest pushed by %s does not hold blob %s: %+v", p.name, sha256Of(got.blob), m)
		}
		for _, r := range readers {
			t.Run(p.name+" to "+r.name, func(t *testing.T) {
				wantEqual(t, r.name+" digest", r.digest(t, h+"/"+got.repo+":v1"), dg)
				wantEqual(t, r.name+" blob", sha256Of([]byte(r.blob(t, got.repo, sha256Of(got.blob)))), sha256Of(got.blob))
			})
		}
	}
}
