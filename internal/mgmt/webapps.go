package mgmt

import (
	"fmt"
	"net/http"
	"time"

	"github.com/acre-project/acre/internal/webapps"
)

// SetWebApps serves the web app endpoints with apps (they answer 404 until set).
func (h *Handler) SetWebApps(apps *webapps.Service) { h.apps = apps }

func (h *Handler) listPlans(q *req, _ none) ([]webapps.PlanView, error) {
	return h.apps.Plans(q.Context())
}

func (h *Handler) createPlan(q *req, in struct {
	Name    string `json:"name"`
	SKU     string `json:"sku"`
	Workers int    `json:"numberOfWorkers"`
	IsLinux *bool  `json:"isLinux"`
}) (webapps.PlanView, error) {
	if in.IsLinux != nil && !*in.IsLinux {
		return webapps.PlanView{}, errorf(http.StatusBadRequest, "BadRequest", "only Linux plans run containers here: use --is-linux")
	}
	return h.apps.CreatePlan(q.Context(), in.Name, in.SKU, in.Workers)
}

func (h *Handler) showPlan(q *req, _ none) (webapps.PlanView, error) {
	return h.apps.Plan(q.Context(), q.name())
}

func (h *Handler) updatePlan(q *req, in struct {
	SKU     string `json:"sku"`
	Workers int    `json:"numberOfWorkers"`
}) (webapps.PlanView, error) {
	return h.apps.UpdatePlan(q.Context(), q.name(), in.SKU, in.Workers)
}

func (h *Handler) deletePlan(q *req, _ none) error { return h.apps.DeletePlan(q.Context(), q.name()) }

func (h *Handler) listApps(q *req, _ none) ([]webapps.AppView, error) {
	return h.apps.Apps(q.Context())
}

func (h *Handler) createApp(q *req, in struct {
	Name string `json:"name"`
	Plan string `json:"plan"`
	webapps.ConfigPatch
}) (webapps.AppView, error) {
	cfg := webapps.Config{AppSettings: map[string]string{}, ConnectionStrings: map[string]webapps.ConnString{}}
	if err := in.ConfigPatch.Apply(&cfg); err != nil {
		return webapps.AppView{}, err
	}
	return h.apps.CreateApp(q.Context(), in.Name, in.Plan, cfg)
}

func (h *Handler) showApp(q *req, _ none) (webapps.AppView, error) {
	return h.apps.App(q.Context(), q.name())
}

func (h *Handler) deleteApp(q *req, _ none) error { return h.apps.DeleteApp(q.Context(), q.name()) }

func (h *Handler) showAppConfig(q *req, _ none) (webapps.SettingsView, error) {
	return h.apps.Settings(q.Context(), q.name())
}

func (h *Handler) updateAppConfig(q *req, p webapps.ConfigPatch) (webapps.SettingsView, error) {
	if _, err := h.apps.Configure(q.Context(), q.name(), p.Apply); err != nil {
		return webapps.SettingsView{}, err
	}
	return h.showAppConfig(q, none{})
}

func (h *Handler) appAction(q *req, _ none) (webapps.AppView, error) {
	switch q.PathValue("action") {
	case "start":
		return h.apps.SetStopped(q.Context(), q.name(), false)
	case "stop":
		return h.apps.SetStopped(q.Context(), q.name(), true)
	case "restart":
		return h.apps.Restart(q.Context(), q.name())
	}
	return webapps.AppView{}, errorf(http.StatusNotFound, "NotFound", "no action %q: use start, stop or restart", q.PathValue("action"))
}

func (h *Handler) assignAppIdentity(q *req, _ none) (webapps.IdentityView, error) {
	return h.apps.AssignIdentity(q.Context(), q.name())
}

func (h *Handler) setAppCD(q *req, in struct {
	Enabled bool `json:"enabled"`
}) (webapps.CDView, error) {
	return h.apps.SetCD(q.Context(), q.name(), in.Enabled)
}

// appLogs writes the app's recent log lines as text and, with
// ?follow=true, the next ones as they come (until the client leaves).
func (h *Handler) appLogs(q *req, _ none) (written, error) {
	recent, next, stop, err := h.apps.Logs(q.Context(), q.name())
	if err != nil {
		return written{}, err
	}
	w, r := q.w, q.Request
	defer stop()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	for _, l := range recent {
		fmt.Fprintln(w, l)
	}
	if r.URL.Query().Get("follow") != "true" {
		return written{}, nil
	}
	rc := http.NewResponseController(w)
	_ = rc.Flush()
	keep := time.NewTicker(30 * time.Second)
	defer keep.Stop()
	for {
		select {
		case <-r.Context().Done():
			return written{}, nil
		case l := <-next:
			fmt.Fprintln(w, l)
		case <-keep.C:
		}
		if err := rc.Flush(); err != nil {
			return written{}, nil
		}
	}
}
