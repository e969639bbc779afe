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
	h.handle("POST /api/v1/registries/{registry}/sources", created(h, inRegistry(auth.ManageWrite), h.uploadSource))
	h.handle("POST /api/v1/registries/{registry}/runs", accepted(h, inRegistry(auth.ManageWrite), h.scheduleRun))
	h.handle("GET /api/v1/registries/{registry}/runs", ok(h, inRegistry(auth.ManageRead), h.listRuns))
	h.handle("GET /api/v1/registries/{registry}/runs/{run}", ok(h, inRegistry(auth.ManageRead), h.showRun))
	h.handle("GET /api/v1/registries/{registry}/runs/{run}/logs", ok(h, inRegistry(auth.ManageRead), h.runLogs))
	h.handle("POST /api/v1/registries/{registry}/runs/{run}/cancel", accepted(h, inRegistry(auth.ManageWrite), h.cancelRun))
	h.taskRoutes()
	return h
}

// uploadSource stores a build context (a tarball, streamed) for a run.
func (h *Handler) uploadSource(q *req, _ none) (map[string]any, error) {
	d, n, err := h.tasks.PutSource(q.Context(), q.reg, q.Body)
	if err != nil {
		return nil, errorf(http.StatusBadRequest, "BadRequest", "upload source: %v", err)
	}
	return map[string]any{"digest": d.String(), "size": n}, nil
}

// scheduleRun queues a quick build or quick run, run as the caller.
func (h *Handler) scheduleRun(q *req, spec tasks.RunSpec) (tasks.RunView, error) {
	spec.Identity = q.caller.Name
	return h.viewRun(h.tasks.SubmitQuick(q.Context(), q.reg, spec))
}

// viewRun is the answer of the calls that return one run.
func (h *Handler) viewRun(run *meta.Run, err error) (tasks.RunView, error) {
	if err != nil {
		return tasks.RunView{}, err
	}
	return h.tasks.View(run), nil
}

func (h *Handler) listRuns(q *req, _ none) ([]tasks.RunView, error) {
	top := 15
	if v := q.URL.Query().Get("top"); v != "" {
		var err error
		if top, err = strconv.Atoi(v); err != nil || top < 1 || top > 1000 {
			return nil, errorf(http.StatusBadRequest, "BadRequest", "top: a number from 1 to 1000")
		}
	}
	runs, err := h.tasks.List(q.Context(), q.reg, q.URL.Query().Get("task"), top)
	if err != nil {
		return nil, err
	}
	out := []tasks.RunView{}
	for i := range runs {
		out = append(out, h.tasks.View(&runs[i]))
	}
	return out, nil
}

// run loads the {run} of the path, checking that it belongs to q.reg.
func (h *Handler) run(q *req) (*meta.Run, error) {
	id, ok := tasks.ParseRunName(q.PathValue("run"))
	if !ok {
		return nil, errorf(http.StatusNotFound, "NotFound", "no run %q", q.PathValue("run"))
	}
	run, err := h.tasks.Get(q.Context(), id)
	if err != nil || run.RegistryID != q.reg.ID {
		return nil, errorf(http.StatusNotFound, "NotFound", "no run %q in registry %s", q.PathValue("run"), q.reg.Name)
	}
	return run, nil
}

func (h *Handler) showRun(q *req, _ none) (tasks.RunView, error) { return h.viewRun(h.run(q)) }

// runLogs writes a run's log as text; ?follow=true streams it until the run ends.
func (h *Handler) runLogs(q *req, _ none) (written, error) {
	run, err := h.run(q)
	if err != nil {
		return written{}, err
	}
	w := q.w
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	flush := func() {}
	if f, ok := w.(http.Flusher); ok {
		flush = f.Flush
	}
	follow, _ := strconv.ParseBool(q.URL.Query().Get("follow"))
	if err := h.tasks.WriteLog(q.Context(), run.ID, w, follow, flush); err != nil && q.Context().Err() == nil {
		h.log.Warn("run log", "run", tasks.RunName(run.ID), "err", err)
	}
	return written{}, nil
}

func (h *Handler) cancelRun(q *req, _ none) (tasks.RunView, error) {
	run, err := h.run(q)
	if err != nil {
		return tasks.RunView{}, err
	}
	if run.Finished() {
		return tasks.RunView{}, errorf(http.StatusConflict, "Conflict", "run %s already ended (%s)", tasks.RunName(run.ID), run.State)
	}
	if err := h.tasks.Cancel(q.Context(), run.ID); err != nil {
		return tasks.RunView{}, err
	}
	return h.viewRun(h.tasks.Get(q.Context(), run.ID))
}
