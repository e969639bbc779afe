package oci

import (
	"context"
	"fmt"
	"net/http"
	"strconv"

	"github.com/acre-project/acre/internal/auth"
	"github.com/acre-project/acre/internal/errcode"
	"github.com/acre-project/acre/internal/registry"
	"github.com/opencontainers/go-digest"
)

func uploadLocation(repo registry.Repo, id string) string {
	return "/v2/" + repo.Name + "/blobs/uploads/" + id
}

// writeUploadState answers with the session's location and received range.
func writeUploadState(w http.ResponseWriter, repo registry.Repo, id string, size int64, status int) {
	hd := w.Header()
	hd.Set("Location", uploadLocation(repo, id))
	hd.Set("Docker-Upload-UUID", id)
	hd.Set("Range", fmt.Sprintf("0-%d", max(size-1, 0)))
	hd.Set("Content-Length", "0")
	w.WriteHeader(status)
}

func writeBlobCreated(w http.ResponseWriter, repo registry.Repo, d digest.Digest) {
	hd := w.Header()
	hd.Set("Location", "/v2/"+repo.Name+"/blobs/"+d.String())
	hd.Set("Docker-Content-Digest", d.String())
	hd.Set("Content-Length", "0")
	w.WriteHeader(http.StatusCreated)
}

// startUpload serves POST /v2/<name>/blobs/uploads/: a mount (?mount=&from=),
// a monolithic upload (?digest=) or the start of a session.
func (h *Handler) startUpload(w http.ResponseWriter, r *http.Request, repo registry.Repo) error {
	q := r.URL.Query()
	if m := q.Get("mount"); m != "" {
		d, err := registry.ParseDigest(m)
		if err != nil {
			return err
		}
		var canRead func(string) bool
		if id := identity(r.Context()); id != nil {
			g, err := h.gate.FullGrants(r.Context(), repo.Registry, id)
			if err != nil {
				return err
			}
			canRead = func(src string) bool { return g.Allows(src, auth.ContentRead) }
		}
		ok, err := h.svc.MountBlob(r.Context(), repo, q.Get("from"), d, canRead)
		if err != nil {
			return err
		}
		if ok {
			writeBlobCreated(w, repo, d)
			return nil
		}
	} else if dg := q.Get("digest"); dg != "" {
		d, err := registry.ParseDigest(dg)
		if err != nil {
			return err
		}
		if _, err := h.svc.PutBlob(r.Context(), repo, d, r.Body); err != nil {
			return err
		}
		writeBlobCreated(w, repo, d)
		return nil
	}
	id, err := h.svc.StartUpload(r.Context(), repo)
	if err != nil {
		return err
	}
	writeUploadState(w, repo, id, 0, http.StatusAccepted)
	return nil
}

// uploadOwner names the caller for the cap on stored upload sessions: its
// principal's id, which is never reused ("" without an identity).
func uploadOwner(ctx context.Context) string {
	if id := identity(ctx); id != nil && id.Principal != nil {
		return strconv.FormatInt(id.Principal.ID, 10)
	}
	return ""
}

// uploadStatus serves GET on an upload session.
func (h *Handler) uploadStatus(w http.ResponseWriter, r *http.Request, repo registry.Repo, id string) error {
	size, err := h.svc.UploadSize(r.Context(), repo, id)
	if err != nil {
		return err
	}
	writeUploadState(w, repo, id, size, http.StatusNoContent)
	return nil
}

// chunkOffset reads Content-Range (where the chunk starts), checking it
// against Content-Length; -1 when the client sent none.
func chunkOffset(r *http.Request) (int64, error) {
	cr := r.Header.Get("Content-Range")
	if cr == "" {
		return -1, nil
	}
	start, n, err := parseContentRange(cr)
	if err != nil || (r.ContentLength >= 0 && r.ContentLength != n) {
		return 0, errcode.Errorf(errcode.UploadRangeInvalid, "invalid Content-Range %q", cr)
	}
	return start, nil
}

// patchUpload serves PATCH: one chunk, streamed to the session. The
// answer's Location names the session from now on: a session's first
// chunk may give it another id (see registry.Service.AppendUpload).
func (h *Handler) patchUpload(w http.ResponseWriter, r *http.Request, repo registry.Repo, id string) error {
	off, err := chunkOffset(r)
	if err != nil {
		return err
	}
	id, size, err := h.svc.AppendUpload(r.Context(), repo, id, uploadOwner(r.Context()), off, r.Body)
	if err != nil {
		return err
	}
	writeUploadState(w, repo, id, size, http.StatusAccepted)
	return nil
}

// putUpload serves PUT ?digest=: an optional last chunk, then the commit.
func (h *Handler) putUpload(w http.ResponseWriter, r *http.Request, repo registry.Repo, id string) error {
	d, err := registry.ParseDigest(r.URL.Query().Get("digest"))
	if err != nil {
		return err
	}
	off, err := chunkOffset(r)
	if err != nil {
		return err
	}
	body := r.Body
	if r.ContentLength == 0 {
		body = nil
	}
	if _, err := h.svc.CommitUpload(r.Context(), repo, id, d, off, body); err != nil {
		return err
	}
	writeBlobCreated(w, repo, d)
	return nil
}

// cancelUpload serves DELETE on an upload session.
func (h *Handler) cancelUpload(w http.ResponseWriter, r *http.Request, repo registry.Repo, id string) error {
	if err := h.svc.CancelUpload(r.Context(), repo, id); err != nil {
		return err
	}
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusNoContent)
	return nil
}
