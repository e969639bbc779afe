package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/containers/azcontainerregistry"
	"github.com/acre-project/acre/internal/config"
	"github.com/opencontainers/go-digest"
)

// These tests drive every operation of the official Azure SDK for Go
// (azcontainerregistry) against a whole acre served over HTTPS, the way the
// SDK talks to ACR: challenge, /oauth2/exchange, /oauth2/token, then the
// /acr/v1/ and /v2/ endpoints.

const (
	sdkAudience    = "https://containerregistry.azure.net"
	sdkLoginServer = "acre.localhost" // the default registry's login server
	ociManifest    = "application/vnd.oci.image.manifest.v1+json"
	ociIndex       = "application/vnd.oci.image.index.v1+json"
	ociConfig      = "application/vnd.oci.image.config.v1+json"
	dockerManifest = "application/vnd.docker.distribution.manifest.v2+json"
	dockerConfig   = "application/vnd.docker.container.image.v1+json"
)

// newTLSTestServer is newTestServer served over HTTPS.
func newTLSTestServer(t *testing.T, change func(c *config.Config)) *testServer {
	t.Helper()
	return startTestServer(t, change, true)
}

// identityCredential is the azcore.TokenCredential the SDK asks for an
// "AAD" token: it signs in to acre as the owner and returns the session
// token (POST /api/v1/session), which acre's /oauth2/exchange accepts as
// ACR's accepts an Entra ID token.
type identityCredential struct {
	ts     *httptest.Server
	calls  atomic.Int32
	scopes atomic.Value // []string of the last call
}

func (c *identityCredential) GetToken(ctx context.Context, opts policy.TokenRequestOptions) (azcore.AccessToken, error) {
	c.calls.Add(1)
	c.scopes.Store(slices.Clone(opts.Scopes))
	tok, err := sessionToken(ctx, c.ts, "owner", ownerPass)
	if err != nil {
		return azcore.AccessToken{}, err
	}
	return azcore.AccessToken{Token: tok, ExpiresOn: time.Now().Add(time.Hour)}, nil
}

// sessionToken signs in to the management API and returns the session token.
func sessionToken(ctx context.Context, ts *httptest.Server, user, pass string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ts.URL+"/api/v1/session", nil)
	if err != nil {
		return "", err
	}
	req.SetBasicAuth(user, pass)
	resp, err := ts.Client().Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var tok struct {
		Token string `json:"token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || resp.StatusCode != http.StatusOK || tok.Token == "" {
		return "", fmt.Errorf("session token: status %d, %v", resp.StatusCode, err)
	}
	return tok.Token, nil
}

// staticCredential hands the SDK a fixed token.
type staticCredential string

func (c staticCredential) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	return azcore.AccessToken{Token: string(c), ExpiresOn: time.Now().Add(time.Hour)}, nil
}

// exchange is one HTTP exchange the SDK made.
type exchange struct {
	method, path, query string
	status              int
}

func (x exchange) String() string { return fmt.Sprintf("%s %s %d", x.method, x.path, x.status) }

// recorder is the SDK's transport: the test server's TLS client, logging
// every request the SDK sends.
type recorder struct {
	client *http.Client
	mu     sync.Mutex
	log    []exchange
}

func (r *recorder) Do(req *http.Request) (*http.Response, error) {
	resp, err := r.client.Do(req)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	r.log = append(r.log, exchange{req.Method, req.URL.EscapedPath(), req.URL.RawQuery, resp.StatusCode})
	r.mu.Unlock()
	return resp, nil
}

func (r *recorder) mark() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.log)
}

// since returns the exchanges after mark m, as "METHOD path status".
func (r *recorder) since(m int) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, x := range r.log[m:] {
		out = append(out, x.String())
	}
	return out
}

func (r *recorder) count(method, path string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, x := range r.log {
		if x.method == method && x.path == path {
			n++
		}
	}
	return n
}

func (r *recorder) tail(n int) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var b strings.Builder
	for _, x := range r.log[max(0, len(r.log)-n):] {
		q := ""
		if x.query != "" {
			q = "?" + x.query
		}
		fmt.Fprintf(&b, "\n\t%s %s%s -> %d", x.method, x.path, q, x.status)
	}
	return b.String()
}

// sdkEnv is an acre server with SDK clients signed in as the owner.
type sdkEnv struct {
	s      *testServer
	cred   *identityCredential
	rec    *recorder
	client *azcontainerregistry.Client
	blobs  *azcontainerregistry.BlobClient
	start  time.Time
}

func newSDKEnv(t *testing.T) *sdkEnv {
	t.Helper()
	s := newTLSTestServer(t, nil)
	e := &sdkEnv{s: s, cred: &identityCredential{ts: s.ts}, rec: &recorder{client: s.ts.Client()}, start: time.Now()}
	e.client, e.blobs = e.clients(t, e.cred)
	return e
}

// clients returns new SDK clients (with their own token caches) using cred.
func (e *sdkEnv) clients(t *testing.T, cred azcore.TokenCredential) (*azcontainerregistry.Client, *azcontainerregistry.BlobClient) {
	t.Helper()
	c, err := azcontainerregistry.NewClient(e.s.ts.URL, cred, &azcontainerregistry.ClientOptions{ClientOptions: e.options()})
	if err != nil {
		t.Fatal(err)
	}
	b, err := azcontainerregistry.NewBlobClient(e.s.ts.URL, cred, &azcontainerregistry.BlobClientOptions{ClientOptions: e.options()})
	if err != nil {
		t.Fatal(err)
	}
	return c, b
}

// options are the SDK client options: the recording TLS transport, the
// audience the SDK asks the credential for, and no retries.
func (e *sdkEnv) options() azcore.ClientOptions {
	return azcore.ClientOptions{
		Transport: e.rec,
		Cloud: cloud.Configuration{Services: map[cloud.ServiceName]cloud.ServiceConfiguration{
			azcontainerregistry.ServiceName: {Audience: sdkAudience},
		}},
		Retry: policy.RetryOptions{MaxRetries: -1},
	}
}

// on returns the test server bound to t, for calls from a subtest.
func (e *sdkEnv) on(t *testing.T) *testServer {
	s := *e.s
	s.t = t
	return &s
}

// ok fails t when an SDK call returned an error, with the last requests.
func (e *sdkEnv) ok(t *testing.T, err error, what string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v\nlast requests:%s", what, err, e.rec.tail(6))
	}
}

// push stores img under ref (a tag or its digest) as the owner, over /v2/.
func (e *sdkEnv) push(t *testing.T, repo, ref string, img image) {
	t.Helper()
	if st := e.on(t).push(cred{user: "owner", pass: ownerPass}, repo, ref, img); st != http.StatusCreated {
		t.Fatalf("push %s:%s: %d", repo, ref, st)
	}
}

// pushIndex stores an OCI index of the children (already pushed) under tag.
func (e *sdkEnv) pushIndex(t *testing.T, repo, tag string, children ...image) ([]byte, digest.Digest) {
	t.Helper()
	var ms []any
	for _, c := range children {
		var p struct {
			Architecture string `json:"architecture"`
			OS           string `json:"os"`
		}
		for _, b := range c.blobs {
			_ = json.Unmarshal(b, &p)
		}
		ms = append(ms, map[string]any{"mediaType": ociManifest, "digest": c.digest, "size": len(c.manifest),
			"platform": map[string]string{"architecture": p.Architecture, "os": p.OS}})
	}
	b, _ := json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": ociIndex, "manifests": ms})
	resp, body := e.on(t).do(http.MethodPut, "/v2/"+repo+"/manifests/"+tag, cred{user: "owner", pass: ownerPass}, b, "Content-Type", ociIndex)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("push index: %d %s", resp.StatusCode, body)
	}
	return b, digest.FromBytes(b)
}

// platformImage is an image whose config names arch and os; docker selects
// Docker's schema 2 media types instead of OCI's.
func platformImage(name, arch, os string, docker bool) image {
	layer := []byte("layer of " + name + " for " + arch)
	cfg := []byte(`{"architecture":"` + arch + `","os":"` + os + `","name":"` + name + `"}`)
	mt, cmt, lmt := ociManifest, ociConfig, "application/vnd.oci.image.layer.v1.tar"
	if docker {
		mt, cmt, lmt = dockerManifest, dockerConfig, "application/vnd.docker.image.rootfs.diff.tar.gzip"
	}
	m := map[string]any{
		"schemaVersion": 2, "mediaType": mt,
		"config": map[string]any{"mediaType": cmt, "digest": digest.FromBytes(cfg), "size": len(cfg)},
		"layers": []any{map[string]any{"mediaType": lmt, "digest": digest.FromBytes(layer), "size": len(layer)}},
	}
	b, _ := json.Marshal(m)
	return image{manifest: b, digest: digest.FromBytes(b), blobs: map[digest.Digest][]byte{
		digest.FromBytes(layer): layer, digest.FromBytes(cfg): cfg}}
}

// imageSize is what ACR reports as a manifest's imageSize: the manifest
// and the blobs it references.
func imageSize(img image) int64 {
	n := int64(len(img.manifest))
	for _, b := range img.blobs {
		n += int64(len(b))
	}
	return n
}

// wantStatus checks that err is the SDK's ResponseError with status.
func wantStatus(t *testing.T, err error, status int, what string) {
	t.Helper()
	var re *azcore.ResponseError
	if !errors.As(err, &re) {
		t.Fatalf("%s: got %v, want a ResponseError with status %d", what, err, status)
	}
	if re.StatusCode != status {
		t.Fatalf("%s: status %d, want %d: %v", what, re.StatusCode, status, err)
	}
}

// wantRefused checks that a locked item's change failed with a client error
// other than 404 (which the SDK's deletes take for success).
func wantRefused(t *testing.T, err error, what string) {
	t.Helper()
	var re *azcore.ResponseError
	if !errors.As(err, &re) || re.StatusCode < 400 || re.StatusCode >= 500 || re.StatusCode == http.StatusNotFound {
		t.Fatalf("%s: got %v, want a 4xx refusal other than 404", what, err)
	}
}

func str(p *string) string {
	if p == nil {
		return "<nil>"
	}
	return *p
}

func strs(ps []*string) []string {
	out := []string{}
	for _, p := range ps {
		out = append(out, str(p))
	}
	return out
}

// checkTime checks a timestamp the server reported lies within the test.
func (e *sdkEnv) checkTime(t *testing.T, what string, ts *time.Time) {
	t.Helper()
	if ts == nil {
		t.Fatalf("%s: missing", what)
	}
	if ts.Before(e.start.Add(-time.Minute)) || ts.After(time.Now().Add(time.Minute)) {
		t.Fatalf("%s: %v is not within the test run (started %v)", what, ts, e.start)
	}
}
