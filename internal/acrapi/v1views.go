package acrapi

import (
	"context"
	"net/http"
	"time"

	"github.com/acre-project/acre/internal/auth"
	"github.com/acre-project/acre/internal/meta"
	"github.com/acre-project/acre/internal/registry"
)

type repositoryView struct {
	Registry       string          `json:"registry"`
	ImageName      string          `json:"imageName"`
	CreatedTime    string          `json:"createdTime"`
	LastUpdateTime string          `json:"lastUpdateTime"`
	ManifestCount  int             `json:"manifestCount"`
	TagCount       int             `json:"tagCount"`
	Attributes     meta.Attributes `json:"changeableAttributes"`
}

type tagView struct {
	Name           string          `json:"name"`
	Digest         string          `json:"digest"`
	CreatedTime    string          `json:"createdTime"`
	LastUpdateTime string          `json:"lastUpdateTime"`
	Signed         bool            `json:"signed"`
	LastPullTime   string          `json:"lastPullTime,omitempty"` // acre's own: when last pulled
	Attributes     meta.Attributes `json:"changeableAttributes"`
}

type manifestView struct {
	Digest          string               `json:"digest"`
	ImageSize       int64                `json:"imageSize"`
	CreatedTime     string               `json:"createdTime"`
	LastUpdateTime  string               `json:"lastUpdateTime"`
	Architecture    string               `json:"architecture,omitempty"`
	OS              string               `json:"os,omitempty"`
	MediaType       string               `json:"mediaType"`
	ConfigMediaType string               `json:"configMediaType,omitempty"`
	ArtifactType    string               `json:"artifactType,omitempty"`
	Tags            []string             `json:"tags"`
	References      []registry.Reference `json:"references,omitempty"`
	LastPullTime    string               `json:"lastPullTime,omitempty"` // acre's own: when last pulled
	Attributes      meta.Attributes      `json:"changeableAttributes"`
}

func viewTag(t meta.Tag) tagView {
	return tagView{Name: t.Name, Digest: t.Digest.String(), CreatedTime: acrTime(t.CreatedAt), LastUpdateTime: acrTime(t.UpdatedAt),
		LastPullTime: optTime(t.LastPulledAt), Attributes: t.Attributes}
}

func optTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return acrTime(t)
}

func viewManifest(m registry.ManifestDetails) manifestView {
	return manifestView{Digest: m.Digest.String(), ImageSize: m.ImageSize, CreatedTime: acrTime(m.CreatedAt),
		LastUpdateTime: acrTime(m.UpdatedAt), Architecture: m.Architecture, OS: m.OS, MediaType: m.MediaType,
		ConfigMediaType: m.ConfigMediaType, ArtifactType: m.ArtifactType, Tags: m.Tags, References: m.References,
		LastPullTime: optTime(m.LastPulledAt), Attributes: m.Attributes}
}

func (h *V1Handler) catalog(w http.ResponseWriter, r *http.Request, reg *meta.Registry, id *auth.Identity) error {
	q, err := query(r)
	if err != nil {
		return err
	}
	var keep func(string) bool
	if id != nil {
		g, err := h.gate.FullGrants(r.Context(), reg, id)
		if err != nil {
			return err
		}
		keep = func(n string) bool { return g.On(n)&(auth.ContentRead|auth.MetadataRead) != 0 }
	}
	names := []string{}
	last := q.Last
	for len(names) < q.N {
		page, err := h.reg.Catalog(r.Context(), reg, meta.Page{Last: last, N: q.N})
		if err != nil {
			return err
		}
		for _, n := range page {
			if (keep == nil || keep(n)) && len(names) < q.N {
				names = append(names, n)
			}
		}
		if len(page) < q.N {
			break
		}
		last = page[len(page)-1]
	}
	if len(names) > 0 {
		setNext(w, r, q, len(names), names[len(names)-1])
	}
	return writeJSONStatus(w, http.StatusOK, map[string]any{"repositories": names})
}

func (h *V1Handler) repository(w http.ResponseWriter, r *http.Request, repo registry.Repo) error {
	d, err := h.reg.RepositoryDetails(r.Context(), repo)
	if err != nil {
		return err
	}
	return writeJSONStatus(w, http.StatusOK, viewRepository(repo, d))
}

func viewRepository(repo registry.Repo, d *meta.RepositoryDetails) repositoryView {
	return repositoryView{Registry: repo.Registry.LoginServer, ImageName: d.Name, CreatedTime: acrTime(d.CreatedAt),
		LastUpdateTime: acrTime(d.UpdatedAt), ManifestCount: d.ManifestCount, TagCount: d.TagCount, Attributes: d.Attributes}
}

func (h *V1Handler) patchRepository(w http.ResponseWriter, r *http.Request, repo registry.Repo) error {
	p, err := decodePatch(r)
	if err != nil {
		return err
	}
	d, err := h.reg.UpdateRepository(r.Context(), repo, p)
	if err != nil {
		return err
	}
	return writeJSONStatus(w, http.StatusOK, viewRepository(repo, d))
}

func (h *V1Handler) deleteRepository(w http.ResponseWriter, r *http.Request, repo registry.Repo) error {
	deleted, tags, err := h.reg.DeleteRepository(r.Context(), repo)
	if err != nil {
		return err
	}
	ds := make([]string, 0, len(deleted))
	for _, d := range deleted {
		ds = append(ds, d.String())
	}
	if tags == nil {
		tags = []string{}
	}
	return writeJSONStatus(w, http.StatusAccepted, map[string]any{"manifestsDeleted": ds, "tagsDeleted": tags})
}

func (h *V1Handler) tags(w http.ResponseWriter, r *http.Request, repo registry.Repo) error {
	return listing(w, r, repo, "tags", h.reg.Tags, viewTag, func(t meta.Tag) string { return t.Name })
}

func (h *V1Handler) tag(w http.ResponseWriter, r *http.Request, repo registry.Repo, name string) error {
	t, err := h.reg.Tag(r.Context(), repo, name)
	return writeTag(w, repo, t, err)
}

func (h *V1Handler) patchTag(w http.ResponseWriter, r *http.Request, repo registry.Repo, name string) error {
	p, err := decodePatch(r)
	if err != nil {
		return err
	}
	t, err := h.reg.UpdateTag(r.Context(), repo, name, p)
	return writeTag(w, repo, t, err)
}

// writeTag answers with one tag of repo (or err).
func writeTag(w http.ResponseWriter, repo registry.Repo, t *meta.Tag, err error) error {
	if err != nil {
		return err
	}
	return writeJSONStatus(w, http.StatusOK, map[string]any{"registry": repo.Registry.LoginServer, "imageName": repo.Name, "tag": viewTag(*t)})
}

// listing answers a page of repo's items (tags or manifests) under key,
// each shown by view, with a Link to the next page after the last key.
func listing[T, V any](w http.ResponseWriter, r *http.Request, repo registry.Repo, key string,
	list func(context.Context, registry.Repo, meta.ListQuery) ([]T, error), view func(T) V, keyOf func(T) string) error {
	q, err := query(r)
	if err != nil {
		return err
	}
	items, err := list(r.Context(), repo, q)
	if err != nil {
		return err
	}
	out := make([]V, 0, len(items))
	for _, it := range items {
		out = append(out, view(it))
	}
	if len(items) > 0 {
		setNext(w, r, q, len(items), keyOf(items[len(items)-1]))
	}
	return writeJSONStatus(w, http.StatusOK, map[string]any{"registry": repo.Registry.LoginServer, "imageName": repo.Name, key: out})
}

func (h *V1Handler) manifests(w http.ResponseWriter, r *http.Request, repo registry.Repo) error {
	return listing(w, r, repo, "manifests", h.reg.Manifests, viewManifest,
		func(m registry.ManifestDetails) string { return m.Digest.String() })
}

func (h *V1Handler) manifest(w http.ResponseWriter, r *http.Request, repo registry.Repo, ref string) error {
	d, err := registry.ParseDigest(ref)
	if err != nil {
		return err
	}
	m, err := h.reg.ManifestProperties(r.Context(), repo, d)
	if err != nil {
		return err
	}
	return writeJSONStatus(w, http.StatusOK, map[string]any{"registry": repo.Registry.LoginServer, "imageName": repo.Name, "manifest": viewManifest(*m)})
}

func (h *V1Handler) patchManifest(w http.ResponseWriter, r *http.Request, repo registry.Repo, ref string) error {
	d, err := registry.ParseDigest(ref)
	if err != nil {
		return err
	}
	p, err := decodePatch(r)
	if err != nil {
		return err
	}
	m, err := h.reg.UpdateManifest(r.Context(), repo, d, p)
	if err != nil {
		return err
	}
	return writeJSONStatus(w, http.StatusOK, map[string]any{"registry": repo.Registry.LoginServer, "imageName": repo.Name, "manifest": viewManifest(*m)})
}
