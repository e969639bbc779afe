//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/opencontainers/go-digest"
)

// pushClient is a minimal OCI client for tests that need many pushes fast
// (the real clients are exercised in their own tests).
type pushClient struct {
	base       string
	user, pass string // Basic credentials, when set
	hc         *http.Client
}

func newPushClient(a *Acre) *pushClient {
	return &pushClient{base: "http://" + a.Addr, user: a.User, pass: a.Password, hc: &http.Client{Timeout: 30 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: 32}}}
}

// testImage is an image the test pushed: its manifest and blobs.
type testImage struct {
	Repo, Tag string
	Manifest  []byte
	Digest    digest.Digest
	Blobs     map[digest.Digest][]byte
}

// randomImage builds an OCI image with n random layers of size bytes.
func randomImage(repo, tag string, n, size int) testImage {
	img := testImage{Repo: repo, Tag: tag, Blobs: map[digest.Digest][]byte{}}
	type desc struct {
		MediaType string        `json:"mediaType"`
		Digest    digest.Digest `json:"digest"`
		Size      int           `json:"size"`
	}
	var layers []desc
	for range n {
		b := make([]byte, size)
		_, _ = rand.Read(b)
		d := digest.FromBytes(b)
		img.Blobs[d] = b
		layers = append(layers, desc{"application/vnd.oci.image.layer.v1.tar", d, size})
	}
	cfg := []byte(fmt.Sprintf(`{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]},"tag":%q}`, tag))
	cd := digest.FromBytes(cfg)
	img.Blobs[cd] = cfg
	m, _ := json.Marshal(map[string]any{
		"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
		"config": desc{"application/vnd.oci.image.config.v1+json", cd, len(cfg)}, "layers": layers})
	img.Manifest, img.Digest = m, digest.FromBytes(m)
	return img
}

func (c *pushClient) do(ctx context.Context, method, path string, body []byte, hdr map[string]string) (*http.Response, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, bytes.NewReader(body))
	if err != nil {
		return nil, nil, err
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	if c.user != "" {
		req.SetBasicAuth(c.user, c.pass)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp, b, err
}

// push uploads every blob (monolithic POST) and then the manifest by tag.
// It returns nil only when the registry acknowledged the manifest.
func (c *pushClient) push(ctx context.Context, img testImage) error {
	for d, b := range img.Blobs {
		resp, body, err := c.do(ctx, http.MethodPost, "/v2/"+img.Repo+"/blobs/uploads/?digest="+d.String(), b,
			map[string]string{"Content-Type": "application/octet-stream"})
		if err != nil {
			return err
		}
		if resp.StatusCode != http.StatusCreated {
			return fmt.Errorf("blob %s: %d %s", d, resp.StatusCode, body)
		}
	}
	resp, body, err := c.do(ctx, http.MethodPut, "/v2/"+img.Repo+"/manifests/"+img.Tag, img.Manifest,
		map[string]string{"Content-Type": "application/vnd.oci.image.manifest.v1+json"})
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusCreated {
		return fmt.Errorf("manifest: %d %s", resp.StatusCode, body)
	}
	return nil
}

// verify pulls img by tag and by digest and compares every byte.
func (c *pushClient) verify(ctx context.Context, img testImage) error {
	for _, ref := range []string{img.Tag, img.Digest.String()} {
		resp, body, err := c.do(ctx, http.MethodGet, "/v2/"+img.Repo+"/manifests/"+ref, nil,
			map[string]string{"Accept": "application/vnd.oci.image.manifest.v1+json"})
		if err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK || !bytes.Equal(body, img.Manifest) {
			return fmt.Errorf("manifest %s:%s: status %d, %d bytes", img.Repo, ref, resp.StatusCode, len(body))
		}
	}
	for d, want := range img.Blobs {
		resp, body, err := c.do(ctx, http.MethodGet, "/v2/"+img.Repo+"/blobs/"+d.String(), nil, nil)
		if err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK || !bytes.Equal(body, want) {
			return fmt.Errorf("blob %s in %s: status %d, %d bytes", d, img.Repo, resp.StatusCode, len(body))
		}
	}
	return nil
}

// getJSON GETs path and decodes the JSON body into v.
func (c *pushClient) getJSON(ctx context.Context, path string, v any) error {
	resp, body, err := c.do(ctx, http.MethodGet, path, nil, nil)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %d %s", path, resp.StatusCode, body)
	}
	return json.Unmarshal(body, v)
}

// commitStats reads the metadata transactions and commits counted since
// the server started from /metrics.
func (c *pushClient) commitStats(ctx context.Context) (txs, commits float64, err error) {
	resp, body, err := c.do(ctx, http.MethodGet, "/metrics", nil, nil)
	if err != nil {
		return 0, 0, err
	}
	if resp.StatusCode != http.StatusOK {
		return 0, 0, fmt.Errorf("GET /metrics: %d", resp.StatusCode)
	}
	for line := range strings.SplitSeq(string(body), "\n") {
		name, value, ok := strings.Cut(line, " ")
		if !ok {
			continue
		}
		v, perr := strconv.ParseFloat(strings.TrimSpace(value), 64)
		switch {
		case perr != nil:
		case name == "acre_meta_transactions_total":
			txs = v
		case name == "acre_meta_commits_total":
			commits = v
		}
	}
	return txs, commits, nil
}
