//go:build e2e

package e2e

import (
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
)

// orasDiscover lists the referrers oras reports for ref.
func orasDiscover(t testing.TB, c cliTool, ref string, extra ...string) []ociDescriptor {
	t.Helper()
	out := c.run(t, append([]string{"discover", "--plain-http", "--format", "json", "--depth", "1", ref}, extra...)...)
	var d struct {
		Referrers []ociDescriptor `json:"referrers"`
	}
	if err := json.Unmarshal([]byte(out), &d); err != nil {
		t.Fatalf("oras discover output: %v\n%s", err, out)
	}
	return d.Referrers
}

func referrerSet(ds []ociDescriptor) map[string]string {
	m := map[string]string{}
	for _, d := range ds {
		m[d.Digest] = d.ArtifactType
	}
	return m
}

// TestOras pushes files and a Helm-chart-like artifact with oras, pulls
// them back, tags, attaches and discovers referrers, copies with referrers,
// lists, and deletes manifests and a blob.
func TestOras(t *testing.T) {
	a := StartAcre(t, "")
	h := a.Addr
	dir := t.TempDir()
	c := newCLITool(t, "oras", dir)
	c.login(t, a)
	oras := func(t *testing.T, args ...string) string {
		t.Helper()
		return c.run(t, append(args, "--plain-http")...)
	}
	resolve := func(t *testing.T, ref string) string {
		t.Helper()
		return strings.TrimSpace(oras(t, "resolve", ref))
	}

	text, bin := randText(t, 40), randBytes(t, 20<<10)
	mustWriteFile(t, filepath.Join(dir, "in", "notes.txt"), text)
	mustWriteFile(t, filepath.Join(dir, "in", "data.bin"), bin)

	var digest string
	runStep(t, "push", func(t *testing.T) {
		c.dir = filepath.Join(dir, "in")
		oras(t, "push", "--artifact-type", "application/vnd.example.files", h+"/oras/files:v1",
			"notes.txt:text/plain", "data.bin:application/vnd.example.data")
		c.dir = dir
		digest = resolve(t, h+"/oras/files:v1")
		m, _, dg := getManifest(t, a, "oras/files", "v1")
		wantEqual(t, "manifest digest", dg, digest)
		wantEqual(t, "artifactType", m.ArtifactType, "application/vnd.example.files")
		if len(m.Layers) != 2 {
			t.Fatalf("manifest has %d layers, want 2: %+v", len(m.Layers), m)
		}
		wantEqual(t, "layer 0", [3]string{m.Layers[0].MediaType, m.Layers[0].Digest, m.Layers[0].Annotations["org.opencontainers.image.title"]},
			[3]string{"text/plain", sha256Of(text), "notes.txt"})
		wantEqual(t, "layer 1", [3]string{m.Layers[1].MediaType, m.Layers[1].Digest, m.Layers[1].Annotations["org.opencontainers.image.title"]},
			[3]string{"application/vnd.example.data", sha256Of(bin), "data.bin"})
	})

	runStep(t, "pull", func(t *testing.T) {
		oras(t, "pull", "-o", "out", h+"/oras/files:v1")
		wantEqual(t, "pulled notes.txt", sha256Of(mustReadFile(t, filepath.Join(dir, "out", "notes.txt"))), sha256Of(text))
		wantEqual(t, "pulled data.bin", sha256Of(mustReadFile(t, filepath.Join(dir, "out", "data.bin"))), sha256Of(bin))
		got := oras(t, "blob", "fetch", "--output", "-", h+"/oras/files@"+sha256Of(bin))
		wantEqual(t, "oras blob fetch", sha256Of([]byte(got)), sha256Of(bin))
		raw := oras(t, "manifest", "fetch", h+"/oras/files:v1")
		wantEqual(t, "oras manifest fetch digest", sha256Of([]byte(raw)), digest)
	})

	chartCfg := []byte(`{"apiVersion":"v2","name":"demo","version":"0.1.0","description":"` + strings.TrimSpace(string(randText(t, 8))) + `"}`)
	chart := gzipOf(t, tarOf(t, map[string][]byte{
		"demo/Chart.yaml":  []byte("apiVersion: v2\nname: demo\nversion: 0.1.0\n"),
		"demo/values.yaml": randText(t, 64),
	}))
	mustWriteFile(t, filepath.Join(dir, "Chart.json"), chartCfg)
	mustWriteFile(t, filepath.Join(dir, "demo-0.1.0.tgz"), chart)

	runStep(t, "helm-like artifact", func(t *testing.T) {
		oras(t, "push", "--config", "Chart.json:"+mtHelmConfig, h+"/oras/charts/demo:0.1.0", "demo-0.1.0.tgz:"+mtHelmChart)
		m, _, dg := getManifest(t, a, "oras/charts/demo", "0.1.0")
		wantEqual(t, "resolve", resolve(t, h+"/oras/charts/demo:0.1.0"), dg)
		wantEqual(t, "manifest mediaType", m.MediaType, mtOCIManifest)
		wantEqual(t, "config", [3]any{m.Config.MediaType, m.Config.Digest, m.Config.Size}, [3]any{mtHelmConfig, sha256Of(chartCfg), int64(len(chartCfg))})
		if len(m.Layers) != 1 {
			t.Fatalf("manifest has %d layers, want 1: %+v", len(m.Layers), m)
		}
		wantEqual(t, "chart layer", [2]string{m.Layers[0].MediaType, m.Layers[0].Digest}, [2]string{mtHelmChart, sha256Of(chart)})
		wantEqual(t, "config blob", sha256Of(getBlob(t, a, "oras/charts/demo", m.Config.Digest)), sha256Of(chartCfg))
		cfg := oras(t, "manifest", "fetch-config", h+"/oras/charts/demo:0.1.0")
		wantEqual(t, "oras manifest fetch-config", cfg, string(chartCfg))
		oras(t, "pull", "-o", "chart-out", h+"/oras/charts/demo:0.1.0")
		wantEqual(t, "pulled chart", sha256Of(mustReadFile(t, filepath.Join(dir, "chart-out", "demo-0.1.0.tgz"))), sha256Of(chart))
	})

	runStep(t, "tag", func(t *testing.T) {
		oras(t, "tag", h+"/oras/files:v1", "v2", "latest")
		for _, tag := range []string{"v2", "latest"} {
			wantEqual(t, "resolve "+tag, resolve(t, h+"/oras/files:"+tag), digest)
		}
		wantEqual(t, "oras repo tags", outputLines(oras(t, "repo", "tags", h+"/oras/files")), []string{"latest", "v1", "v2"})
	})

	sbom := []byte(`{"spdxVersion":"SPDX-2.3","name":"` + strings.TrimSpace(string(randText(t, 8))) + `"}`)
	sig := randBytes(t, 64)
	mustWriteFile(t, filepath.Join(dir, "sbom.json"), sbom)
	mustWriteFile(t, filepath.Join(dir, "sig.bin"), sig)
	var sbomDigest, sigDigest string

	runStep(t, "attach and discover", func(t *testing.T) {
		oras(t, "attach", "--artifact-type", atSBOM, h+"/oras/files:v1", "sbom.json:application/spdx+json")
		oras(t, "attach", "--artifact-type", atSignature, h+"/oras/files@"+digest, "sig.bin:application/octet-stream")
		refs := orasDiscover(t, c, h+"/oras/files:v1")
		if len(refs) != 2 {
			t.Fatalf("oras discover found %d referrers, want 2: %+v", len(refs), refs)
		}
		for _, r := range refs {
			switch r.ArtifactType {
			case atSBOM:
				sbomDigest = r.Digest
			case atSignature:
				sigDigest = r.Digest
			}
		}
		if sbomDigest == "" || sigDigest == "" {
			t.Fatalf("oras discover: want one %s and one %s referrer: %+v", atSBOM, atSignature, refs)
		}
		only := orasDiscover(t, c, h+"/oras/files:v1", "--artifact-type", atSBOM)
		wantEqual(t, "discover --artifact-type sbom", referrerSet(only), map[string]string{sbomDigest: atSBOM})

		m, _, _ := getManifest(t, a, "oras/files", sbomDigest)
		if m.Subject == nil || m.Subject.Digest != digest {
			t.Errorf("sbom subject = %+v, want %s", m.Subject, digest)
		}
		wantEqual(t, "sbom artifactType", m.ArtifactType, atSBOM)

		// The referrers API itself, filtered.
		r := sendRequest(t, http.MethodGet, a.URL("/v2/oras/files/referrers/"+digest+"?artifactType="+atSBOM))
		var idx ociManifest
		if r.status != http.StatusOK || json.Unmarshal(r.body, &idx) != nil {
			t.Fatalf("GET referrers?artifactType = %s", r)
		}
		wantEqual(t, "filtered referrers", referrerSet(idx.Manifests), map[string]string{sbomDigest: atSBOM})
		wantEqual(t, "OCI-Filters-Applied", r.header.Get("OCI-Filters-Applied"), "artifactType")

		oras(t, "pull", "-o", "sbom-out", h+"/oras/files@"+sbomDigest)
		wantEqual(t, "pulled sbom", sha256Of(mustReadFile(t, filepath.Join(dir, "sbom-out", "sbom.json"))), sha256Of(sbom))
	})

	runStep(t, "copy with referrers", func(t *testing.T) {
		c.run(t, "cp", "-r", "--from-plain-http", "--to-plain-http", h+"/oras/files:v1", h+"/oras/copy:v1")
		wantEqual(t, "copied digest", resolve(t, h+"/oras/copy:v1"), digest)
		wantEqual(t, "HEAD copy", headDigest(t, a, "oras/copy", "v1"), digest)
		wantEqual(t, "referrers of the copy", referrerSet(orasDiscover(t, c, h+"/oras/copy:v1")),
			map[string]string{sbomDigest: atSBOM, sigDigest: atSignature})
	})

	runStep(t, "catalog", func(t *testing.T) {
		wantEqual(t, "oras repo ls", outputLines(oras(t, "repo", "ls", h)), []string{"oras/charts/demo", "oras/copy", "oras/files"})
		wantEqual(t, "oras repo ls oras/charts", outputLines(oras(t, "repo", "ls", h+"/oras/charts")), []string{"demo"})
	})

	runStep(t, "delete", func(t *testing.T) {
		oras(t, "manifest", "delete", "--force", h+"/oras/files@"+sbomDigest)
		wantManifestGone(t, a, "oras/files", sbomDigest)
		wantEqual(t, "referrers after deleting the sbom", referrerSet(orasDiscover(t, c, h+"/oras/files:v1")),
			map[string]string{sigDigest: atSignature})
		// The copy's referrers are separate.
		wantEqual(t, "referrers of the copy after deleting the sbom", len(orasDiscover(t, c, h+"/oras/copy:v1")), 2)

		oras(t, "manifest", "delete", "--force", h+"/oras/copy@"+digest)
		wantManifestGone(t, a, "oras/copy", digest)
		wantManifestGone(t, a, "oras/copy", "v1")
		c.fails(t, "resolve", "--plain-http", h+"/oras/copy:v1")
		wantEqual(t, "oras/files v1 after deleting the copy", resolve(t, h+"/oras/files:v1"), digest)

		// A blob pushed on its own, fetched and deleted.
		loose := randBytes(t, 4096)
		mustWriteFile(t, filepath.Join(dir, "loose.bin"), loose)
		oras(t, "blob", "push", h+"/oras/loose@"+sha256Of(loose), "loose.bin")
		wantEqual(t, "oras blob fetch", sha256Of([]byte(oras(t, "blob", "fetch", "--output", "-", h+"/oras/loose@"+sha256Of(loose)))), sha256Of(loose))
		oras(t, "blob", "delete", "--force", h+"/oras/loose@"+sha256Of(loose))
		if r := sendRequest(t, http.MethodHead, a.URL("/v2/oras/loose/blobs/"+sha256Of(loose))); r.status != http.StatusNotFound {
			t.Errorf("HEAD deleted blob = %s, want 404", r)
		}
	})
}
