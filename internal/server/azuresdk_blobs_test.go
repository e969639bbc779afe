package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/streaming"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/containers/azcontainerregistry"
	"github.com/opencontainers/go-digest"
)

// blobData is n deterministic bytes that differ with seed.
func blobData(seed string, n int) []byte {
	var b bytes.Buffer
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, "%s-%06d|", seed, i)
	}
	return b.Bytes()[:n]
}

// uploadChunked uploads data in chunks through the BlobClient and checks
// every step's answer; it returns the digest CompleteUpload reported.
func (e *sdkEnv) uploadChunked(t *testing.T, repo string, data []byte, chunk int, withRange bool) string {
	t.Helper()
	ctx := t.Context()
	start, err := e.blobs.StartUpload(ctx, repo, nil)
	e.ok(t, err, "StartUpload")
	loc, uuid := str(start.Location), str(start.DockerUploadUUID)
	if !strings.HasPrefix(loc, "/v2/"+repo+"/blobs/uploads/") || uuid == "" || !strings.Contains(loc, uuid) {
		t.Fatalf("StartUpload: Location %q (want relative /v2/%s/blobs/uploads/...), Docker-Upload-UUID %q", loc, repo, uuid)
	}
	if str(start.Range) != "0-0" {
		t.Fatalf("StartUpload: Range %q, want 0-0", str(start.Range))
	}
	calc := azcontainerregistry.NewBlobDigestCalculator()
	for off := 0; off < len(data); off += chunk {
		end := min(off+chunk, len(data))
		var opts *azcontainerregistry.BlobClientUploadChunkOptions
		if withRange {
			opts = &azcontainerregistry.BlobClientUploadChunkOptions{RangeStart: to.Ptr(int32(off)), RangeEnd: to.Ptr(int32(end - 1))}
		}
		up, err := e.blobs.UploadChunk(ctx, loc, bytes.NewReader(data[off:end]), calc, opts)
		e.ok(t, err, fmt.Sprintf("UploadChunk %d-%d", off, end-1))
		if want := fmt.Sprintf("0-%d", end-1); str(up.Range) != want {
			t.Fatalf("UploadChunk %d-%d: Range %q, want %q", off, end-1, str(up.Range), want)
		}
		if str(up.Location) == "" {
			t.Fatalf("UploadChunk: no Location")
		}
		loc = str(up.Location)
	}
	st, err := e.blobs.GetUploadStatus(ctx, loc, nil)
	e.ok(t, err, "GetUploadStatus")
	if want := fmt.Sprintf("0-%d", len(data)-1); str(st.Range) != want || !strings.HasSuffix(loc, "/"+str(st.DockerUploadUUID)) {
		t.Fatalf("GetUploadStatus: Range %q uuid %q, want %q and %q", str(st.Range), str(st.DockerUploadUUID), want, uuid)
	}
	done, err := e.blobs.CompleteUpload(ctx, loc, calc, nil)
	e.ok(t, err, "CompleteUpload")
	if want := digest.FromBytes(data).String(); str(done.DockerContentDigest) != want {
		t.Fatalf("CompleteUpload: Docker-Content-Digest %s, want %s", str(done.DockerContentDigest), want)
	}
	return str(done.DockerContentDigest)
}

// checkBlob checks the blob's HEAD and GET through the BlobClient.
func (e *sdkEnv) checkBlob(t *testing.T, repo string, data []byte) {
	t.Helper()
	ctx := t.Context()
	d := digest.FromBytes(data).String()
	h, err := e.blobs.CheckBlobExists(ctx, repo, d, nil)
	e.ok(t, err, "CheckBlobExists")
	if h.ContentLength == nil || *h.ContentLength != int64(len(data)) || str(h.DockerContentDigest) != d {
		t.Fatalf("CheckBlobExists: Content-Length %v digest %s, want %d and %s", h.ContentLength, str(h.DockerContentDigest), len(data), d)
	}
	g, err := e.blobs.GetBlob(ctx, repo, d, nil)
	e.ok(t, err, "GetBlob")
	defer g.BlobData.Close()
	vr, err := azcontainerregistry.NewDigestValidationReader(d, g.BlobData)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(vr)
	if err != nil || !bytes.Equal(b, data) {
		t.Fatalf("GetBlob: %d bytes (%v), want the %d uploaded", len(b), err, len(data))
	}
	if g.ContentLength == nil || *g.ContentLength != int64(len(data)) || str(g.DockerContentDigest) != d {
		t.Fatalf("GetBlob: Content-Length %v digest %s", g.ContentLength, str(g.DockerContentDigest))
	}
}

func TestAzureSDKBlobs(t *testing.T) {
	t.Parallel()
	e := newSDKEnv(t)
	ctx := t.Context()
	const repo = "sdk/blobs"
	data := blobData("main", 1000)

	t.Run("chunked upload", func(t *testing.T) {
		tests := []struct {
			name      string
			data      []byte
			chunk     int
			withRange bool
		}{
			{"chunks with Content-Range", data, 300, true},
			{"chunks without Content-Range", blobData("plain", 1000), 400, false},
			{"one chunk", blobData("one", 123), 123, true},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				e.uploadChunked(t, repo, tt.data, tt.chunk, tt.withRange)
				e.checkBlob(t, repo, tt.data)
			})
		}
	})

	d := digest.FromBytes(data).String()

	t.Run("get chunk", func(t *testing.T) {
		tests := []struct {
			rng        string
			start, end int // inclusive
		}{
			{"bytes=0-9", 0, 9},
			{"bytes=10-499", 10, 499},
			{"bytes=990-999", 990, 999},
			{"bytes=995-", 995, 999},
		}
		for _, tt := range tests {
			t.Run(tt.rng, func(t *testing.T) {
				g, err := e.blobs.GetChunk(ctx, repo, d, tt.rng, nil)
				e.ok(t, err, "GetChunk")
				b, _ := io.ReadAll(g.ChunkData)
				g.ChunkData.Close()
				if !bytes.Equal(b, data[tt.start:tt.end+1]) {
					t.Fatalf("chunk %q, want %q", b, data[tt.start:tt.end+1])
				}
				if want := fmt.Sprintf("bytes %d-%d/%d", tt.start, tt.end, len(data)); str(g.ContentRange) != want {
					t.Fatalf("Content-Range %q, want %q", str(g.ContentRange), want)
				}
				if g.ContentLength == nil || *g.ContentLength != int64(tt.end-tt.start+1) {
					t.Fatalf("Content-Length %v", g.ContentLength)
				}
				h, err := e.blobs.CheckChunkExists(ctx, repo, d, tt.rng, nil)
				e.ok(t, err, "CheckChunkExists")
				if h.ContentLength == nil || *h.ContentLength != int64(len(data)) {
					t.Fatalf("CheckChunkExists: Content-Length %v, want %d", h.ContentLength, len(data))
				}
			})
		}
		_, err := e.blobs.GetChunk(ctx, repo, d, "bytes=2000-2010", nil)
		wantStatus(t, err, http.StatusRequestedRangeNotSatisfiable, "GetChunk beyond the end")
	})

	t.Run("cancel upload", func(t *testing.T) {
		start, err := e.blobs.StartUpload(ctx, repo, nil)
		e.ok(t, err, "StartUpload")
		calc := azcontainerregistry.NewBlobDigestCalculator()
		up, err := e.blobs.UploadChunk(ctx, str(start.Location), bytes.NewReader([]byte("abandoned")), calc, nil)
		e.ok(t, err, "UploadChunk")
		loc := str(up.Location)
		m := e.rec.mark()
		_, err = e.blobs.CancelUpload(ctx, loc, nil)
		e.ok(t, err, "CancelUpload")
		if got := e.rec.since(m); len(got) == 0 || !strings.HasSuffix(got[len(got)-1], " 204") {
			t.Fatalf("CancelUpload: requests %q, want a 204", got)
		}
		_, err = e.blobs.GetUploadStatus(ctx, loc, nil)
		wantStatus(t, err, http.StatusNotFound, "GetUploadStatus after CancelUpload")
		_, err = e.blobs.CompleteUpload(ctx, loc, calc, nil)
		wantStatus(t, err, http.StatusNotFound, "CompleteUpload after CancelUpload")
		_, err = e.blobs.CheckBlobExists(ctx, repo, digest.FromString("abandoned").String(), nil)
		wantStatus(t, err, http.StatusNotFound, "CheckBlobExists of a cancelled upload")
	})

	const mounted = "sdk/blobs-mounted"
	t.Run("mount", func(t *testing.T) {
		m, err := e.blobs.MountBlob(ctx, mounted, repo, d, nil)
		e.ok(t, err, "MountBlob")
		if str(m.DockerContentDigest) != d || !strings.HasSuffix(str(m.Location), "/blobs/"+d) {
			t.Fatalf("MountBlob: digest %s Location %q", str(m.DockerContentDigest), str(m.Location))
		}
		e.checkBlob(t, mounted, data)

		// A blob the source does not hold: an upload session starts instead.
		unknown := digest.FromString("not stored anywhere").String()
		m, err = e.blobs.MountBlob(ctx, mounted, repo, unknown, nil)
		e.ok(t, err, "MountBlob of an unknown blob")
		if str(m.DockerUploadUUID) == "" || !strings.HasPrefix(str(m.Location), "/v2/"+mounted+"/blobs/uploads/") {
			t.Fatalf("MountBlob fallback: uuid %q Location %q", str(m.DockerUploadUUID), str(m.Location))
		}
		_, err = e.blobs.CancelUpload(ctx, str(m.Location), nil)
		e.ok(t, err, "CancelUpload of the fallback session")
	})

	t.Run("delete", func(t *testing.T) {
		del, err := e.blobs.DeleteBlob(ctx, mounted, d, nil)
		e.ok(t, err, "DeleteBlob")
		if del.DockerContentDigest != nil && *del.DockerContentDigest != d {
			t.Fatalf("DeleteBlob: Docker-Content-Digest %s", *del.DockerContentDigest)
		}
		_, err = e.blobs.CheckBlobExists(ctx, mounted, d, nil)
		wantStatus(t, err, http.StatusNotFound, "CheckBlobExists after DeleteBlob")
		_, err = e.blobs.GetBlob(ctx, mounted, d, nil)
		wantStatus(t, err, http.StatusNotFound, "GetBlob after DeleteBlob")
		e.checkBlob(t, repo, data) // the source repository keeps its link
		_, err = e.blobs.DeleteBlob(ctx, mounted, d, nil)
		wantStatus(t, err, http.StatusNotFound, "DeleteBlob again")
	})

	t.Run("image round trip", func(t *testing.T) {
		const repo = "sdk/roundtrip"
		img := platformImage("roundtrip", "arm64", "linux", false)
		for _, b := range img.blobs {
			e.uploadChunked(t, repo, b, 16, true)
		}
		up, err := e.client.UploadManifest(ctx, repo, "v1", azcontainerregistry.ContentTypeApplicationVndOciImageManifestV1JSON,
			streaming.NopCloser(bytes.NewReader(img.manifest)), nil)
		e.ok(t, err, "UploadManifest")
		if str(up.DockerContentDigest) != img.digest.String() {
			t.Fatalf("UploadManifest: digest %s", str(up.DockerContentDigest))
		}
		g, err := e.client.GetManifest(ctx, repo, "v1", &azcontainerregistry.ClientGetManifestOptions{Accept: to.Ptr(ociManifest)})
		e.ok(t, err, "GetManifest")
		vr, err := azcontainerregistry.NewDigestValidationReader(str(g.DockerContentDigest), g.ManifestData)
		if err != nil {
			t.Fatal(err)
		}
		mb, err := io.ReadAll(vr)
		g.ManifestData.Close()
		if err != nil || !bytes.Equal(mb, img.manifest) {
			t.Fatalf("manifest %s (%v)", mb, err)
		}
		var parsed struct {
			Config struct{ Digest string }   `json:"config"`
			Layers []struct{ Digest string } `json:"layers"`
		}
		if err := json.Unmarshal(mb, &parsed); err != nil {
			t.Fatal(err)
		}
		for _, ref := range append([]string{parsed.Config.Digest}, parsed.Layers[0].Digest) {
			e.checkBlob(t, repo, img.blobs[digest.Digest(ref)])
		}
	})
}
