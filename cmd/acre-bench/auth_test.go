package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
)

func TestParseChallenge(t *testing.T) {
	p, ok := parseChallenge(`Bearer realm="http://h/oauth2/token",service="acre.localhost",scope="repository:a/b:pull,push"`)
	if !ok || p["realm"] != "http://h/oauth2/token" || p["service"] != "acre.localhost" || p["scope"] != "repository:a/b:pull,push" {
		t.Fatalf("got %v, %v", p, ok)
	}
	if _, ok := parseChallenge(`Basic realm="x"`); ok {
		t.Fatal("Basic challenge parsed as Bearer")
	}
}

// fakeRegistry issues tokens named tN for the scopes asked and serves
// /v2/<repo>/blobs/uploads/ (PUT-like POST with a body) and manifests,
// requiring a token whose scopes cover the repository.
type fakeRegistry struct {
	mu     sync.Mutex
	tokens map[string][]string // token -> scopes
	bodies []string
}

func (f *fakeRegistry) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	challenge := func(scope string) {
		v := fmt.Sprintf(`Bearer realm="http://%s/token",service="fake"`, r.Host)
		if scope != "" {
			v += `,scope="` + scope + `"`
		}
		w.Header().Set("WWW-Authenticate", v)
		w.WriteHeader(http.StatusUnauthorized)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if r.URL.Path == "/token" {
		if u, p, ok := r.BasicAuth(); !ok || u != "u" || p != "p" || r.URL.Query().Get("service") != "fake" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		tok := fmt.Sprintf("t%d", len(f.tokens))
		f.tokens[tok] = r.URL.Query()["scope"]
		fmt.Fprintf(w, `{"token":%q,"expires_in":300}`, tok)
		return
	}
	scopes, ok := f.tokens[strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")]
	if r.URL.Path == "/v2/" {
		if !ok {
			challenge("")
		}
		return
	}
	repo, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/v2/"), "/")
	need := "repository:" + repo + ":pull"
	if r.Method == http.MethodPost {
		need += ",push"
	}
	if !ok || !slices.Contains(scopes, need) {
		challenge(need)
		return
	}
	b, _ := io.ReadAll(r.Body)
	f.bodies = append(f.bodies, string(b))
	w.WriteHeader(http.StatusCreated)
}

func TestBearerFlow(t *testing.T) {
	f := &fakeRegistry{tokens: map[string][]string{}}
	ts := httptest.NewServer(f)
	defer ts.Close()
	u, _ := url.Parse(ts.URL)
	a := &authenticator{mode: authBearer, user: "u", pass: "p"}
	c := newClient(u, "monolithic", 0, 4, a)
	ctx := context.Background()
	if err := c.check(ctx); err != nil {
		t.Fatal(err)
	}
	post := func(scopes []string, body string) error {
		req, err := newRequest(ctx, http.MethodPost, c.url("/v2/r/blobs/uploads/"), memBlob(body), 0, int64(len(body)))
		if err != nil {
			return err
		}
		_, err = c.send(req, http.StatusCreated, scopes)
		return err
	}
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			if err := post(pushScope("r"), "x"); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if n := a.fetches.Load(); n != 2 { // /v2/ and repository:r:pull,push
		t.Fatalf("%d token fetches, want 2", n)
	}
	// Tokens the registry forgot are renewed once; the body is sent again.
	f.mu.Lock()
	clear(f.tokens)
	f.mu.Unlock()
	if err := post(pushScope("r"), "again"); err != nil {
		t.Fatal(err)
	}
	// A scope set that lacks what the registry wants gets the challenge's.
	if err := post(pullScope("other"), "widened"); err != nil {
		t.Fatal(err)
	}
	if a.refreshes.Load() != 2 || f.bodies[len(f.bodies)-2] != "again" || f.bodies[len(f.bodies)-1] != "widened" {
		t.Fatalf("renewals %d, bodies %q", a.refreshes.Load(), f.bodies)
	}
	// Wrong credentials fail.
	a2 := &authenticator{mode: authBearer, user: "u", pass: "wrong"}
	if err := newClient(u, "monolithic", 0, 1, a2).check(ctx); err == nil {
		t.Fatal("wrong password accepted")
	}
}

func TestStreamSections(t *testing.T) {
	for _, mode := range []string{"counter", "chacha8"} {
		g := newGenerator(mode, 7)
		const size = 3*chunkSize + 12345
		whole, _ := io.ReadAll(g.open(9, size))
		for _, r := range [][2]int64{{0, size}, {5, 100}, {chunkSize - 3, chunkSize + 10}, {2*chunkSize + 1, size - 2*chunkSize - 1}} {
			got, _ := io.ReadAll(g.blob(9, size).section(r[0], r[1]))
			if string(got) != string(whole[r[0]:r[0]+r[1]]) {
				t.Fatalf("%s: section %v differs", mode, r)
			}
		}
	}
}
