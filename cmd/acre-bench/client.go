package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"
)

// client is a minimal OCI distribution client for pushing and pulling.
type client struct {
	base  *url.URL
	more  []*url.URL    // with several nodes: every base, used in turn
	next  atomic.Uint64 // the next of more
	hc    *http.Client
	auth  *authenticator
	mode  string // monolithic, post-put or chunked
	chunk int64  // PATCH size in chunked mode
}

func newClient(base *url.URL, mode string, chunk int64, conns int, auth *authenticator) *client {
	tr := &http.Transport{
		Proxy:               nil,
		MaxIdleConns:        conns * 2,
		MaxIdleConnsPerHost: conns * 2,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
		WriteBufferSize:     256 << 10,
		ReadBufferSize:      256 << 10,
	}
	hc := &http.Client{Transport: tr}
	auth.hc = hc
	return &client{base: base, hc: hc, auth: auth, mode: mode, chunk: chunk}
}

// statusError is a response with an unexpected status.
type statusError struct {
	method, url  string
	status, want int
	body         string
}

func (e *statusError) Error() string {
	return fmt.Sprintf("%s %s: status %d, want %d: %s", e.method, e.url, e.status, e.want, e.body)
}

// url joins path to a base URL: with several nodes, each request goes to
// the next node in turn (as a round-robin load balancer would send it).
func (c *client) url(path string) string {
	if len(c.more) > 1 {
		return c.more[c.next.Add(1)%uint64(len(c.more))].JoinPath(path).String()
	}
	return c.base.JoinPath(path).String()
}

// blobSource gives independent readers over byte ranges of a blob, so that
// a request body can be sent again and chunks cut without copying.
type blobSource interface {
	section(off, n int64) io.Reader
}

type memBlob []byte

func (m memBlob) section(off, n int64) io.Reader { return bytes.NewReader(m[off : off+n]) }

// newRequest builds a request whose body (when src is set) is bytes
// [off, off+n) of src, and can be produced again for a retry.
func newRequest(ctx context.Context, method, u string, src blobSource, off, n int64) (*http.Request, error) {
	if src == nil || n == 0 {
		return http.NewRequestWithContext(ctx, method, u, nil)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, src.section(off, n))
	if err != nil {
		return nil, err
	}
	req.ContentLength = n
	req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(src.section(off, n)), nil }
	req.Header.Set("Content-Type", "application/octet-stream")
	return req, nil
}

func drain(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
}

// do sends req with credentials for scopes and fails unless the status is
// want; the caller closes the body of a successful response. In bearer
// mode a 401 renews the token once, with the challenge's scope, and the
// request is sent again when its body can be.
func (c *client) do(req *http.Request, want int, scopes []string) (*http.Response, error) {
	used, err := c.auth.authorize(req, scopes)
	if err != nil {
		return nil, err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode == http.StatusUnauthorized && want != http.StatusUnauthorized && c.auth.mode == authBearer &&
		(req.Body == nil || req.Body == http.NoBody || req.GetBody != nil) {
		challenge := resp.Header.Get("WWW-Authenticate")
		drain(resp)
		if err := c.auth.renew(req.Context(), scopes, used, challenge); err != nil {
			return nil, fmt.Errorf("%s %s: 401, renewing the token: %w", req.Method, req.URL, err)
		}
		retry := req.Clone(req.Context())
		if req.GetBody != nil {
			if retry.Body, err = req.GetBody(); err != nil {
				return nil, err
			}
		}
		if _, err := c.auth.authorize(retry, scopes); err != nil {
			return nil, err
		}
		if resp, err = c.hc.Do(retry); err != nil {
			return nil, err
		}
	}
	if resp.StatusCode != want {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		resp.Body.Close()
		return nil, &statusError{req.Method, req.URL.String(), resp.StatusCode, want, strings.TrimSpace(string(b))}
	}
	return resp, nil
}

// send does a request whose response body does not matter.
func (c *client) send(req *http.Request, want int, scopes []string) (http.Header, error) {
	resp, err := c.do(req, want, scopes)
	if err != nil {
		return nil, err
	}
	drain(resp)
	return resp.Header, nil
}

// probe asks /v2/ without credentials: it reports whether the registry
// demands authentication, and learns the token realm from its challenge.
func (c *client) probe(ctx context.Context) (bool, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.url("/v2/"), nil)
	if err != nil {
		return false, err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return false, err
	}
	drain(resp)
	switch resp.StatusCode {
	case http.StatusOK:
		return false, nil
	case http.StatusUnauthorized:
		if p, ok := parseChallenge(resp.Header.Get("WWW-Authenticate")); ok {
			c.auth.setRealm(p["realm"], p["service"])
		}
		return true, nil
	}
	return false, fmt.Errorf("GET /v2/: status %d", resp.StatusCode)
}

// check probes the registry, makes sure its authentication matches the
// client's mode, and signs in to /v2/.
func (c *client) check(ctx context.Context) error {
	challenged, err := c.probe(ctx)
	switch {
	case err != nil:
		return err
	case c.auth.mode == authNone && challenged:
		return fmt.Errorf("the registry requires authentication (GET /v2/ answered 401); use --auth=bearer or --auth=basic")
	case c.auth.mode != authNone && !challenged:
		return fmt.Errorf("the registry answered GET /v2/ without credentials, so its authentication is off; use --auth=none")
	case c.auth.mode == authNone:
		return nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.url("/v2/"), nil)
	if err != nil {
		return err
	}
	_, err = c.send(req, http.StatusOK, nil)
	return err
}
