package server

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/streaming"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/containers/azcontainerregistry"
)

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
