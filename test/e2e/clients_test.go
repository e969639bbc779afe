//go:build e2e

package e2e

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
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

func randBytes(t testing.TB, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// randText is n random bytes, hex-encoded, with a newline.
func randText(t testing.TB, n int) []byte {
	return []byte(hex.EncodeToString(randBytes(t, n)) + "\n")
}

// tarOf builds an uncompressed tar of files (path -> content), with the
// parent directories, in a fixed order.
func tarOf(t testing.TB, files map[string][]byte) []byte {
	t.Helper()
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	mtime := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	dirs := map[string]bool{}
	for _, n := range names {
		var parents []string
		for d := filepath.Dir(n); d != "." && d != "/" && !dirs[d]; d = filepath.Dir(d) {
			parents = append(parents, d)
			dirs[d] = true
		}
		slices.Reverse(parents)
		for _, d := range parents {
			if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d + "/", Mode: 0o755, ModTime: mtime}); err != nil {
				t.Fatal(err)
			}
		}
		mode := int64(0o644)
		if strings.HasPrefix(n, "bin/") {
			mode = 0o755
		}
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: n, Mode: mode, Size: int64(len(files[n])), ModTime: mtime}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(files[n]); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func gzipOf(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// untar reads the regular files of a tar (gzip-compressed or not), keyed
// by their path without a leading "./" or "/".
func untar(t testing.TB, b []byte) map[string][]byte {
	t.Helper()
	var r io.Reader = bytes.NewReader(b)
	if len(b) > 2 && b[0] == 0x1f && b[1] == 0x8b {
		zr, err := gzip.NewReader(r)
		if err != nil {
			t.Fatal(err)
		}
		r = zr
	}
	files := map[string][]byte{}
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("reading tar: %v", err)
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		c, err := io.ReadAll(tr)
		if err != nil {
			t.Fatalf("reading tar entry %s: %v", h.Name, err)
		}
		files[strings.TrimPrefix(strings.TrimPrefix(h.Name, "./"), "/")] = c
	}
	return files
}

// wantFiles checks that got holds every file of want with equal content.
func wantFiles(t testing.TB, what string, got, want map[string][]byte) {
	t.Helper()
	for n, w := range want {
		g, ok := got[n]
		switch {
		case !ok:
			t.Errorf("%s: file %s is missing (have %v)", what, n, sortedKeys(got))
		case !bytes.Equal(g, w):
			t.Errorf("%s: file %s differs: got %d bytes %s, want %d bytes %s", what, n, len(g), sha256Of(g), len(w), sha256Of(w))
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func mustWriteFile(t testing.TB, path string, b []byte) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func mustReadFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// outputLines splits command output into its non-empty trimmed lines.
func outputLines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

func wantEqual[T any](t testing.TB, what string, got, want T) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

// refDigest takes the digest out of "host/repo@digest" output.
func refDigest(t testing.TB, out string) string {
	t.Helper()
	out = strings.TrimSpace(out)
	i := strings.LastIndex(out, "@")
	if i < 0 || !strings.HasPrefix(out[i+1:], "sha") {
		t.Fatalf("no digest reference in %q", out)
	}
	return out[i+1:]
}

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
