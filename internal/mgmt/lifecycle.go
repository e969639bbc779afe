package mgmt

import (
	"time"

	"github.com/acre-project/acre/internal/lifecycle"
)

// retentionView is the retention policy as `az acr config retention show`
// has it (status, days, lastUpdatedTime, type) with acre's extra rules.
type retentionView struct {
	Status          string    `json:"status"` // enabled or disabled
	Days            int       `json:"days"`
	Type            string    `json:"type"`
	LastUpdatedTime time.Time `json:"lastUpdatedTime,omitzero"`
	KeepTags        int       `json:"keepTags,omitempty"`
	KeepFilter      string    `json:"keepTagsFilter"`
	NotPulledDays   int       `json:"notPulledDays,omitempty"`
}

func viewRetention(p lifecycle.RetentionPolicy) retentionView {
	st := "disabled"
	if p.Enabled {
		st = "enabled"
	}
	return retentionView{Status: st, Days: p.Days, Type: p.Type, LastUpdatedTime: p.EnabledAt, KeepTags: p.KeepTags,
		KeepFilter: p.KeepFilter, NotPulledDays: p.NotPulledDays}
}

func (h *Handler) showRetention(q *req, _ none) (retentionView, error) {
	p, err := h.life.Retention(q.Context(), q.reg)
	return viewRetention(p), err
}

// retentionIn is a change of the retention policy (absent fields keep their value).
type retentionIn struct {
	Status        *string `json:"status"`  // enabled or disabled, as ACR
	Enabled       *bool   `json:"enabled"` // the same as a boolean
	Days          *int    `json:"days"`
	Type          *string `json:"type"`
	KeepTags      *int    `json:"keepTags"`
	KeepFilter    *string `json:"keepTagsFilter"`
	NotPulledDays *int    `json:"notPulledDays"`
}

func (in retentionIn) apply(p *lifecycle.RetentionPolicy) error {
	if err := setStatus(&p.Enabled, in.Status); err != nil {
		return err
	}
	set(&p.Enabled, in.Enabled)
	set(&p.Days, in.Days)
	set(&p.Type, in.Type)
	set(&p.KeepTags, in.KeepTags)
	set(&p.KeepFilter, in.KeepFilter)
	set(&p.NotPulledDays, in.NotPulledDays)
	return nil
}

func (h *Handler) putRetention(q *req, in retentionIn) (retentionView, error) {
	p, err := h.life.Retention(q.Context(), q.reg)
	if err != nil {
		return retentionView{}, err
	}
	if err := in.apply(&p); err != nil {
		return retentionView{}, err
	}
	p, err = h.life.SetRetention(q.Context(), q.reg, p)
	return viewRetention(p), err
}

func (h *Handler) purge(q *req, o lifecycle.PurgeOptions) (*lifecycle.PurgeResult, error) {
	return h.life.Purge(q.Context(), q.reg, o)
}

func (h *Handler) listPurgeSchedules(q *req, _ none) ([]lifecycle.PurgeSchedule, error) {
	return h.life.PurgeSchedules(q.Context(), q.reg)
}

func (h *Handler) putPurgeSchedule(q *req, in struct {
	Schedule string                 `json:"schedule"`
	Options  lifecycle.PurgeOptions `json:"options"`
}) (lifecycle.PurgeSchedule, error) {
	return h.life.PutPurgeSchedule(q.Context(), q.reg, q.name(), in.Schedule, in.Options)
}

func (h *Handler) deletePurgeSchedule(q *req, _ none) error {
	return h.life.DeletePurgeSchedule(q.Context(), q.reg, q.name())
}

func (h *Handler) runGC(q *req, _ none) (map[string]any, error) {
	st, err := h.life.CollectGarbage(q.Context())
	if err != nil {
		return nil, err
	}
	return map[string]any{"items": st.Items, "linksDropped": st.LinksDropped,
		"blobsDeleted": st.BlobsDeleted, "bytesFreed": st.BytesFreed}, nil
}
