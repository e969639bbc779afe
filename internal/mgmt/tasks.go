package mgmt

import (
	"net/http"
	"strconv"

	"github.com/acre-project/acre/internal/auth"
	"github.com/acre-project/acre/internal/meta"
	"github.com/acre-project/acre/internal/tasks"
)

// WithTasks adds the builds, runs and tasks endpoints.
func (h *Handler) WithTasks(t *tasks.Service) *Handler {
	h.tasks = t
	h.handle("POST /api/v1/registries/{registry}/sources", h.uploadSource)
	h.handle("POST /api/v1/registries/{registry}/runs", h.scheduleRun)
	h.handle("GET /api/v1/registries/{registry}/runs", h.listRuns)
	h.handle("GET /api/v1/registries/{registry}/runs/{run}", h.showRun)
	h.handle("GET /api/v1/registries/{registry}/runs/{run}/logs", h.runLogs)
	h.handle("POST /api/v1/registries/{registry}/runs/{run}/cancel", h.cancelRun)
	h.taskRoutes()
	return h
}

// uploadSource stores a build context (a tarball, streamed) for a run.
func (h *Handler) uploadSource(w http.ResponseWriter, r *http.Request, caller *meta.Principal) error {
	if _, err := h.registry(r, caller, auth.ManageWrite); err != nil {
		return err
	}
	d, n, err := h.tasks.PutSource(r.Context(), r.Body)
	if err != nil {
		return errorf(http.StatusBadRequest, "BadRequest", "upload source: %v", err)
	}
	return writeJSON(w, http.StatusCreated, map[string]any{"digest": d.String(), "size": n})
}

// scheduleRun queues a quick build or quick run, run as the caller.
func (h *Handler) scheduleRun(w http.ResponseWriter, r *http.Request, caller *meta.Principal) error {
	reg, err := h.registry(r, caller, auth.ManageWrite)
	if err != nil {
		return err
	}
	var spec tasks.RunSpec
	if err := decode(r, &spec); err != nil {
		return err
	}
	spec.Identity = caller.Name
	run, err := h.tasks.SubmitQuick(r.Context(), reg, spec)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusAccepted, h.tasks.View(run))
}

func (h *Handler) listRuns(w http.ResponseWriter, r *http.Request, caller *meta.Principal) error {
	reg, err := h.registry(r, caller, auth.ManageRead)
	if err != nil {
		return err
	}
	top := 15
	if v := r.URL.Query().Get("top"); v != "" {
		if top, err = strconv.Atoi(v); err != nil || top < 1 || top > 1000 {
			return errorf(http.StatusBadRequest, "BadRequest", "top: a number from 1 to 1000")
		}
	}
	runs, err := h.tasks.List(r.Context(), reg, r.URL.Query().Get("task"), top)
	if err != nil {
		return err
	}
	out := []tasks.RunView{}
	for i := range runs {
		out = append(out, h.tasks.View(&runs[i]))
	}
	return writeJSON(w, http.StatusOK, out)
}

// run loads the {run} of the path, checking that it belongs to reg.
func (h *Handler) run(r *http.Request, caller *meta.Principal, need auth.Management) (*meta.Run, error) {
	reg, err := h.registry(r, caller, need)
	if err != nil {
		return nil, err
	}
	id, ok := tasks.ParseRunName(r.PathValue("run"))
	if !ok {
		return nil, errorf(http.StatusNotFound, "NotFound", "no run %q", r.PathValue("run"))
	}
	run, err := h.tasks.Get(r.Context(), id)
	if err != nil || run.RegistryID != reg.ID {
		return nil, errorf(http.StatusNotFound, "NotFound", "no run %q in registry %s", r.PathValue("run"), reg.Name)
	}
	return run, nil
}

func (h *Handler) showRun(w http.ResponseWriter, r *http.Request, caller *meta.Principal) error {
	run, err := h.run(r, caller, auth.ManageRead)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, h.tasks.View(run))
}

// runLogs writes a run's log as text; ?follow=true streams it until the run ends.
func (h *Handler) runLogs(w http.ResponseWriter, r *http.Request, caller *meta.Principal) error {
	run, err := h.run(r, caller, auth.ManageRead)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	flush := func() {}
	if f, ok := w.(http.Flusher); ok {
		flush = f.Flush
	}
	follow, _ := strconv.ParseBool(r.URL.Query().Get("follow"))
	if err := h.tasks.WriteLog(r.Context(), run.ID, w, follow, flush); err != nil && r.Context().Err() == nil {
		h.log.Warn("run log", "run", tasks.RunName(run.ID), "err", err)
	}
	return nil
}

func (h *Handler) cancelRun(w http.ResponseWriter, r *http.Request, caller *meta.Principal) error {
	run, err := h.run(r, caller, auth.ManageWrite)
	if err != nil {
		return err
	}
	if run.Finished() {
		return errorf(http.StatusConflict, "Conflict", "run %s already ended (%s)", tasks.RunName(run.ID), run.State)
	}
	if err := h.tasks.Cancel(r.Context(), run.ID); err != nil {
		return err
	}
	run, err = h.tasks.Get(r.Context(), run.ID)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusAccepted, h.tasks.View(run))
}
