package mgmt

import (
	"net/http"
	"time"

	"github.com/acre-project/acre/internal/auth"
	"github.com/acre-project/acre/internal/lifecycle"
	"github.com/acre-project/acre/internal/meta"
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

func (h *Handler) showRetention(w http.ResponseWriter, r *http.Request, caller *meta.Principal) error {
	reg, err := h.registry(r, caller, auth.ManageRead)
	if err != nil {
		return err
	}
	p, err := h.life.Retention(r.Context(), reg)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, viewRetention(p))
}

func (h *Handler) putRetention(w http.ResponseWriter, r *http.Request, caller *meta.Principal) error {
	reg, err := h.registry(r, caller, auth.ManageWrite)
	if err != nil {
		return err
	}
	p, err := h.life.Retention(r.Context(), reg)
	if err != nil {
		return err
	}
	var in struct {
		Status        *string `json:"status"`  // enabled or disabled, as ACR
		Enabled       *bool   `json:"enabled"` // the same as a boolean
		Days          *int    `json:"days"`
		Type          *string `json:"type"`
		KeepTags      *int    `json:"keepTags"`
		KeepFilter    *string `json:"keepTagsFilter"`
		NotPulledDays *int    `json:"notPulledDays"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	if in.Status != nil {
		switch *in.Status {
		case "enabled", "disabled":
			p.Enabled = *in.Status == "enabled"
		default:
			return errorf(http.StatusBadRequest, "BadRequest", "status must be enabled or disabled")
		}
	}
	if in.Enabled != nil {
		p.Enabled = *in.Enabled
	}
	if in.Days != nil {
		p.Days = *in.Days
	}
	if in.Type != nil {
		p.Type = *in.Type
	}
	if in.KeepTags != nil {
		p.KeepTags = *in.KeepTags
	}
	if in.KeepFilter != nil {
		p.KeepFilter = *in.KeepFilter
	}
	if in.NotPulledDays != nil {
		p.NotPulledDays = *in.NotPulledDays
	}
	p, err = h.life.SetRetention(r.Context(), reg, p)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, viewRetention(p))
}

func (h *Handler) purge(w http.ResponseWriter, r *http.Request, caller *meta.Principal) error {
	reg, err := h.registry(r, caller, auth.ManageWrite)
	if err != nil {
		return err
	}
	var o lifecycle.PurgeOptions
	if err := decode(r, &o); err != nil {
		return err
	}
	res, err := h.life.Purge(r.Context(), reg, o)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, res)
}

func (h *Handler) listPurgeSchedules(w http.ResponseWriter, r *http.Request, caller *meta.Principal) error {
	reg, err := h.registry(r, caller, auth.ManageRead)
	if err != nil {
		return err
	}
	ss, err := h.life.PurgeSchedules(r.Context(), reg)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, ss)
}

func (h *Handler) putPurgeSchedule(w http.ResponseWriter, r *http.Request, caller *meta.Principal) error {
	reg, err := h.registry(r, caller, auth.ManageWrite)
	if err != nil {
		return err
	}
	var in struct {
		Schedule string                 `json:"schedule"`
		Options  lifecycle.PurgeOptions `json:"options"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	s, err := h.life.PutPurgeSchedule(r.Context(), reg, r.PathValue("name"), in.Schedule, in.Options)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, s)
}

func (h *Handler) deletePurgeSchedule(w http.ResponseWriter, r *http.Request, caller *meta.Principal) error {
	reg, err := h.registry(r, caller, auth.ManageWrite)
	if err != nil {
		return err
	}
	if err := h.life.DeletePurgeSchedule(r.Context(), reg, r.PathValue("name")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *Handler) runGC(w http.ResponseWriter, r *http.Request, caller *meta.Principal) error {
	if err := h.require(r.Context(), caller, nil, auth.ManageWrite); err != nil {
		return err
	}
	st, err := h.life.CollectGarbage(r.Context())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"items": st.Items, "linksDropped": st.LinksDropped,
		"blobsDeleted": st.BlobsDeleted, "bytesFreed": st.BytesFreed})
}
