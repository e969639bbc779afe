package server

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/acre-project/acre/internal/config"
	"github.com/opencontainers/go-digest"
)

const ownerPass = "owner-password-1"

// testServer runs a whole acre (auth on) in process on a temporary directory.
type testServer struct {
	t   testing.TB
	srv *Server
	ts  *httptest.Server
}

func newTestServer(t testing.TB, change func(c *config.Config)) *testServer {
	t.Helper()
	return startTestServer(t, change, false)
}

// startTestServer builds the server and serves it over HTTP, or HTTPS with tls.
func startTestServer(t testing.TB, change func(c *config.Config), tls bool) *testServer {
	t.Helper()
	cfg := config.Default()
	cfg.Data = t.TempDir()
	if change != nil {
		change(&cfg)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	srv, err := New(ctx, cfg, slog.New(slog.DiscardHandler), "owner", ownerPass)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	ts := httptest.NewUnstartedServer(srv.Handler())
	if tls {
		ts.StartTLS()
	} else {
		ts.Start()
	}
	t.Cleanup(ts.Close)
	srv.own.add(ts.Listener.Addr())
	return &testServer{t: t, srv: srv, ts: ts}
}

// cred is how a request authenticates.
type cred struct {
	user, pass string // Basic
	bearer     string // Bearer
}

func (c cred) apply(r *http.Request) {
	switch {
	case c.bearer != "":
		r.Header.Set("Authorization", "Bearer "+c.bearer)
	case c.user != "":
		r.SetBasicAuth(c.user, c.pass)
	}
}

// do sends a request and returns the response with its body read.
func (s *testServer) do(method, path string, c cred, body []byte, hdr ...string) (*http.Response, []byte) {
	s.t.Helper()
	return s.doHost("", method, path, c, body, hdr...)
}

// doHost is do with the request's Host set to host (unless empty).
func (s *testServer) doHost(host, method, path string, c cred, body []byte, hdr ...string) (*http.Response, []byte) {
	s.t.Helper()
	req, err := http.NewRequest(method, s.ts.URL+path, bytes.NewReader(body))
	if err != nil {
		s.t.Fatal(err)
	}
	if host != "" {
		req.Host = host
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	c.apply(req)
	resp, err := s.ts.Client().Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

// api calls the management API as the owner and decodes the answer.
func (s *testServer) api(method, path string, in any, out any) {
	s.t.Helper()
	var body []byte
	if in != nil {
		body, _ = json.Marshal(in)
	}
	resp, b := s.do(method, path, cred{user: "owner", pass: ownerPass}, body, "Content-Type", "application/json")
	if resp.StatusCode >= 300 {
		s.t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			s.t.Fatalf("%s %s: %v", method, path, err)
		}
	}
}

// image is a pushed test image.
type image struct {
	manifest []byte
	digest   digest.Digest
	blobs    map[digest.Digest][]byte
}

func newImage(tag string, subject *digest.Digest) image {
	layer := []byte("layer of " + tag)
	cfg := []byte(`{"architecture":"amd64","os":"linux","tag":"` + tag + `"}`)
	m := map[string]any{
		"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
		"config": map[string]any{"mediaType": "application/vnd.oci.image.config.v1+json", "digest": digest.FromBytes(cfg), "size": len(cfg)},
		"layers": []any{map[string]any{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": digest.FromBytes(layer), "size": len(layer)}},
	}
	if subject != nil {
		m["artifactType"] = "application/vnd.example.signature"
		m["subject"] = map[string]any{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": *subject, "size": 1}
	}
	b, _ := json.Marshal(m)
	return image{manifest: b, digest: digest.FromBytes(b), blobs: map[digest.Digest][]byte{
		digest.FromBytes(layer): layer, digest.FromBytes(cfg): cfg}}
}

// push uploads img's blobs and manifest (by ref) with c; it returns the
// first status that is not a success, or the manifest PUT's status.
func (s *testServer) push(c cred, repo, ref string, img image) int {
	for d, b := range img.blobs {
		resp, _ := s.do(http.MethodPost, "/v2/"+repo+"/blobs/uploads/?digest="+d.String(), c, b)
		if resp.StatusCode != http.StatusCreated {
			return resp.StatusCode
		}
	}
	resp, _ := s.do(http.MethodPut, "/v2/"+repo+"/manifests/"+ref, c, img.manifest,
		"Content-Type", "application/vnd.oci.image.manifest.v1+json")
	return resp.StatusCode
}
