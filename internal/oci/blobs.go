package oci

import (
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/acre-project/acre/internal/errcode"
	"github.com/acre-project/acre/internal/registry"
)

// getBlob serves GET and HEAD /v2/<name>/blobs/<digest>, with single byte
// ranges ("Pulling blobs", RFC 9110 range requests).
func (h *Handler) getBlob(w http.ResponseWriter, r *http.Request, repo registry.Repo, ref string) error {
	d, err := registry.ParseDigest(ref)
	if err != nil {
		return err
	}
	if r.Method == http.MethodGet && r.Header.Get("Range") == "" {
		if u := h.svc.BlobURL(r.Context(), repo, d); u != "" {
			w.Header().Set("Location", u)
			w.Header().Set("Docker-Content-Digest", d.String())
			w.WriteHeader(http.StatusTemporaryRedirect)
			return nil
		}
	}
	size, err := h.svc.StatBlob(r.Context(), repo, d)
	if err != nil {
		return err
	}
	// Only a blob that is there gets the headers that let clients cache it.
	hd := w.Header()
	hd.Set("Docker-Content-Digest", d.String())
	hd.Set("Accept-Ranges", "bytes")
	hd.Set("Content-Type", "application/octet-stream")
	hd.Set("ETag", `"`+d.String()+`"`)
	hd.Set("Cache-Control", "max-age=31536000")
	if r.Method == http.MethodHead {
		hd.Set("Content-Length", strconv.FormatInt(size, 10))
		w.WriteHeader(http.StatusOK)
		return nil
	}
	start, end, partial, rerr := parseRange(r.Header.Get("Range"), size)
	if rerr != nil {
		hd.Set("Content-Range", fmt.Sprintf("bytes */%d", size))
		return errcode.Errorf(errcode.BlobRangeInvalid, "range %q is outside the blob's %d bytes", r.Header.Get("Range"), size)
	}
	rc, _, err := h.svc.OpenBlob(r.Context(), repo, d, start)
	if err != nil {
		return err
	}
	defer rc.Close()
	status, n := http.StatusOK, size
	if partial {
		status, n = http.StatusPartialContent, end-start+1
		hd.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", start, end, size))
	}
	hd.Set("Content-Length", strconv.FormatInt(n, 10))
	w.WriteHeader(status)
	_, err = io.Copy(w, io.LimitReader(rc, n)) // *os.File under a LimitReader: sendfile
	if err != nil {
		h.log.DebugContext(r.Context(), "blob send ended early", "digest", d, "err", err)
	}
	return nil
}

// deleteBlob serves DELETE /v2/<name>/blobs/<digest>: the repository's link
// goes; the bytes are reclaimed when no repository links them.
func (h *Handler) deleteBlob(w http.ResponseWriter, r *http.Request, repo registry.Repo, ref string) error {
	d, err := registry.ParseDigest(ref)
	if err != nil {
		return err
	}
	if err := h.svc.DeleteBlob(r.Context(), repo, d); err != nil {
		return err
	}
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusAccepted)
	return nil
}
