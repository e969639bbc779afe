package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// dataPlane calls a registry's /v2/ and /acr/v1/ APIs as the signed-in
// identity, through the same token flow other clients use.
type dataPlane struct {
	c           *client
	loginServer string
	refresh     string
	tokens      map[string]string // scope -> access token
}

// dataPlane signs in to registry name.
func (g *globals) dataPlane(ctx context.Context, name string) (*dataPlane, error) {
	c, err := g.client()
	if err != nil {
		return nil, err
	}
	var reg struct {
		LoginServer string `json:"loginServer"`
	}
	if err := c.do(ctx, http.MethodGet, "/api/v1/registries/"+pathEscape(name), nil, &reg); err != nil {
		return nil, err
	}
	var tok struct {
		RefreshToken string `json:"refresh_token"`
	}
	form := url.Values{"grant_type": {"access_token"}, "service": {reg.LoginServer}, "access_token": {c.token}}
	if err := c.postForm(ctx, "/oauth2/exchange", form, &tok); err != nil {
		return nil, err
	}
	return &dataPlane{c: c, loginServer: reg.LoginServer, refresh: tok.RefreshToken, tokens: map[string]string{}}, nil
}

func (c *client) postForm(ctx context.Context, path string, form url.Values, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.server+path, strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := c.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return decodeTokenAnswer(resp, out)
}

// token returns an access token for scope.
func (d *dataPlane) token(ctx context.Context, scope string) (string, error) {
	if t, ok := d.tokens[scope]; ok {
		return t, nil
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	form := url.Values{"grant_type": {"refresh_token"}, "service": {d.loginServer}, "scope": {scope}, "refresh_token": {d.refresh}}
	if err := d.c.postForm(ctx, "/oauth2/token", form, &tok); err != nil {
		return "", err
	}
	d.tokens[scope] = tok.AccessToken
	return tok.AccessToken, nil
}

// do sends a request to the registry (routed by its login server) with an
// access token for scope; it decodes a JSON answer into out and returns
// the response headers.
func (d *dataPlane) do(ctx context.Context, method, path, scope string, in, out any) (http.Header, error) {
	resp, err := d.send(ctx, method, path, scope, in, "application/json")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			return nil, fmt.Errorf("%s %s: %w", method, path, err)
		}
	}
	return resp.Header, nil
}

// raw GETs path with an Accept header and returns the body as sent.
func (d *dataPlane) raw(ctx context.Context, path, scope, accept string) ([]byte, http.Header, error) {
	resp, err := d.send(ctx, http.MethodGet, path, scope, nil, accept)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	return b, resp.Header, err
}

// send sends one request and turns an error answer into an apiError.
func (d *dataPlane) send(ctx context.Context, method, path, scope string, in any, accept string) (*http.Response, error) {
	tok, err := d.token(ctx, scope)
	if err != nil {
		return nil, err
	}
	body := strings.NewReader("")
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return nil, err
		}
		body = strings.NewReader(string(b))
	}
	req, err := http.NewRequestWithContext(ctx, method, d.c.server+path, body)
	if err != nil {
		return nil, err
	}
	req.Host = d.loginServer
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Accept", accept)
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := d.c.hc.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode >= 300 {
		defer resp.Body.Close()
		return nil, ociError(resp)
	}
	return resp, nil
}

// pages follows the relative Link header of an /acr/v1/ listing, calling
// each with every page's items, until top items were seen (0: all).
func (d *dataPlane) pages(ctx context.Context, path, scope, field string, top int, each func(json.RawMessage)) error {
	seen := 0
	for path != "" {
		var page map[string]json.RawMessage
		hdr, err := d.do(ctx, http.MethodGet, path, scope, nil, &page)
		if err != nil {
			return err
		}
		var items []json.RawMessage
		if err := json.Unmarshal(page[field], &items); err != nil && page[field] != nil {
			return err
		}
		for _, it := range items {
			if top > 0 && seen >= top {
				return nil
			}
			each(it)
			seen++
		}
		path = nextLink(hdr.Get("Link"))
	}
	return nil
}

// collect gathers up to top items (0: all) of an /acr/v1/ listing,
// decoded as T, following its pages.
func collect[T any](ctx context.Context, d *dataPlane, path, scope, field string, top int) ([]T, error) {
	out := []T{}
	var bad error
	err := d.pages(ctx, path, scope, field, top, func(m json.RawMessage) {
		var item T
		if err := json.Unmarshal(m, &item); err != nil && bad == nil {
			bad = fmt.Errorf("%s: %w", field, err)
		}
		out = append(out, item)
	})
	if err != nil {
		return nil, err
	}
	return out, bad
}

// nextLink extracts the target of a Link: <...>; rel="next" header.
func nextLink(h string) string {
	i, j := strings.Index(h, "<"), strings.Index(h, ">")
	if i < 0 || j < i || !strings.Contains(h, `rel="next"`) {
		return ""
	}
	return h[i+1 : j]
}

// splitImage parses repo:tag or repo@digest; a bare repo means its
// latest tag, as az has it.
func splitImage(image string) (repo, tag, dg string, err error) {
	if r, d, ok := strings.Cut(image, "@"); ok {
		if r == "" || d == "" {
			return "", "", "", usageError{fmt.Errorf("--image %q: want REPOSITORY[:TAG] or REPOSITORY@DIGEST", image)}
		}
		return r, "", d, nil
	}
	i := strings.LastIndex(image, ":")
	if i < 0 || strings.Contains(image[i:], "/") {
		if image == "" {
			return "", "", "", usageError{fmt.Errorf("--image: want REPOSITORY[:TAG] or REPOSITORY@DIGEST")}
		}
		return image, "latest", "", nil
	}
	if i == 0 || i == len(image)-1 {
		return "", "", "", usageError{fmt.Errorf("--image %q: want REPOSITORY[:TAG] or REPOSITORY@DIGEST", image)}
	}
	return image[:i], image[i+1:], "", nil
}

// ociError is an error answer in the OCI format (/v2/, /acr/v1/, /oauth2/)
// as the CLI reports it: the first error's message, else the status.
func ociError(resp *http.Response) *apiError {
	var e struct {
		Errors []struct{ Code, Message string }
	}
	_ = json.NewDecoder(resp.Body).Decode(&e)
	msg := resp.Status
	if len(e.Errors) > 0 {
		msg = e.Errors[0].Message
	}
	return &apiError{Status: resp.StatusCode, Message: msg}
}
