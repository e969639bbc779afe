package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
)

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

// checkDigestHeader fails when the response names another digest than
// want. The OCI distribution spec does not require the header (olareg
// leaves it out); the pull phases verify every digest in any case.
func checkDigestHeader(h http.Header, want, what string) error {
	if got := h.Get("Docker-Content-Digest"); got != "" && got != want {
		return fmt.Errorf("%s: Docker-Content-Digest %q, want %q", what, got, want)
	}
	return nil
}

// pushBlob uploads the size bytes of src as blob d of repo, in the
// client's upload mode.
func (c *client) pushBlob(ctx context.Context, repo, d string, size int64, src blobSource) error {
	scope := pushScope(repo)
	start := c.url("/v2/" + repo + "/blobs/uploads/")
	if c.mode == "monolithic" {
		req, err := newRequest(ctx, http.MethodPost, start+"?digest="+url.QueryEscape(d), src, 0, size)
		if err != nil {
			return err
		}
		h, err := c.send(req, http.StatusCreated, scope)
		if err != nil {
			return err
		}
		return checkDigestHeader(h, d, "monolithic upload")
	}
	req, err := newRequest(ctx, http.MethodPost, start, nil, 0, 0)
	if err != nil {
		return err
	}
	h, err := c.send(req, http.StatusAccepted, scope)
	if err != nil {
		return err
	}
	put := size // bytes the final PUT carries
	if c.mode == "chunked" {
		for off := int64(0); off < size; {
			n := min(c.chunk, size-off)
			u, err := c.location(h, nil)
			if err != nil {
				return err
			}
			req, err := newRequest(ctx, http.MethodPatch, u, src, off, n)
			if err != nil {
				return err
			}
			req.Header.Set("Content-Range", fmt.Sprintf("%d-%d", off, off+n-1))
			if h, err = c.send(req, http.StatusAccepted, scope); err != nil {
				return err
			}
			off += n
		}
		put = 0
	}
	u, err := c.location(h, url.Values{"digest": {d}})
	if err != nil {
		return err
	}
	if req, err = newRequest(ctx, http.MethodPut, u, src, size-put, put); err != nil {
		return err
	}
	if h, err = c.send(req, http.StatusCreated, scope); err != nil {
		return err
	}
	return checkDigestHeader(h, d, "upload commit")
}

// mountBlob mounts blob d from repository from into repo; a 202 (the
// registry opened an upload session instead) is an error.
func (c *client) mountBlob(ctx context.Context, repo, from, d string) error {
	u := c.url("/v2/"+repo+"/blobs/uploads/") + "?" + url.Values{"mount": {d}, "from": {from}}.Encode()
	req, err := newRequest(ctx, http.MethodPost, u, nil, 0, 0)
	if err != nil {
		return err
	}
	h, err := c.send(req, http.StatusCreated, append(pushScope(repo), pullScope(from)...))
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
	h, err := c.send(req, http.StatusCreated, pushScope(repo))
	if err != nil {
		return err
	}
	return checkDigestHeader(h, digestOf(body), "manifest put")
}

// getManifest fetches a manifest and checks its digest against want (and
// the Docker-Content-Digest header), when want is set.
func (c *client) getManifest(ctx context.Context, repo, ref, want string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.url("/v2/"+repo+"/manifests/"+ref), nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", mediaManifest)
	resp, err := c.do(req, http.StatusOK, pullScope(repo))
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
	resp, err := c.do(req, http.StatusOK, pullScope(repo))
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
	resp, err := c.do(req, http.StatusOK, pullScope(repo))
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
