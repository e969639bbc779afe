//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// Tests in this file drive acre with crane, oras and regctl over plain
// HTTP on loopback. Every client gets a private HOME (and DOCKER_CONFIG),
// so no credentials or registry settings leak in or out.

const (
	mtOCIManifest    = "application/vnd.oci.image.manifest.v1+json"
	mtOCIIndex       = "application/vnd.oci.image.index.v1+json"
	mtDockerManifest = "application/vnd.docker.distribution.manifest.v2+json"
	mtDockerList     = "application/vnd.docker.distribution.manifest.list.v2+json"
	mtOCIConfig      = "application/vnd.oci.image.config.v1+json"
	mtOCILayerGzip   = "application/vnd.oci.image.layer.v1.tar+gzip"
	mtHelmConfig     = "application/vnd.cncf.helm.config.v1+json"
	mtHelmChart      = "application/vnd.cncf.helm.chart.content.v1.tar+gzip"
	atSBOM           = "application/vnd.example.sbom"
	atSignature      = "application/vnd.example.signature"
	manifestAccept   = mtOCIManifest + ", " + mtOCIIndex + ", " + mtDockerManifest + ", " + mtDockerList
)

// ociPlatform, ociDescriptor and ociManifest cover the parts of OCI image
// manifests and indexes the tests look at.
type ociPlatform struct {
	Architecture string `json:"architecture"`
	OS           string `json:"os"`
	Variant      string `json:"variant,omitempty"`
}

type ociDescriptor struct {
	MediaType    string            `json:"mediaType"`
	Digest       string            `json:"digest"`
	Size         int64             `json:"size"`
	ArtifactType string            `json:"artifactType,omitempty"`
	Platform     *ociPlatform      `json:"platform,omitempty"`
	Annotations  map[string]string `json:"annotations,omitempty"`
}

type ociManifest struct {
	SchemaVersion int               `json:"schemaVersion"`
	MediaType     string            `json:"mediaType"`
	ArtifactType  string            `json:"artifactType,omitempty"`
	Config        ociDescriptor     `json:"config"`
	Layers        []ociDescriptor   `json:"layers"`
	Manifests     []ociDescriptor   `json:"manifests"`
	Subject       *ociDescriptor    `json:"subject,omitempty"`
	Annotations   map[string]string `json:"annotations,omitempty"`
}

type ociImageConfig struct {
	Architecture string `json:"architecture"`
	OS           string `json:"os"`
	RootFS       struct {
		Type    string   `json:"type"`
		DiffIDs []string `json:"diff_ids"`
	} `json:"rootfs"`
}

// cliTool runs one command-line client in dir with env.
type cliTool struct {
	bin  string
	dir  string
	home string
	env  []string
}

// newCLITool finds the named tool and gives it a private HOME and
// DOCKER_CONFIG under a fresh temp directory; dir is its working directory.
func newCLITool(t *testing.T, name, dir string) cliTool {
	t.Helper()
	home := t.TempDir()
	return cliTool{
		bin:  Tool(t, name),
		dir:  dir,
		home: home,
		env: []string{
			"HOME=" + home,
			"DOCKER_CONFIG=" + filepath.Join(home, ".docker"),
			"XDG_CONFIG_HOME=" + filepath.Join(home, ".config"),
			"XDG_CACHE_HOME=" + filepath.Join(home, ".cache"),
			"REGCTL_CONFIG=" + filepath.Join(home, ".regctl", "config.json"),
			"NO_PROXY=*", "no_proxy=*",
		},
	}
}

// login signs the client in to a (the owner), in its private HOME.
func (c cliTool) login(t testing.TB, a *Acre) {
	t.Helper()
	switch filepath.Base(c.bin) {
	case "crane":
		c.run(t, "auth", "login", a.Addr, "-u", a.User, "-p", a.Password)
	case "oras":
		c.run(t, "login", "--plain-http", "-u", a.User, "-p", a.Password, a.Addr)
	case "regctl":
		c.run(t, "registry", "login", a.Addr, "-u", a.User, "-p", a.Password)
	default:
		t.Fatalf("no login for %s", c.bin)
	}
}

// exec runs the client and returns its stdout and its combined output.
func (c cliTool) exec(args ...string) (stdout, combined string, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.bin, args...)
	cmd.Dir = c.dir
	cmd.Env = append(os.Environ(), c.env...)
	var out, all bytes.Buffer
	cmd.Stdout = io.MultiWriter(&out, &all)
	cmd.Stderr = &all
	err = cmd.Run()
	return out.String(), all.String(), err
}

// run runs the client and returns its stdout; on failure the test fails
// with everything the command printed.
func (c cliTool) run(t testing.TB, args ...string) string {
	t.Helper()
	out, all, err := c.exec(args...)
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(c.bin), strings.Join(args, " "), err, all)
	}
	return out
}

// line runs the client and returns its stdout trimmed.
func (c cliTool) line(t testing.TB, args ...string) string {
	t.Helper()
	return strings.TrimSpace(c.run(t, args...))
}

// fails runs the client and fails the test unless the command fails.
func (c cliTool) fails(t testing.TB, args ...string) string {
	t.Helper()
	_, all, err := c.exec(args...)
	if err == nil {
		t.Fatalf("%s %s succeeded, want an error:\n%s", filepath.Base(c.bin), strings.Join(args, " "), all)
	}
	return all
}

// runStep runs f as a named subtest and stops the parent when it fails,
// since later steps build on earlier ones.
func runStep(t *testing.T, name string, f func(t *testing.T)) {
	t.Helper()
	if !t.Run(name, f) {
		t.FailNow()
	}
}

// httpExchange is a finished HTTP exchange.
type httpExchange struct {
	status int
	header http.Header
	body   []byte
}

func (r httpExchange) String() string {
	var h strings.Builder
	sortedKeys := make([]string, 0, len(r.header))
	for k := range r.header {
		sortedKeys = append(sortedKeys, k)
	}
	sort.Strings(sortedKeys)
	for _, k := range sortedKeys {
		fmt.Fprintf(&h, "%s: %s\n", k, strings.Join(r.header[k], ", "))
	}
	return fmt.Sprintf("%d\n%s\n%s", r.status, h.String(), r.body)
}

// sendRequest sends one request; hdr holds header name/value pairs.
func sendRequest(t testing.TB, method, url string, hdr ...string) httpExchange {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	return httpExchange{resp.StatusCode, resp.Header, b}
}

// manifestStatus is the status of HEAD /v2/<repo>/manifests/<ref>.
func manifestStatus(t testing.TB, a *Acre, repo, ref string) int {
	t.Helper()
	return sendRequest(t, http.MethodHead, a.URL("/v2/"+repo+"/manifests/"+ref), "Accept", manifestAccept).status
}

// wantManifestGone checks that HEAD on a manifest answers 404.
func wantManifestGone(t testing.TB, a *Acre, repo, ref string) {
	t.Helper()
	r := sendRequest(t, http.MethodHead, a.URL("/v2/"+repo+"/manifests/"+ref), "Accept", manifestAccept)
	if r.status != http.StatusNotFound {
		t.Errorf("HEAD /v2/%s/manifests/%s after delete = %s, want 404", repo, ref, r)
	}
}

// headDigest returns the Docker-Content-Digest of HEAD on a manifest,
// which must answer 200.
func headDigest(t testing.TB, a *Acre, repo, ref string) string {
	t.Helper()
	r := sendRequest(t, http.MethodHead, a.URL("/v2/"+repo+"/manifests/"+ref), "Accept", manifestAccept)
	if r.status != http.StatusOK {
		t.Fatalf("HEAD /v2/%s/manifests/%s = %s, want 200", repo, ref, r)
	}
	return r.header.Get("Docker-Content-Digest")
}

// getManifest fetches and decodes a manifest, checks that its bytes hash
// to the Docker-Content-Digest header, and returns that digest too.
func getManifest(t testing.TB, a *Acre, repo, ref string) (ociManifest, []byte, string) {
	t.Helper()
	r := sendRequest(t, http.MethodGet, a.URL("/v2/"+repo+"/manifests/"+ref), "Accept", manifestAccept)
	if r.status != http.StatusOK {
		t.Fatalf("GET /v2/%s/manifests/%s = %s, want 200", repo, ref, r)
	}
	dg := r.header.Get("Docker-Content-Digest")
	if got := digestOf(algOf(dg), r.body); got != dg {
		t.Fatalf("GET /v2/%s/manifests/%s: body hashes to %s, Docker-Content-Digest is %q", repo, ref, got, dg)
	}
	var m ociManifest
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("GET /v2/%s/manifests/%s: %v\n%s", repo, ref, err, r.body)
	}
	return m, r.body, dg
}

// getBlob fetches a blob, which must exist.
func getBlob(t testing.TB, a *Acre, repo, dg string) []byte {
	t.Helper()
	r := sendRequest(t, http.MethodGet, a.URL("/v2/"+repo+"/blobs/"+dg))
	if r.status != http.StatusOK {
		t.Fatalf("GET /v2/%s/blobs/%s = %s, want 200", repo, dg, r)
	}
	return r.body
}

func algOf(dg string) string {
	if strings.HasPrefix(dg, "sha512:") {
		return "sha512"
	}
	return "sha256"
}

func digestOf(alg string, b []byte) string {
	if alg == "sha512" {
		s := sha512.Sum512(b)
		return "sha512:" + hex.EncodeToString(s[:])
	}
	s := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(s[:])
}

func sha256Of(b []byte) string { return digestOf("sha256", b) }
