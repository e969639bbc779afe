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

// ociLayout builds an OCI image layout tar holding one linux/amd64 image
// with one gzip layer of files; it returns the tar, the manifest bytes and
// the layer bytes.
func ociLayout(t testing.TB, files map[string][]byte) (layout, manifestJSON, layer []byte) {
	t.Helper()
	raw := tarOf(t, files)
	layer = gzipOf(t, raw)
	cfg := []byte(fmt.Sprintf(`{"architecture":"amd64","os":"linux","config":{"Env":["PATH=/bin"]},"rootfs":{"type":"layers","diff_ids":[%q]},"history":[{"created_by":"e2e test"}]}`, sha256Of(raw)))
	manifestJSON = []byte(fmt.Sprintf(`{"schemaVersion":2,"mediaType":%q,"config":{"mediaType":%q,"digest":%q,"size":%d},"layers":[{"mediaType":%q,"digest":%q,"size":%d}],"annotations":{"org.example.e2e":"regctl-import"}}`,
		mtOCIManifest, mtOCIConfig, sha256Of(cfg), len(cfg), mtOCILayerGzip, sha256Of(layer), len(layer)))
	index := []byte(fmt.Sprintf(`{"schemaVersion":2,"mediaType":%q,"manifests":[{"mediaType":%q,"digest":%q,"size":%d,"annotations":{"org.opencontainers.image.ref.name":"v1"}}]}`,
		mtOCIIndex, mtOCIManifest, sha256Of(manifestJSON), len(manifestJSON)))
	entries := map[string][]byte{
		"oci-layout": []byte(`{"imageLayoutVersion":"1.0.0"}`),
		"index.json": index,
	}
	for _, b := range [][]byte{cfg, manifestJSON, layer} {
		entries["blobs/sha256/"+strings.TrimPrefix(sha256Of(b), "sha256:")] = b
	}
	return tarOf(t, entries), manifestJSON, layer
}

// TestRegctl imports an OCI layout built by the test with regctl, reads it
// back, modifies it (including a sha512 variant), tags, copies with
// referrers, puts artifacts (one with a subject, one Helm-chart-like),
// builds a multi-platform index, lists and deletes.
func TestRegctl(t *testing.T) {
	a := StartAcre(t, "")
	h := a.Addr
	dir := t.TempDir()
	c := newCLITool(t, "regctl", dir)
	regctl := func(t *testing.T, args ...string) string {
		t.Helper()
		return c.run(t, args...)
	}
	_, _, _ = c.exec("registry", "set", "--tls", "disabled", h) // its ping fails before login
	c.login(t, a)
	if b := mustReadFile(t, filepath.Join(c.home, ".regctl", "config.json")); !bytes.Contains(b, []byte(`"disabled"`)) {
		t.Fatalf("regctl config does not disable TLS for %s:\n%s", h, b)
	}

	files := map[string][]byte{"etc/regctl/random.txt": randText(t, 48), "data/payload.bin": randBytes(t, 32<<10)}
	layout, manifestJSON, layer := ociLayout(t, files)
	mustWriteFile(t, filepath.Join(dir, "layout.tar"), layout)
	digest := sha256Of(manifestJSON)

	runStep(t, "push", func(t *testing.T) {
		regctl(t, "image", "import", h+"/regctl/app:v1", "layout.tar")
		wantEqual(t, "regctl image digest", strings.TrimSpace(regctl(t, "image", "digest", h+"/regctl/app:v1")), digest)
		_, body, dg := getManifest(t, a, "regctl/app", "v1")
		wantEqual(t, "manifest digest", dg, digest)
		if !bytes.Equal(body, manifestJSON) {
			t.Errorf("stored manifest differs from the imported one:\n got %s\nwant %s", body, manifestJSON)
		}
		wantEqual(t, "layer blob", sha256Of(getBlob(t, a, "regctl/app", sha256Of(layer))), sha256Of(layer))
	})

	runStep(t, "pull", func(t *testing.T) {
		for name, want := range files {
			wantEqual(t, "regctl image get-file "+name, sha256Of([]byte(regctl(t, "image", "get-file", h+"/regctl/app:v1", name))), sha256Of(want))
		}
		wantEqual(t, "regctl blob get", sha256Of([]byte(regctl(t, "blob", "get", h+"/regctl/app", sha256Of(layer)))), sha256Of(layer))
		regctl(t, "image", "export", h+"/regctl/app:v1", "export.tar")
		exp := untar(t, mustReadFile(t, filepath.Join(dir, "export.tar")))
		wantEqual(t, "exported manifest", sha256Of(exp["blobs/sha256/"+strings.TrimPrefix(digest, "sha256:")]), digest)
		wantEqual(t, "exported layer", sha256Of(exp["blobs/sha256/"+strings.TrimPrefix(sha256Of(layer), "sha256:")]), sha256Of(layer))
	})

	runStep(t, "mod", func(t *testing.T) {
		extra := map[string][]byte{"etc/regctl/extra.txt": randText(t, 24)}
		extraTar := tarOf(t, extra)
		mustWriteFile(t, filepath.Join(dir, "extra.tar"), extraTar)
		regctl(t, "image", "mod", h+"/regctl/app:v1", "--create", "v1-extra", "--layer-add", "tar=extra.tar")
		m, _, _ := getManifest(t, a, "regctl/app", "v1-extra")
		if len(m.Layers) != 2 || m.Layers[0].Digest != sha256Of(layer) {
			t.Fatalf("modified image layers = %+v, want the original layer plus one", m.Layers)
		}
		var cfg ociImageConfig
		if err := json.Unmarshal(getBlob(t, a, "regctl/app", m.Config.Digest), &cfg); err != nil {
			t.Fatal(err)
		}
		if n := len(cfg.RootFS.DiffIDs); n != 2 || cfg.RootFS.DiffIDs[1] != sha256Of(extraTar) {
			t.Errorf("diff_ids = %v, want the second to be %s", cfg.RootFS.DiffIDs, sha256Of(extraTar))
		}
		wantEqual(t, "get-file extra.txt", regctl(t, "image", "get-file", h+"/regctl/app:v1-extra", "etc/regctl/extra.txt"), string(extra["etc/regctl/extra.txt"]))
		wantEqual(t, "get-file random.txt", regctl(t, "image", "get-file", h+"/regctl/app:v1-extra", "etc/regctl/random.txt"), string(files["etc/regctl/random.txt"]))
	})

	runStep(t, "sha512", func(t *testing.T) {
		regctl(t, "image", "mod", h+"/regctl/app:v1", "--create", "v1-sha512", "--digest-algo", "sha512")
		d512 := strings.TrimSpace(regctl(t, "image", "digest", h+"/regctl/app:v1-sha512"))
		if !strings.HasPrefix(d512, "sha512:") {
			t.Fatalf("digest of the sha512 image = %q", d512)
		}
		m, _, dg := getManifest(t, a, "regctl/app", "v1-sha512")
		wantEqual(t, "HEAD digest of the sha512 image", dg, d512)
		_, _, byDigest := getManifest(t, a, "regctl/app", d512)
		wantEqual(t, "GET by sha512 digest", byDigest, d512)
		if len(m.Layers) != 1 || !strings.HasPrefix(m.Layers[0].Digest, "sha512:") {
			t.Fatalf("sha512 image layers = %+v", m.Layers)
		}
		wantEqual(t, "sha512 layer bytes", sha256Of(getBlob(t, a, "regctl/app", m.Layers[0].Digest)), sha256Of(layer))
		wantEqual(t, "get-file from the sha512 image", regctl(t, "image", "get-file", h+"/regctl/app:v1-sha512", "etc/regctl/random.txt"), string(files["etc/regctl/random.txt"]))
	})

	runStep(t, "tag", func(t *testing.T) {
		regctl(t, "image", "copy", h+"/regctl/app:v1", h+"/regctl/app:v2")
		wantEqual(t, "HEAD v2", headDigest(t, a, "regctl/app", "v2"), digest)
		wantEqual(t, "regctl tag ls", outputLines(regctl(t, "tag", "ls", h+"/regctl/app")), []string{"v1", "v1-extra", "v1-sha512", "v2"})
	})

	sbom := []byte(`{"bomFormat":"CycloneDX","serialNumber":"urn:uuid:` + strings.TrimSpace(string(randText(t, 16))) + `"}`)
	mustWriteFile(t, filepath.Join(dir, "sbom.json"), sbom)
	var sbomDigest string

	runStep(t, "artifact with subject", func(t *testing.T) {
		regctl(t, "artifact", "put", "--artifact-type", atSBOM, "--subject", h+"/regctl/app:v1",
			"-f", "sbom.json", "-m", "application/vnd.cyclonedx+json")
		list := func(t *testing.T, ref string, extra ...string) map[string]string {
			out := regctl(t, append([]string{"artifact", "list", ref, "--format", "{{json .}}"}, extra...)...)
			var l struct {
				Descriptors []ociDescriptor `json:"descriptors"`
			}
			if err := json.Unmarshal([]byte(out), &l); err != nil {
				t.Fatalf("regctl artifact list output: %v\n%s", err, out)
			}
			return referrerSet(l.Descriptors)
		}
		refs := list(t, h+"/regctl/app:v1")
		if len(refs) != 1 {
			t.Fatalf("regctl artifact list = %v, want one referrer", refs)
		}
		for d, at := range refs {
			sbomDigest = d
			wantEqual(t, "referrer artifactType", at, atSBOM)
		}
		wantEqual(t, "filtered list", list(t, h+"/regctl/app:v1", "--filter-artifact-type", atSBOM), refs)
		wantEqual(t, "list filtered on another type", len(list(t, h+"/regctl/app:v1", "--filter-artifact-type", atSignature)), 0)
		wantEqual(t, "regctl artifact get", regctl(t, "artifact", "get", h+"/regctl/app@"+sbomDigest), string(sbom))
		m, _, _ := getManifest(t, a, "regctl/app", sbomDigest)
		if m.Subject == nil || m.Subject.Digest != digest {
			t.Errorf("artifact subject = %+v, want %s", m.Subject, digest)
		}
	})

	runStep(t, "copy with referrers", func(t *testing.T) {
		regctl(t, "image", "copy", "--referrers", h+"/regctl/app:v1", h+"/regctl/copy:v1")
		wantEqual(t, "copied digest", strings.TrimSpace(regctl(t, "image", "digest", h+"/regctl/copy:v1")), digest)
		wantEqual(t, "HEAD copy", headDigest(t, a, "regctl/copy", "v1"), digest)
		wantEqual(t, "copied sbom", regctl(t, "artifact", "get", h+"/regctl/copy@"+sbomDigest), string(sbom))
		r := sendRequest(t, http.MethodGet, a.URL("/v2/regctl/copy/referrers/"+digest))
		var idx ociManifest
		if r.status != http.StatusOK || json.Unmarshal(r.body, &idx) != nil {
			t.Fatalf("GET referrers of the copy = %s", r)
		}
		wantEqual(t, "referrers of the copy", referrerSet(idx.Manifests), map[string]string{sbomDigest: atSBOM})
	})

	chartCfg := []byte(`{"apiVersion":"v2","name":"demo","version":"1.2.3"}`)
	chart := gzipOf(t, tarOf(t, map[string][]byte{"demo/Chart.yaml": []byte("apiVersion: v2\nname: demo\nversion: 1.2.3\n"), "demo/values.yaml": randText(t, 32)}))
	mustWriteFile(t, filepath.Join(dir, "Chart.json"), chartCfg)
	mustWriteFile(t, filepath.Join(dir, "demo-1.2.3.tgz"), chart)

	runStep(t, "helm-like artifact", func(t *testing.T) {
		regctl(t, "artifact", "put", "--config-type", mtHelmConfig, "--config-file", "Chart.json",
			"-f", "demo-1.2.3.tgz", "-m", mtHelmChart, h+"/regctl/charts/demo:1.2.3")
		m, _, dg := getManifest(t, a, "regctl/charts/demo", "1.2.3")
		wantEqual(t, "regctl manifest digest", strings.TrimSpace(regctl(t, "manifest", "digest", h+"/regctl/charts/demo:1.2.3")), dg)
		wantEqual(t, "config", [2]string{m.Config.MediaType, m.Config.Digest}, [2]string{mtHelmConfig, sha256Of(chartCfg)})
		if len(m.Layers) != 1 {
			t.Fatalf("chart manifest layers = %+v", m.Layers)
		}
		wantEqual(t, "chart layer", [2]string{m.Layers[0].MediaType, m.Layers[0].Digest}, [2]string{mtHelmChart, sha256Of(chart)})
		wantEqual(t, "regctl artifact get", sha256Of([]byte(regctl(t, "artifact", "get", h+"/regctl/charts/demo:1.2.3"))), sha256Of(chart))
		wantEqual(t, "regctl artifact get --config", regctl(t, "artifact", "get", "--config", h+"/regctl/charts/demo:1.2.3"), string(chartCfg))
	})

	runStep(t, "index", func(t *testing.T) {
		regctl(t, "image", "create", h+"/regctl/arm:base", "--platform", "linux/arm64")
		armFiles := map[string][]byte{"etc/regctl/arch.txt": []byte("arm64\n"), "etc/regctl/random.txt": randText(t, 16)}
		mustWriteFile(t, filepath.Join(dir, "arm.tar"), tarOf(t, armFiles))
		regctl(t, "image", "mod", h+"/regctl/arm:base", "--create", "v1", "--layer-add", "tar=arm.tar")
		arm := strings.TrimSpace(regctl(t, "image", "digest", h+"/regctl/arm:v1"))

		regctl(t, "index", "create", h+"/regctl/multi:v1", "--ref", h+"/regctl/app:v1", "--ref", h+"/regctl/arm:v1")
		m, _, dg := getManifest(t, a, "regctl/multi", "v1")
		wantEqual(t, "index mediaType", m.MediaType, mtOCIIndex)
		if len(m.Manifests) != 2 {
			t.Fatalf("index has %d manifests, want 2: %+v", len(m.Manifests), m)
		}
		wantEqual(t, "index children", []string{m.Manifests[0].Digest, m.Manifests[1].Digest}, []string{digest, arm})
		wantEqual(t, "platform 0", *m.Manifests[0].Platform, ociPlatform{OS: "linux", Architecture: "amd64"})
		wantEqual(t, "platform 1", *m.Manifests[1].Platform, ociPlatform{OS: "linux", Architecture: "arm64"})
		wantEqual(t, "index digest", strings.TrimSpace(regctl(t, "image", "digest", h+"/regctl/multi:v1")), dg)
		wantEqual(t, "digest --platform linux/arm64", strings.TrimSpace(regctl(t, "image", "digest", "--platform", "linux/arm64", h+"/regctl/multi:v1")), arm)
		wantEqual(t, "get-file linux/arm64", regctl(t, "image", "get-file", "--platform", "linux/arm64", h+"/regctl/multi:v1", "etc/regctl/arch.txt"), "arm64\n")
		wantEqual(t, "get-file linux/amd64", regctl(t, "image", "get-file", "--platform", "linux/amd64", h+"/regctl/multi:v1", "etc/regctl/random.txt"), string(files["etc/regctl/random.txt"]))
	})

	runStep(t, "catalog", func(t *testing.T) {
		wantEqual(t, "regctl repo ls", outputLines(regctl(t, "repo", "ls", h)),
			[]string{"regctl/app", "regctl/arm", "regctl/charts/demo", "regctl/copy", "regctl/multi"})
	})

	runStep(t, "delete", func(t *testing.T) {
		regctl(t, "tag", "delete", h+"/regctl/app:v2")
		wantManifestGone(t, a, "regctl/app", "v2")
		wantEqual(t, "HEAD v1 after deleting tag v2", headDigest(t, a, "regctl/app", "v1"), digest)
		wantEqual(t, "regctl tag ls after delete", outputLines(regctl(t, "tag", "ls", h+"/regctl/app")), []string{"v1", "v1-extra", "v1-sha512"})

		regctl(t, "manifest", "delete", h+"/regctl/copy@"+sbomDigest)
		wantManifestGone(t, a, "regctl/copy", sbomDigest)
		regctl(t, "manifest", "delete", "--force-tag-dereference", h+"/regctl/copy:v1")
		wantManifestGone(t, a, "regctl/copy", digest)
		wantManifestGone(t, a, "regctl/copy", "v1")
		c.fails(t, "image", "digest", h+"/regctl/copy:v1")
		wantEqual(t, "regctl/app v1 after deleting the copy", headDigest(t, a, "regctl/app", "v1"), digest)
	})
}
