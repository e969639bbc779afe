package oci

import (
	"net/http"

	"github.com/acre-project/acre/internal/registry"
)

type referrerDescriptor struct {
	MediaType    string            `json:"mediaType"`
	Digest       string            `json:"digest"`
	Size         int64             `json:"size"`
	ArtifactType string            `json:"artifactType,omitempty"`
	Annotations  map[string]string `json:"annotations,omitempty"`
}

type referrersIndex struct {
	SchemaVersion int                  `json:"schemaVersion"`
	MediaType     string               `json:"mediaType"`
	Manifests     []referrerDescriptor `json:"manifests"`
}

// referrers serves GET /v2/<name>/referrers/<digest>[?artifactType=]
// ("Listing Referrers"): an image index of the manifests whose subject is
// the digest, filtered by artifact type when asked.
func (h *Handler) referrers(w http.ResponseWriter, r *http.Request, repo registry.Repo, ref string) error {
	d, err := registry.ParseDigest(ref)
	if err != nil {
		return err
	}
	at := r.URL.Query().Get("artifactType")
	ms, err := h.svc.Referrers(r.Context(), repo, d, at)
	if err != nil {
		return err
	}
	idx := referrersIndex{SchemaVersion: 2, MediaType: registry.MediaTypeOCIIndex, Manifests: []referrerDescriptor{}}
	for _, m := range ms {
		t := m.ArtifactType
		if t == "" {
			t = m.ConfigMediaType
		}
		idx.Manifests = append(idx.Manifests, referrerDescriptor{MediaType: m.MediaType, Digest: m.Digest.String(),
			Size: m.Size, ArtifactType: t, Annotations: m.Annotations})
	}
	if at != "" {
		w.Header().Set("OCI-Filters-Applied", "artifactType")
	}
	return writeJSON(w, http.StatusOK, registry.MediaTypeOCIIndex, idx)
}
