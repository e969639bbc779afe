package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Exit codes a script can trust (as az's).
const (
	exitOK       = 0
	exitError    = 1 // the request failed
	exitUsage    = 2 // the command line is wrong
	exitNotFound = 3 // the resource does not exist
	exitAuth     = 4 // not signed in, or the session expired
)

// usageError marks a mistake on the command line.
type usageError struct{ error }

// apiError is an error answer of the management API.
type apiError struct {
	Status  int
	Code    string
	Message string
}

func (e *apiError) Error() string {
	if e.Status == http.StatusUnauthorized {
		return e.Message + " (sign in with `acre account login`)"
	}
	return e.Message
}

// exitCode maps an error to the process exit code.
func exitCode(err error) int {
	var ue usageError
	var ae *apiError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &ue):
		return exitUsage
	case errors.As(err, &ae) && ae.Status == http.StatusNotFound:
		return exitNotFound
	case errors.As(err, &ae) && ae.Status == http.StatusUnauthorized, errors.Is(err, errNoSession):
		return exitAuth
	}
	return exitError
}

// profile is what `acre account login` saves (0600, in the user's config dir).
type profile struct {
	Server  string    `json:"server"`
	User    string    `json:"user"`
	Token   string    `json:"token"`
	Expires time.Time `json:"expires"`
}

var errNoSession = errors.New("not signed in: run `acre account login --server URL --username NAME`")

// profilePath is where the profile lives: $ACRE_CONFIG_DIR or the user config dir.
func profilePath() (string, error) {
	dir := os.Getenv("ACRE_CONFIG_DIR")
	if dir == "" {
		base, err := os.UserConfigDir()
		if err != nil {
			return "", err
		}
		dir = filepath.Join(base, "acre")
	}
	return filepath.Join(dir, "profile.json"), nil
}

func loadProfile() (*profile, error) {
	p, err := profilePath()
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) {
		return &profile{}, nil
	}
	if err != nil {
		return nil, err
	}
	var pr profile
	if err := json.Unmarshal(b, &pr); err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	return &pr, nil
}

func saveProfile(pr *profile) error {
	p, err := profilePath()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return err
	}
	b, err := json.MarshalIndent(pr, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(p, b, 0o600)
}

// writeFileAtomic writes via a temporary file and a rename, with mode.
func writeFileAtomic(path string, b []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// client calls the management API as the signed-in identity.
type client struct {
	server string
	token  string
	hc     *http.Client
}

// globals are the flags every client command has.
type globals struct {
	server string
	out    output
}

// client returns an API client: the server from --server, $ACRE_SERVER or
// the profile; the session from the profile (or $ACRE_TOKEN).
func (g *globals) client() (*client, error) {
	pr, err := loadProfile()
	if err != nil {
		return nil, err
	}
	server := g.server
	if server == "" {
		server = os.Getenv("ACRE_SERVER")
	}
	if server == "" {
		server = pr.Server
	}
	if server == "" {
		return nil, errNoSession
	}
	token := os.Getenv("ACRE_TOKEN")
	if token == "" && strings.TrimRight(server, "/") == strings.TrimRight(pr.Server, "/") {
		token = pr.Token
	}
	if token == "" {
		return nil, errNoSession
	}
	return &client{server: strings.TrimRight(server, "/"), token: token, hc: &http.Client{Timeout: 2 * time.Minute}}, nil
}

// do sends a JSON request and decodes a JSON answer into out (if not nil).
func (c *client) do(ctx context.Context, method, path string, in, out any) error {
	_, err := c.doHeader(ctx, method, path, in, out)
	return err
}

// all GETs a paged list, following its Link rel="next" headers, and
// returns every item.
func (c *client) all(ctx context.Context, path string) ([]any, error) {
	out := []any{}
	for path != "" {
		var page []any
		h, err := c.doHeader(ctx, http.MethodGet, path, nil, &page)
		if err != nil {
			return nil, err
		}
		out = append(out, page...)
		path = nextLink(h.Get("Link"))
	}
	return out, nil
}

// doHeader is do that also returns the answer's headers.
func (c *client) doHeader(ctx context.Context, method, path string, in, out any) (http.Header, error) {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return nil, err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.server+path, body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	return resp.Header, decodeAnswer(resp, out)
}

func decodeAnswer(resp *http.Response, out any) error {
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		var e struct {
			Error struct{ Code, Message string }
		}
		if json.Unmarshal(b, &e) != nil || e.Error.Message == "" {
			e.Error.Message = fmt.Sprintf("%s: %s", resp.Status, strings.TrimSpace(string(b)))
		}
		return &apiError{Status: resp.StatusCode, Code: e.Error.Code, Message: e.Error.Message}
	}
	if out == nil || len(b) == 0 {
		return nil
	}
	return json.Unmarshal(b, out)
}

// pathEscape escapes one path segment.
func pathEscape(s string) string { return url.PathEscape(s) }
