package mgmt

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/acre-project/acre/internal/auth"
	"github.com/acre-project/acre/internal/meta"
	"github.com/acre-project/acre/internal/webapps"
)

// SetWebApps serves the web app endpoints with apps (they answer 404 until set).
func (h *Handler) SetWebApps(apps *webapps.Service) { h.apps = apps }

// webapp wraps a web app endpoint: the caller needs need at server scope.
func (h *Handler) webapp(need auth.Management, fn func(w http.ResponseWriter, r *http.Request) error) handler {
	return func(w http.ResponseWriter, r *http.Request, caller *meta.Principal) error {
		if h.apps == nil {
			return errorf(http.StatusNotFound, "NotFound", "web apps are off on this server (webapps.addr in the configuration)")
		}
		if err := h.require(r.Context(), caller, nil, need); err != nil {
			return err
		}
		err := fn(w, r)
		if errors.Is(err, webapps.ErrInvalid) {
			return errorf(http.StatusBadRequest, "BadRequest", "%v", err)
		}
		return err
	}
}

func (h *Handler) listPlans(w http.ResponseWriter, r *http.Request) error {
	ps, err := h.apps.Plans(r.Context())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, ps)
}

func (h *Handler) createPlan(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Name    string `json:"name"`
		SKU     string `json:"sku"`
		Workers int    `json:"numberOfWorkers"`
		IsLinux *bool  `json:"isLinux"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	if in.IsLinux != nil && !*in.IsLinux {
		return errorf(http.StatusBadRequest, "BadRequest", "only Linux plans run containers here: use --is-linux")
	}
	p, err := h.apps.CreatePlan(r.Context(), in.Name, in.SKU, in.Workers)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, p)
}

func (h *Handler) showPlan(w http.ResponseWriter, r *http.Request) error {
	p, err := h.apps.Plan(r.Context(), r.PathValue("name"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, p)
}

func (h *Handler) updatePlan(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		SKU     string `json:"sku"`
		Workers int    `json:"numberOfWorkers"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	p, err := h.apps.UpdatePlan(r.Context(), r.PathValue("name"), in.SKU, in.Workers)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, p)
}

func (h *Handler) deletePlan(w http.ResponseWriter, r *http.Request) error {
	if err := h.apps.DeletePlan(r.Context(), r.PathValue("name")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *Handler) listApps(w http.ResponseWriter, r *http.Request) error {
	as, err := h.apps.Apps(r.Context())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, as)
}

func (h *Handler) createApp(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Name string `json:"name"`
		Plan string `json:"plan"`
		webapps.ConfigPatch
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	cfg := webapps.Config{AppSettings: map[string]string{}, ConnectionStrings: map[string]webapps.ConnString{}}
	if err := in.ConfigPatch.Apply(&cfg); err != nil {
		return err
	}
	a, err := h.apps.CreateApp(r.Context(), in.Name, in.Plan, cfg)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, a)
}

func (h *Handler) showApp(w http.ResponseWriter, r *http.Request) error {
	a, err := h.apps.App(r.Context(), r.PathValue("name"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, a)
}

func (h *Handler) deleteApp(w http.ResponseWriter, r *http.Request) error {
	if err := h.apps.DeleteApp(r.Context(), r.PathValue("name")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *Handler) showAppConfig(w http.ResponseWriter, r *http.Request) error {
	s, err := h.apps.Settings(r.Context(), r.PathValue("name"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, s)
}

func (h *Handler) updateAppConfig(w http.ResponseWriter, r *http.Request) error {
	var p webapps.ConfigPatch
	if err := decode(r, &p); err != nil {
		return err
	}
	if _, err := h.apps.Configure(r.Context(), r.PathValue("name"), p.Apply); err != nil {
		return err
	}
	return h.showAppConfig(w, r)
}

func (h *Handler) appAction(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("name")
	var a webapps.AppView
	var err error
	switch r.PathValue("action") {
	case "start":
		a, err = h.apps.SetStopped(r.Context(), name, false)
	case "stop":
		a, err = h.apps.SetStopped(r.Context(), name, true)
	case "restart":
		a, err = h.apps.Restart(r.Context(), name)
	default:
		return errorf(http.StatusNotFound, "NotFound", "no action %q: use start, stop or restart", r.PathValue("action"))
	}
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, a)
}

func (h *Handler) assignAppIdentity(w http.ResponseWriter, r *http.Request) error {
	id, err := h.apps.AssignIdentity(r.Context(), r.PathValue("name"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, id)
}

func (h *Handler) setAppCD(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Enabled bool `json:"enabled"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	v, err := h.apps.SetCD(r.Context(), r.PathValue("name"), in.Enabled)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, v)
}

// appLogs writes the app's recent log lines as text and, with
// ?follow=true, the next ones as they come (until the client leaves).
func (h *Handler) appLogs(w http.ResponseWriter, r *http.Request) error {
	recent, next, stop, err := h.apps.Logs(r.Context(), r.PathValue("name"))
	if err != nil {
		return err
	}
	defer stop()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	for _, l := range recent {
		fmt.Fprintln(w, l)
	}
	if r.URL.Query().Get("follow") != "true" {
		return nil
	}
	rc := http.NewResponseController(w)
	_ = rc.Flush()
	keep := time.NewTicker(30 * time.Second)
	defer keep.Stop()
	for {
		select {
		case <-r.Context().Done():
			return nil
		case l := <-next:
			fmt.Fprintln(w, l)
		case <-keep.C:
		}
		if err := rc.Flush(); err != nil {
			return nil
		}
	}
}
