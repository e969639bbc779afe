//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
)

// TestHostRouting checks that registries are isolated: a request is routed
// by its Host header to the registry whose login server it names, and a
// plain address reaches the default registry.
func TestHostRouting(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "acre.yaml")
	if err := os.WriteFile(cfg, []byte("domain: acre.test\nregistries:\n  - name: prod\n    sku: Premium\n  - name: dev\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	a := StartAcre(t, "", "--config", cfg)
	_, port, _ := net.SplitHostPort(a.Addr)
	// Every host name resolves to the server's loopback address.
	dial := func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, a.Addr)
	}
	hc := &http.Client{Transport: &http.Transport{DialContext: dial}}
	push := func(host string, img testImage) {
		c := &pushClient{base: "http://" + host + ":" + port, user: a.User, pass: a.Password, hc: hc}
		if err := c.push(context.Background(), img); err != nil {
			t.Fatalf("push to %s: %v", host, err)
		}
	}
	status := func(host, path string) int {
		req, _ := http.NewRequest(http.MethodGet, "http://"+host+":"+port+path, nil)
		req.SetBasicAuth(a.User, a.Password)
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	img := randomImage("app", "v1", 1, 1024)
	push("prod.acre.test", img)
	tests := []struct {
		host string
		want int
	}{
		{"prod.acre.test", 200},
		{"PROD.acre.test", 200},
		{"dev.acre.test", 404},
		{"acre.acre.test", 404},
		{"127.0.0.1", 404}, // the default registry
	}
	for _, tt := range tests {
		t.Run(tt.host, func(t *testing.T) {
			if got := status(tt.host, "/v2/app/manifests/v1"); got != tt.want {
				t.Fatalf("manifest via %s: %d, want %d", tt.host, got, tt.want)
			}
			for d := range img.Blobs {
				if got := status(tt.host, "/v2/app/blobs/"+d.String()); got != tt.want {
					t.Fatalf("blob via %s: %d, want %d", tt.host, got, tt.want)
				}
			}
		})
	}
	// A mount without "from" never reaches into another registry.
	c := &pushClient{base: "http://dev.acre.test:" + port, user: a.User, pass: a.Password, hc: hc}
	for d := range img.Blobs {
		resp, _, err := c.do(context.Background(), http.MethodPost, "/v2/steal/blobs/uploads/?mount="+d.String(), nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != http.StatusAccepted {
			t.Fatalf("cross-registry mount: %d, want 202 (an upload instead)", resp.StatusCode)
		}
	}
}

// TestHealthAndGracefulShutdown checks /healthz and /readyz, and that an
// upload cut short by a graceful stop resumes after a restart.
func TestHealthAndGracefulShutdown(t *testing.T) {
	data := t.TempDir()
	a := StartAcre(t, data)
	for _, p := range []string{"/healthz", "/readyz"} {
		if code, body := Get(t, a.AnonURL(p)); code != 200 {
			t.Fatalf("%s: %d %s", p, code, body)
		}
	}
	c := newPushClient(a)
	ctx := context.Background()
	resp, _, err := c.do(ctx, http.MethodPost, "/v2/resume/blobs/uploads/", nil, nil)
	if err != nil || resp.StatusCode != 202 {
		t.Fatalf("start upload: %v %v", resp, err)
	}
	loc := resp.Header.Get("Location")
	first, second := bytes.Repeat([]byte("a"), 100000), bytes.Repeat([]byte("b"), 50000)
	resp, _, err = c.do(ctx, http.MethodPatch, loc, first, map[string]string{"Content-Range": "0-99999"})
	if err != nil || resp.StatusCode != 202 {
		t.Fatalf("patch: %v %v", resp, err)
	}
	loc = resp.Header.Get("Location") // the session holding bytes, as clients follow it
	a.Stop(t)
	if !strings.Contains(a.Logs(), "shutting down") {
		t.Fatalf("no graceful shutdown in logs:\n%s", tail(a.Logs(), 10))
	}

	a = StartAcre(t, data)
	c = newPushClient(a)
	resp, _, err = c.do(ctx, http.MethodGet, loc, nil, nil)
	if err != nil || resp.StatusCode != 204 || resp.Header.Get("Range") != "0-99999" {
		t.Fatalf("status after restart: %v %v", resp, err)
	}
	resp, _, err = c.do(ctx, http.MethodPatch, loc, second, map[string]string{"Content-Range": "100000-149999"})
	if err != nil || resp.StatusCode != 202 {
		t.Fatalf("resume: %v %v", resp, err)
	}
	d := digest.FromBytes(append(first, second...))
	resp, _, err = c.do(ctx, http.MethodPut, loc+"?digest="+d.String(), nil, nil)
	if err != nil || resp.StatusCode != 201 {
		t.Fatalf("commit: %v %v", resp, err)
	}
	code, body := Get(t, a.URL("/v2/resume/blobs/"+d.String()))
	if code != 200 || digest.FromBytes(body) != d {
		t.Fatalf("resumed blob: %d, %d bytes", code, len(body))
	}
}

// TestTLS serves HTTPS with a certificate from the configuration.
func TestTLS(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	writeSelfSigned(t, certFile, keyFile)
	a := StartAcre(t, "", "--tls-cert", certFile, "--tls-key", keyFile)
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	req, _ := http.NewRequest(http.MethodGet, "https://"+a.Addr+"/v2/", nil)
	req.SetBasicAuth(a.User, a.Password)
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.TLS == nil {
		t.Fatalf("https /v2/: %d %s", resp.StatusCode, body)
	}
	home := t.TempDir()
	env := []string{"HOME=" + home, "DOCKER_CONFIG=" + home}
	Run(t, env, Tool(t, "crane"), "auth", "login", "--insecure", a.Addr, "-u", a.User, "-p", a.Password)
	out := Run(t, env, Tool(t, "crane"), "catalog", "--insecure", a.Addr)
	if strings.TrimSpace(out) != "" {
		t.Fatalf("catalog of an empty registry: %q", out)
	}
}

func writeSelfSigned(t *testing.T, certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, DNSNames: []string{"localhost"}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestBadConfig checks that acre refuses a configuration it does not understand.
func TestBadConfig(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, yaml, want string
	}{
		{"unknown key", "adress: 1.2.3.4:5\n", "field adress not found"},
		{"bad value", "log:\n  format: xml\n", "log.format"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "_")+".yaml")
			if err := os.WriteFile(p, []byte(tt.yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			out, err := RunErr(nil, acreBin, "serve", "--config", p, "--data", filepath.Join(dir, "data"))
			if err == nil || !strings.Contains(out, tt.want) {
				t.Fatalf("acre serve with %s: err %v, output %q", tt.name, err, out)
			}
		})
	}
}

// TestAuthFlag checks that --auth=false turns authentication off and that
// --auth (or nothing) keeps it on.
func TestAuthFlag(t *testing.T) {
	tests := []struct {
		args []string
		want int
	}{
		{nil, 401},
		{[]string{"--auth"}, 401},
		{[]string{"--auth=true"}, 401},
		{[]string{"--auth=false"}, 200},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.args), func(t *testing.T) {
			a := StartAcre(t, "", tt.args...)
			if code, _ := Get(t, a.AnonURL("/v2/")); code != tt.want {
				t.Fatalf("/v2/ without credentials: %d, want %d", code, tt.want)
			}
		})
	}
}
