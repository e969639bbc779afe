package webapps

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// ErrPullDenied marks a pull the registry refused for lack of permission.
var ErrPullDenied = errors.New("pull denied")

// ImageRef is a parsed image reference host/repository[:tag|@digest].
type ImageRef struct {
	Host, Repository, Reference string
}

func (r ImageRef) String() string {
	if strings.HasPrefix(r.Reference, "sha256:") {
		return r.Host + "/" + r.Repository + "@" + r.Reference
	}
	return r.Host + "/" + r.Repository + ":" + r.Reference
}

// ParseImageRef parses a fully qualified image name; the registry host is
// required (acre pulls from no default registry).
func ParseImageRef(s string) (ImageRef, error) {
	host, rest, ok := strings.Cut(s, "/")
	if !ok || rest == "" || !(strings.ContainsAny(host, ".:") || host == "localhost") {
		return ImageRef{}, fmt.Errorf("image %q: use <registry host>/<repository>[:tag|@digest]", s)
	}
	r := ImageRef{Host: host}
	if repo, dg, ok := strings.Cut(rest, "@"); ok {
		r.Repository, r.Reference = repo, dg
	} else if i := strings.LastIndex(rest, ":"); i > strings.LastIndex(rest, "/") {
		r.Repository, r.Reference = rest[:i], rest[i+1:]
	} else {
		r.Repository, r.Reference = rest, "latest"
	}
	if r.Repository == "" || r.Reference == "" || strings.ContainsAny(r.Repository, " \t") {
		return ImageRef{}, fmt.Errorf("image %q: use <registry host>/<repository>[:tag|@digest]", s)
	}
	return r, nil
}

// Credentials authenticate a pull; both empty for anonymous. PlainHTTP
// pulls over http (the registry URL the user gave says so).
type Credentials struct {
	Username, Password string
	PlainHTTP          bool
}

// ImageConfig is the part of an image's configuration a web app uses.
type ImageConfig struct {
	Entrypoint   []string            `json:"Entrypoint"`
	Cmd          []string            `json:"Cmd"`
	Env          []string            `json:"Env"`
	WorkingDir   string              `json:"WorkingDir"`
	User         string              `json:"User"`
	ExposedPorts map[string]struct{} `json:"ExposedPorts"`
}

// Image is a pulled image, unpacked.
type Image struct {
	Digest string // of the manifest (the platform's, for an index)
	Dir    string // the unpacked root filesystem
	Config ImageConfig
}

// Puller pulls images over the distribution API and unpacks them into a
// cache by manifest digest. Layers are streamed: verified and extracted as
// they arrive, never held whole.
type Puller struct {
	Client *http.Client
	Cache  string
	// Scheme returns "http" or "https" for a registry host.
	Scheme func(host string) string
}

const (
	mtIndex       = "application/vnd.oci.image.index.v1+json"
	mtDockerList  = "application/vnd.docker.distribution.manifest.list.v2+json"
	mtManifest    = "application/vnd.oci.image.manifest.v1+json"
	mtDockerImage = "application/vnd.docker.distribution.manifest.v2+json"
)

type descriptor struct {
	MediaType string `json:"mediaType"`
	Digest    string `json:"digest"`
	Size      int64  `json:"size"`
	Platform  *struct {
		OS           string `json:"os"`
		Architecture string `json:"architecture"`
	} `json:"platform"`
}

type manifestDoc struct {
	MediaType string       `json:"mediaType"`
	Config    descriptor   `json:"config"`
	Layers    []descriptor `json:"layers"`
	Manifests []descriptor `json:"manifests"`
}

// Pull resolves ref, and unpacks the image unless the cache holds it.
func (p *Puller) Pull(ctx context.Context, ref ImageRef, cred Credentials) (*Image, error) {
	s := &session{p: p, ref: ref, cred: cred}
	body, mt, dg, err := s.manifest(ctx, ref.Reference)
	if err != nil {
		return nil, err
	}
	var m manifestDoc
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, fmt.Errorf("manifest of %s: %w", ref, err)
	}
	if mt == mtIndex || mt == mtDockerList || len(m.Manifests) > 0 {
		var pick string
		for _, d := range m.Manifests {
			if d.Platform != nil && d.Platform.OS == "linux" && d.Platform.Architecture == runtime.GOARCH {
				pick = d.Digest
				break
			}
		}
		if pick == "" {
			return nil, fmt.Errorf("image %s has no linux/%s manifest", ref, runtime.GOARCH)
		}
		if body, _, dg, err = s.manifest(ctx, pick); err != nil {
			return nil, err
		}
		m = manifestDoc{}
		if err := json.Unmarshal(body, &m); err != nil {
			return nil, fmt.Errorf("manifest of %s: %w", ref, err)
		}
	}
	cacheDir := filepath.Join(p.Cache, strings.ReplaceAll(dg, ":", "-"))
	img := &Image{Digest: dg, Dir: filepath.Join(cacheDir, "rootfs")}
	var cfg struct {
		Config ImageConfig `json:"config"`
	}
	cb, err := s.blobBytes(ctx, m.Config)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(cb, &cfg); err != nil {
		return nil, fmt.Errorf("image config of %s: %w", ref, err)
	}
	img.Config = cfg.Config
	if _, err := os.Stat(img.Dir); err == nil {
		return img, nil
	}
	if err := os.MkdirAll(p.Cache, 0o700); err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp(p.Cache, ".unpack-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	rootfs := filepath.Join(tmp, "rootfs")
	if err := os.Mkdir(rootfs, 0o755); err != nil {
		return nil, err
	}
	root, err := os.OpenRoot(rootfs)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	for _, l := range m.Layers {
		if err := s.applyBlob(ctx, root, l); err != nil {
			return nil, err
		}
	}
	if err := os.Rename(tmp, cacheDir); err != nil && !errors.Is(err, os.ErrExist) && !isNotEmpty(err) {
		return nil, err
	}
	return img, nil
}

func isNotEmpty(err error) bool {
	return err != nil && strings.Contains(err.Error(), "directory not empty")
}

// session is one pull: the reference, credentials and bearer token.
type session struct {
	p     *Puller
	ref   ImageRef
	cred  Credentials
	token string
	basic bool
}

func (s *session) url(kind, ref string) string {
	scheme := "https"
	if s.p.Scheme != nil {
		scheme = s.p.Scheme(s.ref.Host)
	}
	if s.cred.PlainHTTP {
		scheme = "http"
	}
	return scheme + "://" + s.ref.Host + "/v2/" + s.ref.Repository + "/" + kind + "/" + ref
}

// get sends a GET, answering the registry's authentication challenge once.
func (s *session) get(ctx context.Context, u string, accept ...string) (*http.Response, error) {
	return s.do(ctx, http.MethodGet, u, accept...)
}

// do sends a request, answering the registry's authentication challenge once.
func (s *session) do(ctx context.Context, method, u string, accept ...string) (*http.Response, error) {
	for attempt := 0; ; attempt++ {
		req, err := http.NewRequestWithContext(ctx, method, u, nil)
		if err != nil {
			return nil, err
		}
		for _, a := range accept {
			req.Header.Add("Accept", a)
		}
		switch {
		case s.token != "":
			req.Header.Set("Authorization", "Bearer "+s.token)
		case s.basic:
			req.SetBasicAuth(s.cred.Username, s.cred.Password)
		}
		resp, err := s.p.Client.Do(req)
		if err != nil {
			return nil, err
		}
		if resp.StatusCode == http.StatusUnauthorized && attempt == 0 {
			ch := resp.Header.Get("WWW-Authenticate")
			resp.Body.Close()
			if err := s.authenticate(ctx, ch); err != nil {
				return nil, err
			}
			continue
		}
		if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden {
			resp.Body.Close()
			return nil, s.denied(resp.Status)
		}
		if resp.StatusCode != http.StatusOK {
			b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
			resp.Body.Close()
			return nil, fmt.Errorf("pull %s: %s %s: %s: %s", s.ref, method, u, resp.Status, strings.TrimSpace(string(b)))
		}
		return resp, nil
	}
}

func (s *session) denied(status string) error {
	who := "anonymous pull"
	if s.cred.Username != "" {
		who = "the credentials"
	}
	return fmt.Errorf("%w: %s: the registry answered %s to %s", ErrPullDenied, s.ref, status, who)
}

// authenticate answers a Bearer challenge with the token flow (credentials
// as Basic on the realm) or a Basic challenge with the credentials.
func (s *session) authenticate(ctx context.Context, challenge string) error {
	scheme, params, _ := strings.Cut(challenge, " ")
	if strings.EqualFold(scheme, "Basic") {
		if s.cred.Username == "" || s.basic {
			return s.denied("401 Unauthorized")
		}
		s.basic = true
		return nil
	}
	if !strings.EqualFold(scheme, "Bearer") {
		return s.denied("401 Unauthorized")
	}
	ps := parseChallenge(params)
	if ps["realm"] == "" {
		return fmt.Errorf("pull %s: the registry's challenge names no realm", s.ref)
	}
	q := url.Values{}
	if v := ps["service"]; v != "" {
		q.Set("service", v)
	}
	q.Set("scope", "repository:"+s.ref.Repository+":pull")
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, ps["realm"]+"?"+q.Encode(), nil)
	if err != nil {
		return err
	}
	if s.cred.Username != "" {
		req.SetBasicAuth(s.cred.Username, s.cred.Password)
	}
	resp, err := s.p.Client.Do(req)
	if err != nil {
		return fmt.Errorf("pull %s: token: %w", s.ref, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden {
		return s.denied(resp.Status + " (token endpoint)")
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("pull %s: token endpoint answered %s", s.ref, resp.Status)
	}
	var tok struct {
		Token       string `json:"token"`
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&tok); err != nil {
		return fmt.Errorf("pull %s: token: %w", s.ref, err)
	}
	s.token = tok.AccessToken
	if s.token == "" {
		s.token = tok.Token
	}
	return nil
}

func parseChallenge(s string) map[string]string {
	out := map[string]string{}
	for s != "" {
		s = strings.TrimLeft(s, " ,")
		k, rest, ok := strings.Cut(s, "=")
		if !ok {
			break
		}
		var v string
		if strings.HasPrefix(rest, `"`) {
			end := strings.Index(rest[1:], `"`)
			if end < 0 {
				break
			}
			v, s = rest[1:end+1], rest[end+2:]
		} else {
			v, s, _ = strings.Cut(rest, ",")
		}
		out[strings.ToLower(strings.TrimSpace(k))] = v
	}
	return out
}

// Resolve returns the digest of the manifest (or index) ref names, asked
// with HEAD (which registries do not count as a pull), or with GET when the
// registry's answer gives no Docker-Content-Digest.
func (p *Puller) Resolve(ctx context.Context, ref ImageRef, cred Credentials) (string, error) {
	s := &session{p: p, ref: ref, cred: cred}
	resp, err := s.do(ctx, http.MethodHead, s.url("manifests", ref.Reference), mtIndex, mtDockerList, mtManifest, mtDockerImage)
	if err != nil {
		return "", err
	}
	resp.Body.Close()
	if d := resp.Header.Get("Docker-Content-Digest"); strings.HasPrefix(d, "sha256:") && len(d) == 71 {
		return d, nil
	}
	_, _, d, err := s.manifest(ctx, ref.Reference)
	return d, err
}

// manifest fetches a manifest and returns its bytes, media type and digest.
func (s *session) manifest(ctx context.Context, ref string) ([]byte, string, string, error) {
	resp, err := s.get(ctx, s.url("manifests", ref), mtIndex, mtDockerList, mtManifest, mtDockerImage)
	if err != nil {
		return nil, "", "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return nil, "", "", err
	}
	sum := sha256.Sum256(b)
	dg := "sha256:" + hex.EncodeToString(sum[:])
	if strings.HasPrefix(ref, "sha256:") && ref != dg {
		return nil, "", "", fmt.Errorf("pull %s: manifest %s has digest %s", s.ref, ref, dg)
	}
	return b, strings.TrimSpace(strings.Split(resp.Header.Get("Content-Type"), ";")[0]), dg, nil
}
