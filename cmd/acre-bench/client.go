package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// client is a minimal OCI distribution client for pushing and pulling.
type client struct {
	base  *url.URL
	hc    *http.Client
	mode  string // monolithic, post-put or chunked
	chunk int64  // PATCH size in chunked mode
}

func newClient(base *url.URL, mode string, chunk int64, conns int) *client {
	tr := &http.Transport{
		Proxy:               nil,
		MaxIdleConns:        conns * 2,
		MaxIdleConnsPerHost: conns * 2,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
		WriteBufferSize:     256 << 10,
		ReadBufferSize:      256 << 10,
	}
	return &client{base: base, hc: &http.Client{Transport: tr}, mode: mode, chunk: chunk}
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

func (c *client) url(path string) string { return c.base.JoinPath(path).String() }

// do sends req and fails unless the status is want; the caller closes the
// body of a successful response.
func (c *client) do(req *http.Request, want int) (*http.Response, error) {
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != want {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		resp.Body.Close()
		return nil, &statusError{req.Method, req.URL.String(), resp.StatusCode, want, strings.TrimSpace(string(b))}
	}
	return resp, nil
}

// send does a request whose response body does not matter.
func (c *client) send(ctx context.Context, method, u string, body io.Reader, size int64, want int) (http.Header, error) {
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.ContentLength = size
		req.Header.Set("Content-Type", "application/octet-stream")
	}
	resp, err := c.do(req, want)
	if err != nil {
		return nil, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.Header, nil
}

// location resolves an upload session's Location and adds query parameters.
func (c *client) location(h http.Header, q url.Values) (string, error) {
	loc, err := c.base.Parse(h.Get("Location"))
	if err != nil || h.Get("Location") == "" {
		return "", fmt.Errorf("bad upload Location %q", h.Get("Location"))
	}
	v := loc.Query()
	for k, vs := range q {
		v[k] = vs
	}
	loc.RawQuery = v.Encode()
	return loc.String(), nil
}

func checkDigestHeader(h http.Header, want, what string) error {
	if got := h.Get("Docker-Content-Digest"); got != want {
		return fmt.Errorf("%s: Docker-Content-Digest %q, want %q", what, got, want)
	}
	return nil
}

// pushBlob uploads size bytes from body as blob d of repo, in the client's
// upload mode. body is read exactly once.
func (c *client) pushBlob(ctx context.Context, repo, d string, size int64, body io.Reader) error {
	start := c.url("/v2/" + repo + "/blobs/uploads/")
	if c.mode == "monolithic" {
		h, err := c.send(ctx, http.MethodPost, start+"?digest="+url.QueryEscape(d), body, size, http.StatusCreated)
		if err != nil {
			return err
		}
		return checkDigestHeader(h, d, "monolithic upload")
	}
	h, err := c.send(ctx, http.MethodPost, start, nil, 0, http.StatusAccepted)
	if err != nil {
		return err
	}
	if c.mode == "chunked" {
		for off := int64(0); off < size; {
			n := min(c.chunk, size-off)
			u, err := c.location(h, nil)
			if err != nil {
				return err
			}
			req, err := http.NewRequestWithContext(ctx, http.MethodPatch, u, io.LimitReader(body, n))
			if err != nil {
				return err
			}
			req.ContentLength = n
			req.Header.Set("Content-Type", "application/octet-stream")
			req.Header.Set("Content-Range", fmt.Sprintf("%d-%d", off, off+n-1))
			resp, err := c.do(req, http.StatusAccepted)
			if err != nil {
				return err
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			h = resp.Header
			off += n
		}
		body, size = nil, 0
	}
	u, err := c.location(h, url.Values{"digest": {d}})
	if err != nil {
		return err
	}
	if body == nil {
		body = http.NoBody
	}
	h, err = c.send(ctx, http.MethodPut, u, body, size, http.StatusCreated)
	if err != nil {
		return err
	}
	return checkDigestHeader(h, d, "upload commit")
}

// mountBlob mounts blob d from repository from into repo; a 202 (the
// registry opened an upload session instead) is an error.
func (c *client) mountBlob(ctx context.Context, repo, from, d string) error {
	u := c.url("/v2/"+repo+"/blobs/uploads/") + "?" + url.Values{"mount": {d}, "from": {from}}.Encode()
	h, err := c.send(ctx, http.MethodPost, u, nil, 0, http.StatusCreated)
	if err != nil {
		return err
	}
	return checkDigestHeader(h, d, "mount")
}

// putManifest stores an OCI image manifest under tag.
func (c *client) putManifest(ctx context.Context, repo, tag string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, c.url("/v2/"+repo+"/manifests/"+tag), bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", mediaManifest)
	resp, err := c.do(req, http.StatusCreated)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return checkDigestHeader(resp.Header, digestOf(body), "manifest put")
}

// getManifest fetches a manifest and checks its digest against want (and
// the Docker-Content-Digest header), when want is set.
func (c *client) getManifest(ctx context.Context, repo, ref, want string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.url("/v2/"+repo+"/manifests/"+ref), nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", mediaManifest)
	resp, err := c.do(req, http.StatusOK)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if want != "" {
		if got := digestOf(b); got != want {
			return nil, fmt.Errorf("GET manifest %s:%s: body digest %s, want %s", repo, ref, got, want)
		}
		if err := checkDigestHeader(resp.Header, want, "manifest get"); err != nil {
			return nil, err
		}
	}
	return b, nil
}

// headManifest checks a manifest's existence, size and digest.
func (c *client) headManifest(ctx context.Context, repo, ref, want string, size int64) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, c.url("/v2/"+repo+"/manifests/"+ref), nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", mediaManifest)
	resp, err := c.do(req, http.StatusOK)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.ContentLength != size {
		return fmt.Errorf("HEAD manifest %s:%s: Content-Length %d, want %d", repo, ref, resp.ContentLength, size)
	}
	return checkDigestHeader(resp.Header, want, "manifest head")
}

// pullBlob streams blob d of repo, verifying size and sha256 as it reads.
func (c *client) pullBlob(ctx context.Context, repo, d string, size int64, buf []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.url("/v2/"+repo+"/blobs/"+d), nil)
	if err != nil {
		return err
	}
	resp, err := c.do(req, http.StatusOK)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	n, got, err := hashBody(resp.Body, size, buf)
	if err != nil {
		return fmt.Errorf("GET blob %s after %d bytes: %w", d, n, err)
	}
	if n != size {
		return fmt.Errorf("GET blob %s: %d bytes, want %d (Content-Length %d)", d, n, size, resp.ContentLength)
	}
	if got != d {
		return fmt.Errorf("GET blob %s: content digest %s", d, got)
	}
	return nil
}
