package server

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/streaming"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
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

// attrs renders changeable attributes; a missing one shows as "?".
func attrs(del, write, read, list *bool) string {
	b := func(p *bool) string {
		if p == nil {
			return "?"
		}
		return fmt.Sprint(*p)
	}
	return fmt.Sprintf("delete=%s write=%s read=%s list=%s", b(del), b(write), b(read), b(list))
}

const allEnabled = "delete=true write=true read=true list=true"

func repoAttrs(p *azcontainerregistry.RepositoryWriteableProperties) string {
	if p == nil {
		return "<no changeableAttributes>"
	}
	return attrs(p.CanDelete, p.CanWrite, p.CanRead, p.CanList)
}

func tagAttrs(p *azcontainerregistry.TagWriteableProperties) string {
	if p == nil {
		return "<no changeableAttributes>"
	}
	return attrs(p.CanDelete, p.CanWrite, p.CanRead, p.CanList)
}

func manifestAttrs(p *azcontainerregistry.ManifestWriteableProperties) string {
	if p == nil {
		return "<no changeableAttributes>"
	}
	return attrs(p.CanDelete, p.CanWrite, p.CanRead, p.CanList)
}

// change is a partial update of changeable attributes; nil leaves one as is.
type change struct{ del, write, read, list *bool }

func (c change) repo() *azcontainerregistry.RepositoryWriteableProperties {
	return &azcontainerregistry.RepositoryWriteableProperties{CanDelete: c.del, CanWrite: c.write, CanRead: c.read, CanList: c.list}
}

func (c change) tag() *azcontainerregistry.TagWriteableProperties {
	return &azcontainerregistry.TagWriteableProperties{CanDelete: c.del, CanWrite: c.write, CanRead: c.read, CanList: c.list}
}

func (c change) manifest() *azcontainerregistry.ManifestWriteableProperties {
	return &azcontainerregistry.ManifestWriteableProperties{CanDelete: c.del, CanWrite: c.write, CanRead: c.read, CanList: c.list}
}

var (
	yes = to.Ptr(true)
	no  = to.Ptr(false)
)

// attributeChanges is applied in order: each a partial update, with the
// attributes expected afterwards; the last one restores the defaults.
var attributeChanges = []struct {
	name string
	set  change
	want string
}{
	{"lock writes", change{write: no}, "delete=true write=false read=true list=true"},
	{"lock deletes, unlock writes", change{del: no, write: yes}, "delete=false write=true read=true list=true"},
	{"hide and lock reads", change{read: no, list: no}, "delete=false write=true read=false list=false"},
	{"all four at once", change{del: yes, write: no, read: yes, list: yes}, "delete=true write=false read=true list=true"},
	{"restore", change{yes, yes, yes, yes}, allEnabled},
}

// allPages fetches every page of a pager.
func allPages[T any](t *testing.T, e *sdkEnv, p *runtime.Pager[T]) []T {
	t.Helper()
	var out []T
	for p.More() {
		page, err := p.NextPage(t.Context())
		e.ok(t, err, fmt.Sprintf("page %d", len(out)+1))
		out = append(out, page)
		if len(out) > 50 {
			t.Fatal("the pager does not end")
		}
	}
	return out
}

// permuted returns n names fmt.Sprintf(format, i) in a push order that is
// neither lexical nor its reverse, so that time order tells from name order.
func permuted(format string, n int) []string {
	out := make([]string, n)
	for i := range n {
		out[i] = fmt.Sprintf(format, (i*7)%n)
	}
	return out
}

func reversed(s []string) []string {
	r := slices.Clone(s)
	slices.Reverse(r)
	return r
}

func sorted(s []string) []string {
	r := slices.Clone(s)
	slices.Sort(r)
	return r
}

func TestAzureSDKAuthentication(t *testing.T) {
	t.Parallel()
	e := newSDKEnv(t)
	img := newImage("v1", nil)
	e.push(t, "auth/app", "v1", img)
	ctx := t.Context()

	t.Run("identity token exchanged once, access tokens per scope", func(t *testing.T) {
		m := e.rec.mark()
		props, err := e.client.GetRepositoryProperties(ctx, "auth/app", nil)
		e.ok(t, err, "GetRepositoryProperties")
		if str(props.Name) != "auth/app" {
			t.Fatalf("name %q", str(props.Name))
		}
		want := []string{"GET /acr/v1/auth%2Fapp 401", "POST /oauth2/exchange 200", "POST /oauth2/token 200", "GET /acr/v1/auth%2Fapp 200"}
		if got := e.rec.since(m); !slices.Equal(got, want) {
			t.Fatalf("first call: requests\n%q\nwant\n%q", got, want)
		}
		if n := e.cred.calls.Load(); n != 1 {
			t.Fatalf("credential asked %d times, want 1", n)
		}
		if sc, _ := e.cred.scopes.Load().([]string); !slices.Equal(sc, []string{sdkAudience + "/.default"}) {
			t.Fatalf("credential asked for scopes %q", sc)
		}

		// The same scope again: the cached access token goes straight through.
		m = e.rec.mark()
		_, err = e.client.GetRepositoryProperties(ctx, "auth/app", nil)
		e.ok(t, err, "GetRepositoryProperties again")
		if got := e.rec.since(m); !slices.Equal(got, []string{"GET /acr/v1/auth%2Fapp 200"}) {
			t.Fatalf("second call: requests %q, want one GET with the cached token", got)
		}

		// Other scopes (pull, catalog): a new challenge and access token
		// each, from the cached refresh token (no second exchange).
		m = e.rec.mark()
		got, err := e.client.GetManifest(ctx, "auth/app", "v1", nil)
		e.ok(t, err, "GetManifest")
		b, _ := io.ReadAll(got.ManifestData)
		got.ManifestData.Close()
		if !bytes.Equal(b, img.manifest) {
			t.Fatalf("manifest %s", b)
		}
		want = []string{"GET /v2/auth%2Fapp/manifests/v1 401", "POST /oauth2/token 200", "GET /v2/auth%2Fapp/manifests/v1 200"}
		if got := e.rec.since(m); !slices.Equal(got, want) {
			t.Fatalf("new scope: requests\n%q\nwant\n%q", got, want)
		}
		pages := allPages(t, e, e.client.NewListRepositoriesPager(nil))
		if len(pages) != 1 || !slices.Equal(strs(pages[0].Names), []string{"auth/app"}) {
			t.Fatalf("repositories %v", pages)
		}
		if n := e.rec.count(http.MethodPost, "/oauth2/exchange"); n != 1 || e.cred.calls.Load() != 1 {
			t.Fatalf("%d exchanges and %d credential calls, want 1 and 1", n, e.cred.calls.Load())
		}
	})

	t.Run("refresh tokens decode the way the SDK reads their expiry", func(t *testing.T) {
		s := e.on(t)
		identity, err := sessionToken(t.Context(), s.ts, "owner", ownerPass)
		if err != nil {
			t.Fatal(err)
		}
		for i := range 20 {
			st, ex := s.form("/oauth2/exchange", url.Values{"grant_type": {"access_token"}, "service": {sdkLoginServer}, "access_token": {identity}})
			parts := strings.Split(ex["refresh_token"], ".")
			if st != http.StatusOK || len(parts) != 3 {
				t.Fatalf("exchange %d: %d %v", i, st, ex)
			}
			p := parts[1]
			if n := len(p) % 4; n > 0 {
				p += strings.Repeat("=", 4-n)
			}
			raw, err := base64.StdEncoding.DecodeString(p)
			var claims struct {
				Exp int64 `json:"exp"`
			}
			if err == nil {
				err = json.Unmarshal(raw, &claims)
			}
			if err != nil || time.Unix(claims.Exp, 0).Before(time.Now()) {
				t.Fatalf("refresh token payload %q: %v, exp %d", parts[1], err, claims.Exp)
			}
		}
	})

	t.Run("AuthenticationClient", func(t *testing.T) {
		ac, err := azcontainerregistry.NewAuthenticationClient(e.s.ts.URL, &azcontainerregistry.AuthenticationClientOptions{ClientOptions: e.options()})
		if err != nil {
			t.Fatal(err)
		}
		s := e.on(t)
		identity, err := sessionToken(t.Context(), s.ts, "owner", ownerPass)
		if err != nil {
			t.Fatal(err)
		}
		ref, err := ac.ExchangeAADAccessTokenForACRRefreshToken(ctx, azcontainerregistry.PostContentSchemaGrantTypeAccessToken, sdkLoginServer,
			&azcontainerregistry.AuthenticationClientExchangeAADAccessTokenForACRRefreshTokenOptions{AccessToken: &identity})
		e.ok(t, err, "ExchangeAADAccessTokenForACRRefreshToken")
		if str(ref.RefreshToken) == "" || str(ref.RefreshToken) == "<nil>" {
			t.Fatal("no refresh_token")
		}
		acc, err := ac.ExchangeACRRefreshTokenForACRAccessToken(ctx, sdkLoginServer, "repository:auth/app:pull", *ref.RefreshToken,
			&azcontainerregistry.AuthenticationClientExchangeACRRefreshTokenForACRAccessTokenOptions{GrantType: to.Ptr(azcontainerregistry.TokenGrantTypeRefreshToken)})
		e.ok(t, err, "ExchangeACRRefreshTokenForACRAccessToken")
		if resp, _ := s.do(http.MethodGet, "/v2/auth/app/manifests/v1", cred{bearer: str(acc.AccessToken)}, nil); resp.StatusCode != http.StatusOK {
			t.Fatalf("pull with the access token: %d", resp.StatusCode)
		}
		if resp, _ := s.do(http.MethodDelete, "/v2/auth/app/manifests/"+img.digest.String(), cred{bearer: str(acc.AccessToken)}, nil); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("delete with a pull-only access token: %d", resp.StatusCode)
		}
		_, err = ac.ExchangeAADAccessTokenForACRRefreshToken(ctx, azcontainerregistry.PostContentSchemaGrantTypeAccessToken, sdkLoginServer,
			&azcontainerregistry.AuthenticationClientExchangeAADAccessTokenForACRRefreshTokenOptions{AccessToken: to.Ptr("not-a-token")})
		wantStatus(t, err, http.StatusUnauthorized, "exchanging a token the server does not know")
		_, err = ac.ExchangeACRRefreshTokenForACRAccessToken(ctx, sdkLoginServer, "repository:auth/app:pull", str(acc.AccessToken),
			&azcontainerregistry.AuthenticationClientExchangeACRRefreshTokenForACRAccessTokenOptions{GrantType: to.Ptr(azcontainerregistry.TokenGrantTypeRefreshToken)})
		wantStatus(t, err, http.StatusUnauthorized, "an access token where a refresh token is wanted")
	})

	t.Run("identity token the server does not know", func(t *testing.T) {
		c, _ := e.clients(t, staticCredential("not-a-token"))
		_, err := c.GetRepositoryProperties(ctx, "auth/app", nil)
		wantStatus(t, err, http.StatusUnauthorized, "GetRepositoryProperties with a bad identity token")
	})

	t.Run("anonymous", func(t *testing.T) {
		off, _ := e.clients(t, nil)
		_, err := off.GetManifest(ctx, "auth/app", "v1", nil)
		wantStatus(t, err, http.StatusUnauthorized, "anonymous GetManifest while anonymous pull is off")

		s := e.on(t)
		s.api(http.MethodPatch, "/api/v1/registries/acre", map[string]bool{"anonymousPullEnabled": true}, nil)
		defer s.api(http.MethodPatch, "/api/v1/registries/acre", map[string]bool{"anonymousPullEnabled": false}, nil)
		c, b := e.clients(t, nil)
		got, err := c.GetManifest(ctx, "auth/app", "v1", nil)
		e.ok(t, err, "anonymous GetManifest while anonymous pull is on")
		mb, _ := io.ReadAll(got.ManifestData)
		got.ManifestData.Close()
		if !bytes.Equal(mb, img.manifest) {
			t.Fatalf("anonymous manifest %s", mb)
		}
		for d, want := range img.blobs {
			blob, err := b.GetBlob(ctx, "auth/app", d.String(), nil)
			e.ok(t, err, "anonymous GetBlob")
			bb, _ := io.ReadAll(blob.BlobData)
			blob.BlobData.Close()
			if !bytes.Equal(bb, want) {
				t.Fatalf("anonymous blob %s: %q", d, bb)
			}
		}
		other := newImage("anon", nil)
		_, err = c.UploadManifest(ctx, "auth/app", "anon", azcontainerregistry.ContentTypeApplicationVndOciImageManifestV1JSON,
			streaming.NopCloser(bytes.NewReader(other.manifest)), nil)
		wantStatus(t, err, http.StatusUnauthorized, "anonymous UploadManifest")
	})

	// The SDK's own anonymous sign-in (nil credential) is POST /oauth2/token
	// with grant_type=password, an empty refresh_token and neither user name
	// nor password; ACR answers it with an anonymous access token while
	// anonymous pull is on (the SDK's live test
	// Test_authenticationPolicy_getAccessToken_live_anonymous).
	t.Run("anonymous access token", func(t *testing.T) {
		s := e.on(t)
		s.api(http.MethodPatch, "/api/v1/registries/acre", map[string]bool{"anonymousPullEnabled": true}, nil)
		defer s.api(http.MethodPatch, "/api/v1/registries/acre", map[string]bool{"anonymousPullEnabled": false}, nil)
		ac, err := azcontainerregistry.NewAuthenticationClient(e.s.ts.URL, &azcontainerregistry.AuthenticationClientOptions{ClientOptions: e.options()})
		if err != nil {
			t.Fatal(err)
		}
		acc, err := ac.ExchangeACRRefreshTokenForACRAccessToken(ctx, sdkLoginServer, "repository:auth/app:pull", "",
			&azcontainerregistry.AuthenticationClientExchangeACRRefreshTokenForACRAccessTokenOptions{GrantType: to.Ptr(azcontainerregistry.TokenGrantTypePassword)})
		e.ok(t, err, "anonymous ExchangeACRRefreshTokenForACRAccessToken (grant_type=password, no user)")
		if resp, _ := s.do(http.MethodGet, "/v2/auth/app/manifests/v1", cred{bearer: str(acc.AccessToken)}, nil); resp.StatusCode != http.StatusOK {
			t.Fatalf("pull with the anonymous access token: %d", resp.StatusCode)
		}
	})
}

func TestAzureSDKRepositories(t *testing.T) {
	t.Parallel()
	e := newSDKEnv(t)
	ctx := t.Context()
	names := permuted("sdk/repo-%02d", 25)
	for _, n := range names {
		e.push(t, n, "v1", newImage(n, nil))
	}
	all := sorted(names)

	t.Run("list", func(t *testing.T) {
		tests := []struct {
			name  string
			opts  *azcontainerregistry.ClientListRepositoriesOptions
			pages []int // sizes; nil: any
			want  []string
		}{
			{"page size 10", &azcontainerregistry.ClientListRepositoriesOptions{MaxNum: to.Ptr[int32](10)}, []int{10, 10, 5}, all},
			{"page size 7", &azcontainerregistry.ClientListRepositoriesOptions{MaxNum: to.Ptr[int32](7)}, []int{7, 7, 7, 4}, all},
			{"after last", &azcontainerregistry.ClientListRepositoriesOptions{Last: to.Ptr("sdk/repo-19"), MaxNum: to.Ptr[int32](10)}, []int{5}, all[20:]},
			{"default page size", nil, nil, all},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				var got []string
				var sizes []int
				for _, p := range allPages(t, e, e.client.NewListRepositoriesPager(tt.opts)) {
					got = append(got, strs(p.Names)...)
					sizes = append(sizes, len(p.Names))
				}
				if tt.pages != nil && !slices.Equal(sizes, tt.pages) {
					t.Fatalf("page sizes %v, want %v", sizes, tt.pages)
				}
				if !slices.Equal(got, tt.want) {
					t.Fatalf("repositories\n%q\nwant\n%q", got, tt.want)
				}
			})
		}
	})

	t.Run("properties", func(t *testing.T) {
		p, err := e.client.GetRepositoryProperties(ctx, "sdk/repo-03", nil)
		e.ok(t, err, "GetRepositoryProperties")
		if str(p.Name) != "sdk/repo-03" || str(p.RegistryLoginServer) != sdkLoginServer {
			t.Fatalf("imageName %q registry %q", str(p.Name), str(p.RegistryLoginServer))
		}
		if p.ManifestCount == nil || *p.ManifestCount != 1 || p.TagCount == nil || *p.TagCount != 1 {
			t.Fatalf("manifestCount %v tagCount %v, want 1 and 1", p.ManifestCount, p.TagCount)
		}
		e.checkTime(t, "createdTime", p.CreatedOn)
		e.checkTime(t, "lastUpdateTime", p.LastUpdatedOn)
		if got := repoAttrs(p.ChangeableAttributes); got != allEnabled {
			t.Fatalf("changeableAttributes %s", got)
		}
		_, err = e.client.GetRepositoryProperties(ctx, "sdk/no-such-repo", nil)
		wantStatus(t, err, http.StatusNotFound, "GetRepositoryProperties of an unknown repository")
	})

	t.Run("update", func(t *testing.T) {
		for _, tt := range attributeChanges {
			t.Run(tt.name, func(t *testing.T) {
				p, err := e.client.UpdateRepositoryProperties(ctx, "sdk/repo-04", &azcontainerregistry.ClientUpdateRepositoryPropertiesOptions{Value: tt.set.repo()})
				e.ok(t, err, "UpdateRepositoryProperties")
				if got := repoAttrs(p.ChangeableAttributes); got != tt.want || str(p.Name) != "sdk/repo-04" {
					t.Fatalf("answer %q: %s, want %s", str(p.Name), got, tt.want)
				}
				g, err := e.client.GetRepositoryProperties(ctx, "sdk/repo-04", nil)
				e.ok(t, err, "GetRepositoryProperties")
				if got := repoAttrs(g.ChangeableAttributes); got != tt.want {
					t.Fatalf("stored %s, want %s", got, tt.want)
				}
			})
		}
	})

	listed := func(t *testing.T) []string {
		var got []string
		for _, p := range allPages(t, e, e.client.NewListRepositoriesPager(&azcontainerregistry.ClientListRepositoriesOptions{MaxNum: to.Ptr[int32](10)})) {
			got = append(got, strs(p.Names)...)
		}
		return got
	}

	t.Run("listEnabled=false hides from the list", func(t *testing.T) {
		_, err := e.client.UpdateRepositoryProperties(ctx, "sdk/repo-05", &azcontainerregistry.ClientUpdateRepositoryPropertiesOptions{Value: change{list: no}.repo()})
		e.ok(t, err, "UpdateRepositoryProperties")
		if got := listed(t); slices.Contains(got, "sdk/repo-05") || len(got) != 24 {
			t.Fatalf("hidden repository listed: %q", got)
		}
		_, err = e.client.GetRepositoryProperties(ctx, "sdk/repo-05", nil)
		e.ok(t, err, "GetRepositoryProperties of a hidden repository")
		_, err = e.client.UpdateRepositoryProperties(ctx, "sdk/repo-05", &azcontainerregistry.ClientUpdateRepositoryPropertiesOptions{Value: change{list: yes}.repo()})
		e.ok(t, err, "UpdateRepositoryProperties")
		if got := listed(t); !slices.Equal(got, all) {
			t.Fatalf("after unhiding: %q", got)
		}
	})

	t.Run("delete", func(t *testing.T) {
		const repo = "sdk/repo-06"
		_, err := e.client.UpdateRepositoryProperties(ctx, repo, &azcontainerregistry.ClientUpdateRepositoryPropertiesOptions{Value: change{del: no}.repo()})
		e.ok(t, err, "UpdateRepositoryProperties")
		_, err = e.client.DeleteRepository(ctx, repo, nil)
		wantRefused(t, err, "DeleteRepository with deleteEnabled=false")
		_, err = e.client.GetRepositoryProperties(ctx, repo, nil)
		e.ok(t, err, "GetRepositoryProperties after a refused delete")
		_, err = e.client.UpdateRepositoryProperties(ctx, repo, &azcontainerregistry.ClientUpdateRepositoryPropertiesOptions{Value: change{del: yes}.repo()})
		e.ok(t, err, "UpdateRepositoryProperties")

		m := e.rec.mark()
		_, err = e.client.DeleteRepository(ctx, repo, nil)
		e.ok(t, err, "DeleteRepository")
		if got := e.rec.since(m); !slices.Contains(got, "DELETE /acr/v1/sdk%2Frepo-06 202") {
			t.Fatalf("DeleteRepository: requests %q, want a 202", got)
		}
		_, err = e.client.GetRepositoryProperties(ctx, repo, nil)
		wantStatus(t, err, http.StatusNotFound, "GetRepositoryProperties after delete")
		_, err = e.client.GetManifest(ctx, repo, "v1", nil)
		wantStatus(t, err, http.StatusNotFound, "GetManifest after delete")
		if got := listed(t); slices.Contains(got, repo) || len(got) != 24 {
			t.Fatalf("deleted repository listed: %q", got)
		}
		_, err = e.client.DeleteRepository(ctx, repo, nil)
		e.ok(t, err, "DeleteRepository again (404 is success to the SDK)")
	})
}

func TestAzureSDKTags(t *testing.T) {
	t.Parallel()
	e := newSDKEnv(t)
	ctx := t.Context()
	const repo = "sdk/tags"
	pushed := permuted("t%02d", 25) // push order = time order
	digests := map[string]string{}
	for _, tag := range pushed {
		img := newImage(tag, nil)
		e.push(t, repo, tag, img)
		digests[tag] = img.digest.String()
	}

	t.Run("list", func(t *testing.T) {
		tests := []struct {
			name  string
			order *azcontainerregistry.ArtifactTagOrderBy
			last  *string
			pages []int
			want  []string
		}{
			{"no order", nil, nil, []int{10, 10, 5}, sorted(pushed)},
			{"orderby none", to.Ptr(azcontainerregistry.ArtifactTagOrderByNone), nil, []int{10, 10, 5}, sorted(pushed)},
			{"orderby timeasc", to.Ptr(azcontainerregistry.ArtifactTagOrderByLastUpdatedOnAscending), nil, []int{10, 10, 5}, pushed},
			{"orderby timedesc", to.Ptr(azcontainerregistry.ArtifactTagOrderByLastUpdatedOnDescending), nil, []int{10, 10, 5}, reversed(pushed)},
			{"after last", nil, to.Ptr("t19"), []int{5}, sorted(pushed)[20:]},
			{"timeasc after last", to.Ptr(azcontainerregistry.ArtifactTagOrderByLastUpdatedOnAscending), to.Ptr(pushed[9]), []int{10, 5}, pushed[10:]},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				opts := &azcontainerregistry.ClientListTagsOptions{MaxNum: to.Ptr[int32](10), OrderBy: tt.order, Last: tt.last}
				var got []string
				var sizes []int
				var prev *time.Time
				for _, p := range allPages(t, e, e.client.NewListTagsPager(repo, opts)) {
					if str(p.Repository) != repo || str(p.RegistryLoginServer) != sdkLoginServer {
						t.Fatalf("page of imageName %q registry %q", str(p.Repository), str(p.RegistryLoginServer))
					}
					sizes = append(sizes, len(p.Tags))
					for _, a := range p.Tags {
						name := str(a.Name)
						got = append(got, name)
						if str(a.Digest) != digests[name] {
							t.Fatalf("tag %s: digest %s, want %s", name, str(a.Digest), digests[name])
						}
						e.checkTime(t, name+" createdTime", a.CreatedOn)
						e.checkTime(t, name+" lastUpdateTime", a.LastUpdatedOn)
						if got := tagAttrs(a.ChangeableAttributes); got != allEnabled {
							t.Fatalf("tag %s: %s", name, got)
						}
						if tt.order != nil && prev != nil {
							asc := *tt.order == azcontainerregistry.ArtifactTagOrderByLastUpdatedOnAscending
							desc := *tt.order == azcontainerregistry.ArtifactTagOrderByLastUpdatedOnDescending
							if (asc && a.LastUpdatedOn.Before(*prev)) || (desc && a.LastUpdatedOn.After(*prev)) {
								t.Fatalf("tag %s: lastUpdateTime %v out of %s order (previous %v)", name, a.LastUpdatedOn, *tt.order, prev)
							}
						}
						prev = a.LastUpdatedOn
					}
				}
				if !slices.Equal(sizes, tt.pages) {
					t.Fatalf("page sizes %v, want %v", sizes, tt.pages)
				}
				if !slices.Equal(got, tt.want) {
					t.Fatalf("tags\n%q\nwant\n%q", got, tt.want)
				}
			})
		}
	})

	t.Run("digest filter", func(t *testing.T) {
		const repo = "sdk/tags-digest"
		shared, other := newImage("shared", nil), newImage("other", nil)
		for _, tag := range []string{"c", "a", "b"} {
			e.push(t, repo, tag, shared)
		}
		e.push(t, repo, "d", other)
		tests := []struct {
			digest string
			n      int32
			pages  []int
			want   []string
		}{
			{shared.digest.String(), 10, []int{3}, []string{"a", "b", "c"}},
			{shared.digest.String(), 2, []int{2, 1}, []string{"a", "b", "c"}},
			{other.digest.String(), 10, []int{1}, []string{"d"}},
		}
		for _, tt := range tests {
			t.Run(fmt.Sprintf("%s n=%d", tt.digest[:15], tt.n), func(t *testing.T) {
				var got []string
				var sizes []int
				for _, p := range allPages(t, e, e.client.NewListTagsPager(repo, &azcontainerregistry.ClientListTagsOptions{Digest: to.Ptr(tt.digest), MaxNum: to.Ptr(tt.n)})) {
					sizes = append(sizes, len(p.Tags))
					for _, a := range p.Tags {
						got = append(got, str(a.Name))
						if str(a.Digest) != tt.digest {
							t.Fatalf("tag %s has digest %s", str(a.Name), str(a.Digest))
						}
					}
				}
				if !slices.Equal(got, tt.want) || !slices.Equal(sizes, tt.pages) {
					t.Fatalf("tags %q in pages %v, want %q in %v", got, sizes, tt.want, tt.pages)
				}
			})
		}
	})

	t.Run("properties", func(t *testing.T) {
		for _, tag := range []string{"t00", "t13", "t24"} {
			p, err := e.client.GetTagProperties(ctx, repo, tag, nil)
			e.ok(t, err, "GetTagProperties "+tag)
			if str(p.RepositoryName) != repo || str(p.RegistryLoginServer) != sdkLoginServer || p.Tag == nil {
				t.Fatalf("%s: imageName %q registry %q tag %v", tag, str(p.RepositoryName), str(p.RegistryLoginServer), p.Tag)
			}
			if str(p.Tag.Name) != tag || str(p.Tag.Digest) != digests[tag] {
				t.Fatalf("%s: name %q digest %s, want %s", tag, str(p.Tag.Name), str(p.Tag.Digest), digests[tag])
			}
			e.checkTime(t, "createdTime", p.Tag.CreatedOn)
			e.checkTime(t, "lastUpdateTime", p.Tag.LastUpdatedOn)
			if got := tagAttrs(p.Tag.ChangeableAttributes); got != allEnabled {
				t.Fatalf("%s: %s", tag, got)
			}
		}
		_, err := e.client.GetTagProperties(ctx, repo, "no-such-tag", nil)
		wantStatus(t, err, http.StatusNotFound, "GetTagProperties of an unknown tag")
	})

	t.Run("update", func(t *testing.T) {
		for _, tt := range attributeChanges {
			t.Run(tt.name, func(t *testing.T) {
				p, err := e.client.UpdateTagProperties(ctx, repo, "t03", &azcontainerregistry.ClientUpdateTagPropertiesOptions{Value: tt.set.tag()})
				e.ok(t, err, "UpdateTagProperties")
				if p.Tag == nil || str(p.Tag.Name) != "t03" || str(p.Tag.Digest) != digests["t03"] {
					t.Fatalf("answer %+v", p.Tag)
				}
				if got := tagAttrs(p.Tag.ChangeableAttributes); got != tt.want {
					t.Fatalf("answer %s, want %s", got, tt.want)
				}
				g, err := e.client.GetTagProperties(ctx, repo, "t03", nil)
				e.ok(t, err, "GetTagProperties")
				if got := tagAttrs(g.Tag.ChangeableAttributes); got != tt.want {
					t.Fatalf("stored %s, want %s", got, tt.want)
				}
			})
		}
	})

	listed := func(t *testing.T) []string {
		var got []string
		for _, p := range allPages(t, e, e.client.NewListTagsPager(repo, &azcontainerregistry.ClientListTagsOptions{MaxNum: to.Ptr[int32](10)})) {
			for _, a := range p.Tags {
				got = append(got, str(a.Name))
			}
		}
		return got
	}

	t.Run("listEnabled=false hides from the list", func(t *testing.T) {
		_, err := e.client.UpdateTagProperties(ctx, repo, "t05", &azcontainerregistry.ClientUpdateTagPropertiesOptions{Value: change{list: no}.tag()})
		e.ok(t, err, "UpdateTagProperties")
		if got := listed(t); slices.Contains(got, "t05") || len(got) != 24 {
			t.Fatalf("hidden tag listed: %q", got)
		}
		_, err = e.client.GetTagProperties(ctx, repo, "t05", nil)
		e.ok(t, err, "GetTagProperties of a hidden tag")
		_, err = e.client.UpdateTagProperties(ctx, repo, "t05", &azcontainerregistry.ClientUpdateTagPropertiesOptions{Value: change{list: yes}.tag()})
		e.ok(t, err, "UpdateTagProperties")
		if got := listed(t); !slices.Equal(got, sorted(pushed)) {
			t.Fatalf("after unhiding: %q", got)
		}
	})

	t.Run("writeEnabled=false refuses moving and deleting", func(t *testing.T) {
		_, err := e.client.UpdateTagProperties(ctx, repo, "t06", &azcontainerregistry.ClientUpdateTagPropertiesOptions{Value: change{write: no}.tag()})
		e.ok(t, err, "UpdateTagProperties")
		if st := e.on(t).push(cred{user: "owner", pass: ownerPass}, repo, "t06", newImage("moved", nil)); st < 400 {
			t.Fatalf("moving a write-locked tag: %d", st)
		}
		_, err = e.client.DeleteTag(ctx, repo, "t06", nil)
		wantRefused(t, err, "DeleteTag with writeEnabled=false")
		p, err := e.client.GetTagProperties(ctx, repo, "t06", nil)
		e.ok(t, err, "GetTagProperties")
		if str(p.Tag.Digest) != digests["t06"] {
			t.Fatalf("locked tag moved to %s", str(p.Tag.Digest))
		}
		_, err = e.client.UpdateTagProperties(ctx, repo, "t06", &azcontainerregistry.ClientUpdateTagPropertiesOptions{Value: change{write: yes}.tag()})
		e.ok(t, err, "UpdateTagProperties")
	})

	t.Run("delete", func(t *testing.T) {
		m := e.rec.mark()
		_, err := e.client.DeleteTag(ctx, repo, "t07", nil)
		e.ok(t, err, "DeleteTag")
		if got := e.rec.since(m); !slices.Contains(got, "DELETE /acr/v1/sdk%2Ftags/_tags/t07 202") {
			t.Fatalf("DeleteTag: requests %q, want a 202", got)
		}
		_, err = e.client.GetTagProperties(ctx, repo, "t07", nil)
		wantStatus(t, err, http.StatusNotFound, "GetTagProperties after DeleteTag")
		_, err = e.client.GetManifest(ctx, repo, "t07", nil)
		wantStatus(t, err, http.StatusNotFound, "GetManifest by a deleted tag")
		if got := listed(t); slices.Contains(got, "t07") || len(got) != 24 {
			t.Fatalf("deleted tag listed: %q", got)
		}
		// Untagging keeps the manifest.
		mp, err := e.client.GetManifestProperties(ctx, repo, digests["t07"], nil)
		e.ok(t, err, "GetManifestProperties of the untagged manifest")
		if mp.Manifest == nil || len(mp.Manifest.Tags) != 0 {
			t.Fatalf("untagged manifest: %+v", mp.Manifest)
		}
		_, err = e.client.DeleteTag(ctx, repo, "t07", nil)
		e.ok(t, err, "DeleteTag again (404 is success to the SDK)")
	})
}

func TestAzureSDKManifests(t *testing.T) {
	t.Parallel()
	e := newSDKEnv(t)
	ctx := t.Context()
	const repo = "sdk/manifests"
	tags := permuted("m%02d", 25)
	images := map[string]image{} // by digest
	var pushed []string          // digests in push order
	tagOf := map[string]string{}
	for _, tag := range tags {
		img := newImage(tag, nil)
		e.push(t, repo, tag, img)
		images[img.digest.String()] = img
		pushed = append(pushed, img.digest.String())
		tagOf[img.digest.String()] = tag
	}

	checkAttributes := func(t *testing.T, a *azcontainerregistry.ManifestAttributes) {
		t.Helper()
		d := str(a.Digest)
		img, ok := images[d]
		if !ok {
			t.Fatalf("unknown digest %s", d)
		}
		if a.Size == nil || *a.Size != imageSize(img) {
			t.Fatalf("%s: imageSize %v, want %d", d, a.Size, imageSize(img))
		}
		if a.Architecture == nil || *a.Architecture != azcontainerregistry.ArtifactArchitectureAmd64 ||
			a.OperatingSystem == nil || *a.OperatingSystem != azcontainerregistry.ArtifactOperatingSystemLinux {
			t.Fatalf("%s: architecture %v os %v", d, a.Architecture, a.OperatingSystem)
		}
		if str(a.MediaType) != ociManifest || str(a.ConfigMediaType) != ociConfig {
			t.Fatalf("%s: mediaType %q configMediaType %q", d, str(a.MediaType), str(a.ConfigMediaType))
		}
		if got := strs(a.Tags); !slices.Equal(got, []string{tagOf[d]}) {
			t.Fatalf("%s: tags %q, want %q", d, got, tagOf[d])
		}
		e.checkTime(t, d+" createdTime", a.CreatedOn)
		e.checkTime(t, d+" lastUpdateTime", a.LastUpdatedOn)
		if got := manifestAttrs(a.ChangeableAttributes); got != allEnabled {
			t.Fatalf("%s: %s", d, got)
		}
	}

	t.Run("list", func(t *testing.T) {
		tests := []struct {
			name  string
			order *azcontainerregistry.ArtifactManifestOrderBy
			last  *string
			pages []int
			want  []string
		}{
			{"no order", nil, nil, []int{10, 10, 5}, sorted(pushed)},
			{"orderby none", to.Ptr(azcontainerregistry.ArtifactManifestOrderByNone), nil, []int{10, 10, 5}, sorted(pushed)},
			{"orderby timeasc", to.Ptr(azcontainerregistry.ArtifactManifestOrderByLastUpdatedOnAscending), nil, []int{10, 10, 5}, pushed},
			{"orderby timedesc", to.Ptr(azcontainerregistry.ArtifactManifestOrderByLastUpdatedOnDescending), nil, []int{10, 10, 5}, reversed(pushed)},
			{"after last", nil, to.Ptr(sorted(pushed)[19]), []int{5}, sorted(pushed)[20:]},
			{"timedesc after last", to.Ptr(azcontainerregistry.ArtifactManifestOrderByLastUpdatedOnDescending), to.Ptr(reversed(pushed)[6]), []int{10, 8}, reversed(pushed)[7:]},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				opts := &azcontainerregistry.ClientListManifestsOptions{MaxNum: to.Ptr[int32](10), OrderBy: tt.order, Last: tt.last}
				var got []string
				var sizes []int
				for _, p := range allPages(t, e, e.client.NewListManifestsPager(repo, opts)) {
					if str(p.Repository) != repo || str(p.RegistryLoginServer) != sdkLoginServer {
						t.Fatalf("page of imageName %q registry %q", str(p.Repository), str(p.RegistryLoginServer))
					}
					sizes = append(sizes, len(p.Attributes))
					for _, a := range p.Attributes {
						got = append(got, str(a.Digest))
						checkAttributes(t, a)
					}
				}
				if !slices.Equal(sizes, tt.pages) {
					t.Fatalf("page sizes %v, want %v", sizes, tt.pages)
				}
				if !slices.Equal(got, tt.want) {
					t.Fatalf("manifests\n%q\nwant\n%q", got, tt.want)
				}
			})
		}
	})

	t.Run("properties", func(t *testing.T) {
		d := pushed[3]
		p, err := e.client.GetManifestProperties(ctx, repo, d, nil)
		e.ok(t, err, "GetManifestProperties")
		if str(p.RepositoryName) != repo || str(p.RegistryLoginServer) != sdkLoginServer || p.Manifest == nil {
			t.Fatalf("imageName %q registry %q manifest %v", str(p.RepositoryName), str(p.RegistryLoginServer), p.Manifest)
		}
		if str(p.Manifest.Digest) != d {
			t.Fatalf("digest %s, want %s", str(p.Manifest.Digest), d)
		}
		checkAttributes(t, p.Manifest)
		_, err = e.client.GetManifestProperties(ctx, repo, digest.FromString("nothing").String(), nil)
		wantStatus(t, err, http.StatusNotFound, "GetManifestProperties of an unknown digest")
	})

	t.Run("index references", func(t *testing.T) {
		const repo = "sdk/index"
		amd, arm := platformImage("multi", "amd64", "linux", false), platformImage("multi", "arm64", "linux", false)
		e.push(t, repo, amd.digest.String(), amd)
		e.push(t, repo, arm.digest.String(), arm)
		body, d := e.pushIndex(t, repo, "multi", amd, arm)
		p, err := e.client.GetManifestProperties(ctx, repo, d.String(), nil)
		e.ok(t, err, "GetManifestProperties of an index")
		m := p.Manifest
		if m == nil || str(m.Digest) != d.String() || str(m.MediaType) != ociIndex || !slices.Equal(strs(m.Tags), []string{"multi"}) {
			t.Fatalf("index properties %+v", m)
		}
		if m.Size == nil || *m.Size != int64(len(body)) {
			t.Fatalf("index imageSize %v, want %d", m.Size, len(body))
		}
		var got []string
		for _, r := range m.RelatedArtifacts {
			a, o := "<nil>", "<nil>"
			if r.Architecture != nil {
				a = string(*r.Architecture)
			}
			if r.OperatingSystem != nil {
				o = string(*r.OperatingSystem)
			}
			got = append(got, str(r.Digest)+" "+a+"/"+o)
		}
		want := []string{amd.digest.String() + " amd64/linux", arm.digest.String() + " arm64/linux"}
		if !slices.Equal(got, want) {
			t.Fatalf("references %q, want %q", got, want)
		}
		g, err := e.client.GetManifest(ctx, repo, "multi", &azcontainerregistry.ClientGetManifestOptions{Accept: to.Ptr(ociIndex)})
		e.ok(t, err, "GetManifest of an index")
		b, _ := io.ReadAll(g.ManifestData)
		g.ManifestData.Close()
		if !bytes.Equal(b, body) || str(g.DockerContentDigest) != d.String() {
			t.Fatalf("index %s digest %s", b, str(g.DockerContentDigest))
		}
	})

	t.Run("update", func(t *testing.T) {
		d := pushed[4]
		for _, tt := range attributeChanges {
			t.Run(tt.name, func(t *testing.T) {
				p, err := e.client.UpdateManifestProperties(ctx, repo, d, &azcontainerregistry.ClientUpdateManifestPropertiesOptions{Value: tt.set.manifest()})
				e.ok(t, err, "UpdateManifestProperties")
				if p.Manifest == nil || str(p.Manifest.Digest) != d {
					t.Fatalf("answer %+v", p.Manifest)
				}
				if got := manifestAttrs(p.Manifest.ChangeableAttributes); got != tt.want {
					t.Fatalf("answer %s, want %s", got, tt.want)
				}
				g, err := e.client.GetManifestProperties(ctx, repo, d, nil)
				e.ok(t, err, "GetManifestProperties")
				if got := manifestAttrs(g.Manifest.ChangeableAttributes); got != tt.want {
					t.Fatalf("stored %s, want %s", got, tt.want)
				}
			})
		}
	})

	t.Run("get", func(t *testing.T) {
		d := pushed[5]
		tests := []struct {
			name, ref string
			accept    *string
		}{
			{"by tag", tagOf[d], nil},
			{"by digest", d, nil},
			{"by tag accepting OCI", tagOf[d], to.Ptr(ociManifest)},
			{"by digest accepting OCI and Docker", d, to.Ptr(ociManifest + ", " + dockerManifest)},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				g, err := e.client.GetManifest(ctx, repo, tt.ref, &azcontainerregistry.ClientGetManifestOptions{Accept: tt.accept})
				e.ok(t, err, "GetManifest")
				b, err := io.ReadAll(g.ManifestData)
				g.ManifestData.Close()
				if err != nil || !bytes.Equal(b, images[d].manifest) {
					t.Fatalf("manifest %s (%v), want %s", b, err, images[d].manifest)
				}
				if str(g.DockerContentDigest) != d {
					t.Fatalf("Docker-Content-Digest %s, want %s", str(g.DockerContentDigest), d)
				}
			})
		}
		_, err := e.client.GetManifest(ctx, repo, "no-such-tag", nil)
		wantStatus(t, err, http.StatusNotFound, "GetManifest of an unknown tag")
	})

	t.Run("upload", func(t *testing.T) {
		const repo = "sdk/upload"
		tests := []struct {
			name  string
			img   image
			ct    azcontainerregistry.ContentType
			ref   func(image) string
			arch  azcontainerregistry.ArtifactArchitecture
			cfgMT string
		}{
			{"OCI by tag", platformImage("up1", "amd64", "linux", false), azcontainerregistry.ContentTypeApplicationVndOciImageManifestV1JSON,
				func(image) string { return "oci" }, azcontainerregistry.ArtifactArchitectureAmd64, ociConfig},
			{"OCI by digest", platformImage("up2", "arm64", "linux", false), azcontainerregistry.ContentTypeApplicationVndOciImageManifestV1JSON,
				func(i image) string { return i.digest.String() }, azcontainerregistry.ArtifactArchitectureArm64, ociConfig},
			{"Docker v2 by tag", platformImage("up3", "arm64", "linux", true), azcontainerregistry.ContentTypeApplicationVndDockerDistributionManifestV2JSON,
				func(image) string { return "docker" }, azcontainerregistry.ArtifactArchitectureArm64, dockerConfig},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				for d, b := range tt.img.blobs {
					resp, body := e.on(t).do(http.MethodPost, "/v2/"+repo+"/blobs/uploads/?digest="+d.String(), cred{user: "owner", pass: ownerPass}, b)
					if resp.StatusCode != http.StatusCreated {
						t.Fatalf("blob upload: %d %s", resp.StatusCode, body)
					}
				}
				ref := tt.ref(tt.img)
				up, err := e.client.UploadManifest(ctx, repo, ref, tt.ct, streaming.NopCloser(bytes.NewReader(tt.img.manifest)), nil)
				e.ok(t, err, "UploadManifest")
				if str(up.DockerContentDigest) != tt.img.digest.String() {
					t.Fatalf("Docker-Content-Digest %s, want %s", str(up.DockerContentDigest), tt.img.digest)
				}
				if !strings.Contains(str(up.Location), tt.img.digest.String()) {
					t.Fatalf("Location %q", str(up.Location))
				}
				g, err := e.client.GetManifest(ctx, repo, ref, &azcontainerregistry.ClientGetManifestOptions{Accept: to.Ptr(string(tt.ct))})
				e.ok(t, err, "GetManifest")
				b, _ := io.ReadAll(g.ManifestData)
				g.ManifestData.Close()
				if !bytes.Equal(b, tt.img.manifest) {
					t.Fatalf("stored manifest %s", b)
				}
				p, err := e.client.GetManifestProperties(ctx, repo, tt.img.digest.String(), nil)
				e.ok(t, err, "GetManifestProperties")
				m := p.Manifest
				if str(m.MediaType) != string(tt.ct) || str(m.ConfigMediaType) != tt.cfgMT || m.Architecture == nil || *m.Architecture != tt.arch {
					t.Fatalf("properties: mediaType %q configMediaType %q architecture %v", str(m.MediaType), str(m.ConfigMediaType), m.Architecture)
				}
				if m.Size == nil || *m.Size != imageSize(tt.img) {
					t.Fatalf("imageSize %v, want %d", m.Size, imageSize(tt.img))
				}
			})
		}
		bad := platformImage("up1", "amd64", "linux", false)
		_, err := e.client.UploadManifest(ctx, repo, digest.FromString("other").String(), azcontainerregistry.ContentTypeApplicationVndOciImageManifestV1JSON,
			streaming.NopCloser(bytes.NewReader(bad.manifest)), nil)
		wantStatus(t, err, http.StatusBadRequest, "UploadManifest under another digest")
	})

	t.Run("delete", func(t *testing.T) {
		d := pushed[6]
		_, err := e.client.UpdateManifestProperties(ctx, repo, d, &azcontainerregistry.ClientUpdateManifestPropertiesOptions{Value: change{del: no}.manifest()})
		e.ok(t, err, "UpdateManifestProperties")
		_, err = e.client.DeleteManifest(ctx, repo, d, nil)
		wantRefused(t, err, "DeleteManifest with deleteEnabled=false")
		_, err = e.client.UpdateManifestProperties(ctx, repo, d, &azcontainerregistry.ClientUpdateManifestPropertiesOptions{Value: change{del: yes}.manifest()})
		e.ok(t, err, "UpdateManifestProperties")

		m := e.rec.mark()
		_, err = e.client.DeleteManifest(ctx, repo, d, nil)
		e.ok(t, err, "DeleteManifest")
		if got := e.rec.since(m); !slices.Contains(got, "DELETE /v2/sdk%2Fmanifests/manifests/"+d+" 202") {
			t.Fatalf("DeleteManifest: requests %q, want a 202", got)
		}
		_, err = e.client.GetManifestProperties(ctx, repo, d, nil)
		wantStatus(t, err, http.StatusNotFound, "GetManifestProperties after delete")
		_, err = e.client.GetManifest(ctx, repo, d, nil)
		wantStatus(t, err, http.StatusNotFound, "GetManifest after delete")
		_, err = e.client.GetTagProperties(ctx, repo, tagOf[d], nil)
		wantStatus(t, err, http.StatusNotFound, "GetTagProperties of the deleted manifest's tag")
		var got []string
		for _, p := range allPages(t, e, e.client.NewListManifestsPager(repo, &azcontainerregistry.ClientListManifestsOptions{MaxNum: to.Ptr[int32](10)})) {
			for _, a := range p.Attributes {
				got = append(got, str(a.Digest))
			}
		}
		if slices.Contains(got, d) || len(got) != 24 {
			t.Fatalf("deleted manifest listed: %q", got)
		}
		_, err = e.client.DeleteManifest(ctx, repo, d, nil)
		e.ok(t, err, "DeleteManifest again (404 is success to the SDK)")
	})
}

// blobData is n deterministic bytes that differ with seed.
func blobData(seed string, n int) []byte {
	var b bytes.Buffer
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, "%s-%06d|", seed, i)
	}
	return b.Bytes()[:n]
}

// uploadChunked uploads data in chunks through the BlobClient and checks
// every step's answer; it returns the digest CompleteUpload reported.
func (e *sdkEnv) uploadChunked(t *testing.T, repo string, data []byte, chunk int, withRange bool) string {
	t.Helper()
	ctx := t.Context()
	start, err := e.blobs.StartUpload(ctx, repo, nil)
	e.ok(t, err, "StartUpload")
	loc, uuid := str(start.Location), str(start.DockerUploadUUID)
	if !strings.HasPrefix(loc, "/v2/"+repo+"/blobs/uploads/") || uuid == "" || !strings.Contains(loc, uuid) {
		t.Fatalf("StartUpload: Location %q (want relative /v2/%s/blobs/uploads/...), Docker-Upload-UUID %q", loc, repo, uuid)
	}
	if str(start.Range) != "0-0" {
		t.Fatalf("StartUpload: Range %q, want 0-0", str(start.Range))
	}
	calc := azcontainerregistry.NewBlobDigestCalculator()
	for off := 0; off < len(data); off += chunk {
		end := min(off+chunk, len(data))
		var opts *azcontainerregistry.BlobClientUploadChunkOptions
		if withRange {
			opts = &azcontainerregistry.BlobClientUploadChunkOptions{RangeStart: to.Ptr(int32(off)), RangeEnd: to.Ptr(int32(end - 1))}
		}
		up, err := e.blobs.UploadChunk(ctx, loc, bytes.NewReader(data[off:end]), calc, opts)
		e.ok(t, err, fmt.Sprintf("UploadChunk %d-%d", off, end-1))
		if want := fmt.Sprintf("0-%d", end-1); str(up.Range) != want {
			t.Fatalf("UploadChunk %d-%d: Range %q, want %q", off, end-1, str(up.Range), want)
		}
		if str(up.Location) == "" {
			t.Fatalf("UploadChunk: no Location")
		}
		loc = str(up.Location)
	}
	st, err := e.blobs.GetUploadStatus(ctx, loc, nil)
	e.ok(t, err, "GetUploadStatus")
	if want := fmt.Sprintf("0-%d", len(data)-1); str(st.Range) != want || str(st.DockerUploadUUID) != uuid {
		t.Fatalf("GetUploadStatus: Range %q uuid %q, want %q and %q", str(st.Range), str(st.DockerUploadUUID), want, uuid)
	}
	done, err := e.blobs.CompleteUpload(ctx, loc, calc, nil)
	e.ok(t, err, "CompleteUpload")
	if want := digest.FromBytes(data).String(); str(done.DockerContentDigest) != want {
		t.Fatalf("CompleteUpload: Docker-Content-Digest %s, want %s", str(done.DockerContentDigest), want)
	}
	return str(done.DockerContentDigest)
}

// checkBlob checks the blob's HEAD and GET through the BlobClient.
func (e *sdkEnv) checkBlob(t *testing.T, repo string, data []byte) {
	t.Helper()
	ctx := t.Context()
	d := digest.FromBytes(data).String()
	h, err := e.blobs.CheckBlobExists(ctx, repo, d, nil)
	e.ok(t, err, "CheckBlobExists")
	if h.ContentLength == nil || *h.ContentLength != int64(len(data)) || str(h.DockerContentDigest) != d {
		t.Fatalf("CheckBlobExists: Content-Length %v digest %s, want %d and %s", h.ContentLength, str(h.DockerContentDigest), len(data), d)
	}
	g, err := e.blobs.GetBlob(ctx, repo, d, nil)
	e.ok(t, err, "GetBlob")
	defer g.BlobData.Close()
	vr, err := azcontainerregistry.NewDigestValidationReader(d, g.BlobData)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(vr)
	if err != nil || !bytes.Equal(b, data) {
		t.Fatalf("GetBlob: %d bytes (%v), want the %d uploaded", len(b), err, len(data))
	}
	if g.ContentLength == nil || *g.ContentLength != int64(len(data)) || str(g.DockerContentDigest) != d {
		t.Fatalf("GetBlob: Content-Length %v digest %s", g.ContentLength, str(g.DockerContentDigest))
	}
}

func TestAzureSDKBlobs(t *testing.T) {
	t.Parallel()
	e := newSDKEnv(t)
	ctx := t.Context()
	const repo = "sdk/blobs"
	data := blobData("main", 1000)

	t.Run("chunked upload", func(t *testing.T) {
		tests := []struct {
			name      string
			data      []byte
			chunk     int
			withRange bool
		}{
			{"chunks with Content-Range", data, 300, true},
			{"chunks without Content-Range", blobData("plain", 1000), 400, false},
			{"one chunk", blobData("one", 123), 123, true},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				e.uploadChunked(t, repo, tt.data, tt.chunk, tt.withRange)
				e.checkBlob(t, repo, tt.data)
			})
		}
	})

	d := digest.FromBytes(data).String()

	t.Run("get chunk", func(t *testing.T) {
		tests := []struct {
			rng        string
			start, end int // inclusive
		}{
			{"bytes=0-9", 0, 9},
			{"bytes=10-499", 10, 499},
			{"bytes=990-999", 990, 999},
			{"bytes=995-", 995, 999},
		}
		for _, tt := range tests {
			t.Run(tt.rng, func(t *testing.T) {
				g, err := e.blobs.GetChunk(ctx, repo, d, tt.rng, nil)
				e.ok(t, err, "GetChunk")
				b, _ := io.ReadAll(g.ChunkData)
				g.ChunkData.Close()
				if !bytes.Equal(b, data[tt.start:tt.end+1]) {
					t.Fatalf("chunk %q, want %q", b, data[tt.start:tt.end+1])
				}
				if want := fmt.Sprintf("bytes %d-%d/%d", tt.start, tt.end, len(data)); str(g.ContentRange) != want {
					t.Fatalf("Content-Range %q, want %q", str(g.ContentRange), want)
				}
				if g.ContentLength == nil || *g.ContentLength != int64(tt.end-tt.start+1) {
					t.Fatalf("Content-Length %v", g.ContentLength)
				}
				h, err := e.blobs.CheckChunkExists(ctx, repo, d, tt.rng, nil)
				e.ok(t, err, "CheckChunkExists")
				if h.ContentLength == nil || *h.ContentLength != int64(len(data)) {
					t.Fatalf("CheckChunkExists: Content-Length %v, want %d", h.ContentLength, len(data))
				}
			})
		}
		_, err := e.blobs.GetChunk(ctx, repo, d, "bytes=2000-2010", nil)
		wantStatus(t, err, http.StatusRequestedRangeNotSatisfiable, "GetChunk beyond the end")
	})

	t.Run("cancel upload", func(t *testing.T) {
		start, err := e.blobs.StartUpload(ctx, repo, nil)
		e.ok(t, err, "StartUpload")
		calc := azcontainerregistry.NewBlobDigestCalculator()
		up, err := e.blobs.UploadChunk(ctx, str(start.Location), bytes.NewReader([]byte("abandoned")), calc, nil)
		e.ok(t, err, "UploadChunk")
		loc := str(up.Location)
		m := e.rec.mark()
		_, err = e.blobs.CancelUpload(ctx, loc, nil)
		e.ok(t, err, "CancelUpload")
		if got := e.rec.since(m); len(got) == 0 || !strings.HasSuffix(got[len(got)-1], " 204") {
			t.Fatalf("CancelUpload: requests %q, want a 204", got)
		}
		_, err = e.blobs.GetUploadStatus(ctx, loc, nil)
		wantStatus(t, err, http.StatusNotFound, "GetUploadStatus after CancelUpload")
		_, err = e.blobs.CompleteUpload(ctx, loc, calc, nil)
		wantStatus(t, err, http.StatusNotFound, "CompleteUpload after CancelUpload")
		_, err = e.blobs.CheckBlobExists(ctx, repo, digest.FromString("abandoned").String(), nil)
		wantStatus(t, err, http.StatusNotFound, "CheckBlobExists of a cancelled upload")
	})

	const mounted = "sdk/blobs-mounted"
	t.Run("mount", func(t *testing.T) {
		m, err := e.blobs.MountBlob(ctx, mounted, repo, d, nil)
		e.ok(t, err, "MountBlob")
		if str(m.DockerContentDigest) != d || !strings.HasSuffix(str(m.Location), "/blobs/"+d) {
			t.Fatalf("MountBlob: digest %s Location %q", str(m.DockerContentDigest), str(m.Location))
		}
		e.checkBlob(t, mounted, data)

		// A blob the source does not hold: an upload session starts instead.
		unknown := digest.FromString("not stored anywhere").String()
		m, err = e.blobs.MountBlob(ctx, mounted, repo, unknown, nil)
		e.ok(t, err, "MountBlob of an unknown blob")
		if str(m.DockerUploadUUID) == "" || !strings.HasPrefix(str(m.Location), "/v2/"+mounted+"/blobs/uploads/") {
			t.Fatalf("MountBlob fallback: uuid %q Location %q", str(m.DockerUploadUUID), str(m.Location))
		}
		_, err = e.blobs.CancelUpload(ctx, str(m.Location), nil)
		e.ok(t, err, "CancelUpload of the fallback session")
	})

	t.Run("delete", func(t *testing.T) {
		del, err := e.blobs.DeleteBlob(ctx, mounted, d, nil)
		e.ok(t, err, "DeleteBlob")
		if del.DockerContentDigest != nil && *del.DockerContentDigest != d {
			t.Fatalf("DeleteBlob: Docker-Content-Digest %s", *del.DockerContentDigest)
		}
		_, err = e.blobs.CheckBlobExists(ctx, mounted, d, nil)
		wantStatus(t, err, http.StatusNotFound, "CheckBlobExists after DeleteBlob")
		_, err = e.blobs.GetBlob(ctx, mounted, d, nil)
		wantStatus(t, err, http.StatusNotFound, "GetBlob after DeleteBlob")
		e.checkBlob(t, repo, data) // the source repository keeps its link
		_, err = e.blobs.DeleteBlob(ctx, mounted, d, nil)
		wantStatus(t, err, http.StatusNotFound, "DeleteBlob again")
	})

	t.Run("image round trip", func(t *testing.T) {
		const repo = "sdk/roundtrip"
		img := platformImage("roundtrip", "arm64", "linux", false)
		for _, b := range img.blobs {
			e.uploadChunked(t, repo, b, 16, true)
		}
		up, err := e.client.UploadManifest(ctx, repo, "v1", azcontainerregistry.ContentTypeApplicationVndOciImageManifestV1JSON,
			streaming.NopCloser(bytes.NewReader(img.manifest)), nil)
		e.ok(t, err, "UploadManifest")
		if str(up.DockerContentDigest) != img.digest.String() {
			t.Fatalf("UploadManifest: digest %s", str(up.DockerContentDigest))
		}
		g, err := e.client.GetManifest(ctx, repo, "v1", &azcontainerregistry.ClientGetManifestOptions{Accept: to.Ptr(ociManifest)})
		e.ok(t, err, "GetManifest")
		vr, err := azcontainerregistry.NewDigestValidationReader(str(g.DockerContentDigest), g.ManifestData)
		if err != nil {
			t.Fatal(err)
		}
		mb, err := io.ReadAll(vr)
		g.ManifestData.Close()
		if err != nil || !bytes.Equal(mb, img.manifest) {
			t.Fatalf("manifest %s (%v)", mb, err)
		}
		var parsed struct {
			Config struct{ Digest string }   `json:"config"`
			Layers []struct{ Digest string } `json:"layers"`
		}
		if err := json.Unmarshal(mb, &parsed); err != nil {
			t.Fatal(err)
		}
		for _, ref := range append([]string{parsed.Config.Digest}, parsed.Layers[0].Digest) {
			e.checkBlob(t, repo, img.blobs[digest.Digest(ref)])
		}
	})
}
