package oci

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"

	"github.com/acre-project/acre/internal/auth"
	"github.com/acre-project/acre/internal/errcode"
	"github.com/acre-project/acre/internal/meta"
	"github.com/acre-project/acre/internal/registry"
)

// maxPage caps n; a client asking for more gets this many and a Link header.
const maxPage = 1000

// page reads the n and last parameters (spec: "Listing Tags", "Catalog").
func page(r *http.Request) (meta.Page, error) {
	q := r.URL.Query()
	p := meta.Page{Last: q.Get("last"), N: maxPage}
	if s, ok := q["n"]; ok {
		n, err := strconv.Atoi(s[0])
		if err != nil || n < 0 {
			return p, errcode.Errorf(errcode.PaginationNumberInvalid, "n must be a non-negative integer, not %q", s[0])
		}
		p.N = min(n, maxPage)
	}
	return p, nil
}

// list fetches one page (asking for one more to know if there is a next)
// and writes the Link header when there is.
func list(w http.ResponseWriter, r *http.Request, p meta.Page, fetch func(meta.Page) ([]string, error)) ([]string, error) {
	if p.N == 0 {
		// Nothing to list, but the repository must still exist.
		if _, err := fetch(meta.Page{Last: p.Last, N: 1}); err != nil {
			return nil, err
		}
		return []string{}, nil
	}
	items, err := fetch(meta.Page{Last: p.Last, N: p.N + 1})
	if err != nil {
		return nil, err
	}
	if len(items) > p.N {
		items = items[:p.N]
		v := url.Values{"n": {strconv.Itoa(p.N)}, "last": {items[len(items)-1]}}
		w.Header().Set("Link", "<"+r.URL.Path+"?"+v.Encode()+`>; rel="next"`)
	}
	return items, nil
}

// writeJSON writes v as a JSON body of the given media type.
// filtered wraps a page fetcher so that it returns only names keep accepts,
// reading further pages until the page is full or the names run out.
func filtered(fetch func(meta.Page) ([]string, error), keep func(string) bool) func(meta.Page) ([]string, error) {
	return func(p meta.Page) ([]string, error) {
		out := []string{}
		last := p.Last
		for len(out) < p.N {
			names, err := fetch(meta.Page{Last: last, N: p.N})
			if err != nil {
				return nil, err
			}
			for _, n := range names {
				if keep(n) && len(out) < p.N {
					out = append(out, n)
				}
			}
			if len(names) < p.N {
				break
			}
			last = names[len(names)-1]
		}
		return out, nil
	}
}

func writeJSON(w http.ResponseWriter, status int, mediaType string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", mediaType)
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
	return nil
}

// catalog serves GET /v2/_catalog.
func (h *Handler) catalog(w http.ResponseWriter, r *http.Request, reg *meta.Registry) error {
	p, err := page(r)
	if err != nil {
		return err
	}
	fetch := func(p meta.Page) ([]string, error) { return h.svc.Catalog(r.Context(), reg, p) }
	if id := identity(r.Context()); id != nil {
		g, err := h.gate.FullGrants(r.Context(), reg, id)
		if err != nil {
			return err
		}
		fetch = filtered(fetch, func(name string) bool { return g.On(name)&(auth.ContentRead|auth.MetadataRead) != 0 })
	}
	names, err := list(w, r, p, fetch)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, "application/json", map[string]any{"repositories": names})
}

// tags serves GET /v2/<name>/tags/list.
func (h *Handler) tags(w http.ResponseWriter, r *http.Request, repo registry.Repo) error {
	p, err := page(r)
	if err != nil {
		return err
	}
	tags, err := list(w, r, p, func(p meta.Page) ([]string, error) { return h.svc.ListTags(r.Context(), repo, p) })
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, "application/json", map[string]any{"name": repo.Name, "tags": tags})
}
