package webhook

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// TestProxy: the forward proxy reaches what the Guard allows (plain
// requests and CONNECT tunnels), refuses the rest with 403 and the reason,
// and dials Pass destinations without the Guard.
func TestProxy(t *testing.T) {
	hello := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "hello "+r.URL.Path) })
	allowed, refused, passed := httptest.NewServer(hello), httptest.NewServer(hello), httptest.NewServer(hello)
	tlsAllowed := httptest.NewTLSServer(hello)
	for _, s := range []*httptest.Server{allowed, refused, passed, tlsAllowed} {
		defer s.Close()
	}
	host := func(s *httptest.Server) string { u, _ := url.Parse(s.URL); return u.Host }
	g, err := NewGuardFor("tasks.allow", []string{host(allowed), host(tlsAllowed)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	p := httptest.NewServer(&Proxy{Guard: g, Pass: func(hp string) bool { return hp == host(passed) }})
	defer p.Close()
	pu, _ := url.Parse(p.URL)
	tr := tlsAllowed.Client().Transport.(*http.Transport).Clone()
	tr.Proxy = http.ProxyURL(pu)
	c := &http.Client{Transport: tr}
	get := func(u string) (string, error) {
		resp, err := c.Get(u)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.Status + " " + string(b), nil
	}
	for _, tc := range []struct {
		url, want string
	}{
		{allowed.URL + "/a", "200 OK hello /a"},
		{passed.URL + "/p", "200 OK hello /p"},
		{tlsAllowed.URL + "/t", "200 OK hello /t"},
		{refused.URL + "/r", "403 acre refused " + host(refused) + ": destination refused: " + host(refused) + " is a loopback address"},
	} {
		got, err := get(tc.url)
		if err != nil || !strings.HasPrefix(got, tc.want) {
			t.Errorf("GET %s through the proxy: %q, %v; want %q", tc.url, got, err, tc.want)
		}
	}
	// A refused tunnel: the client reports the status text.
	_, err = get(strings.Replace(refused.URL, "http://", "https://", 1))
	if err == nil || !strings.Contains(err.Error(), "loopback") || !strings.Contains(err.Error(), "tasks.allow") {
		t.Errorf("CONNECT to a refused address: %v", err)
	}
	// Not a proxy request.
	resp, err := http.Get(p.URL + "/x")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("a relative request: %s", resp.Status)
	}
}
