package cli

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/acre-project/acre/internal/config"
	"github.com/acre-project/acre/internal/server"
)

const ownerPassword = "owner-password-1"

// startServer runs a real acre server (embedded stores in a temp dir)
// and points the CLI's profile and Docker config at temp dirs.
func startServer(t *testing.T) *httptest.Server {
	t.Helper()
	dir := t.TempDir()
	cfg := config.Default()
	cfg.Data = filepath.Join(dir, "data")
	srv, err := server.New(t.Context(), cfg, slog.New(slog.DiscardHandler), "owner", ownerPassword)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	t.Setenv("ACRE_CONFIG_DIR", filepath.Join(dir, "acre"))
	t.Setenv("DOCKER_CONFIG", filepath.Join(dir, "docker"))
	t.Setenv("ACRE_SERVER", "")
	t.Setenv("ACRE_TOKEN", "")
	return ts
}

// pusher pushes images the way a registry client does: a bearer token
// from /oauth2/token (Basic credentials), blobs, then the manifest.
type pusher struct {
	t           *testing.T
	server      string
	loginServer string
}

func (p *pusher) do(method, path, token, ctype string, body []byte) *http.Response {
	p.t.Helper()
	req, err := http.NewRequest(method, p.server+path, bytes.NewReader(body))
	if err != nil {
		p.t.Fatal(err)
	}
	req.Host = p.loginServer
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		p.t.Fatal(err)
	}
	return resp
}

// push uploads an image of one random layer as repo:tag (subject, when
// not empty, makes it a referrer of that manifest) and returns its digest.
func (p *pusher) push(repo, tag, subject string) string {
	p.t.Helper()
	q := url.Values{"service": {p.loginServer}, "scope": {"repository:" + repo + ":push,pull"}}
	req, _ := http.NewRequest(http.MethodGet, p.server+"/oauth2/token?"+q.Encode(), nil)
	req.Host = p.loginServer
	req.SetBasicAuth("owner", ownerPassword)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		p.t.Fatal(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || tok.AccessToken == "" {
		p.t.Fatalf("token: %d %v", resp.StatusCode, err)
	}
	resp.Body.Close()
	layer := make([]byte, 512)
	_, _ = rand.Read(layer)
	config := []byte(`{"architecture":"amd64","os":"linux"}`)
	for _, b := range [][]byte{layer, config} {
		resp := p.do(http.MethodPost, "/v2/"+repo+"/blobs/uploads/?digest="+sha(b), tok.AccessToken, "application/octet-stream", b)
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			p.t.Fatalf("blob upload: %d", resp.StatusCode)
		}
	}
	m := map[string]any{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
		"config": map[string]any{"mediaType": "application/vnd.oci.image.config.v1+json", "digest": sha(config), "size": len(config)},
		"layers": []any{map[string]any{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": sha(layer), "size": len(layer)}}}
	if subject != "" {
		m["artifactType"] = "application/vnd.example.sbom"
		m["subject"] = map[string]any{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": subject, "size": 1}
	}
	mb, _ := json.Marshal(m)
	ref := tag
	if ref == "" {
		ref = sha(mb)
	}
	resp = p.do(http.MethodPut, "/v2/"+repo+"/manifests/"+ref, tok.AccessToken, "application/vnd.oci.image.manifest.v1+json", mb)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		p.t.Fatalf("manifest: %d %s", resp.StatusCode, b)
	}
	return sha(mb)
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(s[:])
}

// shellWords splits a command line as a POSIX shell would for the simple
// lines of the documentation: words, '...' and "..." quoting.
func shellWords(line string) ([]string, error) {
	var out []string
	var cur strings.Builder
	inWord := false
	for i := 0; i < len(line); i++ {
		switch c := line[i]; c {
		case ' ', '\t':
			if inWord {
				out = append(out, cur.String())
				cur.Reset()
				inWord = false
			}
		case '\'', '"':
			j := strings.IndexByte(line[i+1:], c)
			if j < 0 {
				return nil, fmt.Errorf("unterminated %c in %q", c, line)
			}
			cur.WriteString(line[i+1 : i+1+j])
			i += j + 1
			inWord = true
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		out = append(out, cur.String())
	}
	return out, nil
}
