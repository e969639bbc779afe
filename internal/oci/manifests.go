package oci

import (
	"io"
	"net/http"
	"strconv"

	"github.com/acre-project/acre/internal/errcode"
	"github.com/acre-project/acre/internal/registry"
)

// getManifest serves GET and HEAD /v2/<name>/manifests/<reference>.
func (h *Handler) getManifest(w http.ResponseWriter, r *http.Request, repo registry.Repo, ref string) error {
	m, err := h.svc.GetManifest(r.Context(), repo, ref, r.Method == http.MethodGet)
	if err != nil {
		return err
	}
	noteManifest(r.Context(), m)
	hd := w.Header()
	hd.Set("Content-Type", m.MediaType)
	hd.Set("Content-Length", strconv.FormatInt(m.Size, 10))
	hd.Set("Docker-Content-Digest", m.Digest.String())
	hd.Set("ETag", `"`+m.Digest.String()+`"`)
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		_, _ = w.Write(m.Content)
	}
	return nil
}

// putManifest serves PUT /v2/<name>/manifests/<reference>[?tag=...].
func (h *Handler) putManifest(w http.ResponseWriter, r *http.Request, repo registry.Repo, ref string) error {
	if r.ContentLength > h.svc.MaxManifestBytes() {
		return errcode.Errorf(errcode.ManifestTooLarge, "manifest exceeds the %d byte limit", h.svc.MaxManifestBytes())
	}
	tags := r.URL.Query()["tag"]
	var body io.Reader = r.Body
	if signerOnly(r.Context(), repo.Name) {
		var err error
		if body, err = checkReferrer(r, ref, h.svc.MaxManifestBytes()); err != nil {
			return err
		}
	}
	m, err := h.svc.PutManifest(r.Context(), repo, ref, r.Header.Get("Content-Type"), body, tags)
	if err != nil {
		return err
	}
	noteManifest(r.Context(), m)
	hd := w.Header()
	hd.Set("Location", "/v2/"+repo.Name+"/manifests/"+m.Digest.String())
	hd.Set("Docker-Content-Digest", m.Digest.String())
	if m.Subject != "" {
		hd.Set("OCI-Subject", m.Subject.String())
	}
	if len(tags) > 0 {
		hd["OCI-Tag"] = tags
	}
	hd.Set("Content-Length", "0")
	w.WriteHeader(http.StatusCreated)
	return nil
}

// deleteManifest serves DELETE /v2/<name>/manifests/<reference>: by tag it
// untags, by digest it deletes the manifest and its tags.
func (h *Handler) deleteManifest(w http.ResponseWriter, r *http.Request, repo registry.Repo, ref string) error {
	if err := h.svc.DeleteManifest(r.Context(), repo, ref); err != nil {
		return err
	}
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusAccepted)
	return nil
}
