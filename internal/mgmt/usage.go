package mgmt

import (
	"encoding/json"
	"net/http"
	"strconv"
)

func (h *Handler) listAudit(q *req, _ none) (written, error) {
	query := q.URL.Query()
	after, _ := strconv.ParseInt(query.Get("after"), 10, 64)
	n, _ := strconv.Atoi(query.Get("n"))
	if n <= 0 || n > 1000 {
		n = 100
	}
	entries, err := h.auth.Audit(q.Context(), q.reg.ID, after, n, query.Get("category"))
	if err != nil {
		return written{}, err
	}
	if query.Get("format") != "jsonl" {
		return written{}, writeJSON(q.w, http.StatusOK, entries)
	}
	// JSON lines, for shipping to a log system.
	q.w.Header().Set("Content-Type", "application/x-ndjson")
	enc := json.NewEncoder(q.w)
	for _, e := range entries {
		if err := enc.Encode(e); err != nil {
			break
		}
	}
	return written{}, nil
}

// quota is one line of usage.
type quota struct {
	Name         string `json:"name"`
	CurrentValue int64  `json:"currentValue"`
	Limit        int64  `json:"limit"`
	Unit         string `json:"unit"`
}

// usage answers like ACR's list-usages: current value and limit of each quota.
func (h *Handler) usage(q *req, _ none) (map[string][]quota, error) {
	ctx, reg := q.Context(), q.reg
	used, err := h.life.Usage(ctx, reg)
	if err != nil {
		return nil, err
	}
	hooks, err := h.hooks.List(ctx, reg)
	if err != nil {
		return nil, err
	}
	tokens, err := h.auth.Tokens(ctx, reg)
	if err != nil {
		return nil, err
	}
	maps, err := h.auth.ScopeMaps(ctx, reg)
	if err != nil {
		return nil, err
	}
	userMaps := 0
	for _, m := range maps {
		if m.ScopeMapType == "UserDefined" {
			userMaps++
		}
	}
	lim := h.reg.Limits(reg)
	return map[string][]quota{"value": {
		{"Size", used, lim.StorageLimit, "Bytes"},
		{"IncludedStorage", used, lim.IncludedStorage, "Bytes"},
		{"Webhooks", int64(len(hooks)), int64(lim.Webhooks), "Count"},
		{"Geo-replications", 0, int64(lim.Replications), "Count"},
		{"IPRules", 0, int64(lim.IPRules), "Count"},
		{"VNetRules", 0, 0, "Count"},
		{"PrivateEndpointConnections", 0, int64(lim.PrivateEndpoints), "Count"},
		{"ScopeMaps", int64(userMaps), int64(lim.ScopeMaps), "Count"},
		{"Tokens", int64(len(tokens)), int64(lim.Tokens), "Count"},
	}}, nil
}
