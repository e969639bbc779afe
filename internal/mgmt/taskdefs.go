package mgmt

import (
	"io"
	"net/http"

	"github.com/acre-project/acre/internal/auth"
	"github.com/acre-project/acre/internal/meta"
	"github.com/acre-project/acre/internal/tasks"
)

func (h *Handler) taskRoutes() {
	h.handle("GET /api/v1/registries/{registry}/tasks", h.listTasks)
	h.handle("POST /api/v1/registries/{registry}/tasks", h.createTask)
	h.handle("GET /api/v1/registries/{registry}/tasks/{name}", h.showTask)
	h.handle("PATCH /api/v1/registries/{registry}/tasks/{name}", h.updateTask)
	h.handle("DELETE /api/v1/registries/{registry}/tasks/{name}", h.deleteTask)
	h.handle("POST /api/v1/registries/{registry}/tasks/{name}/run", h.runTask)
	// The commit trigger's push webhook authenticates with the task's
	// webhook token (query) or a GitHub/Gitea HMAC signature, not a session.
	h.mux.HandleFunc("POST /api/v1/registries/{registry}/tasks/{name}/webhook", h.taskWebhook)
}

func (h *Handler) listTasks(w http.ResponseWriter, r *http.Request, caller *meta.Principal) error {
	reg, err := h.registry(r, caller, auth.ManageRead)
	if err != nil {
		return err
	}
	ts, err := h.tasks.ListTasks(r.Context(), reg)
	if err != nil {
		return err
	}
	out := []tasks.TaskView{}
	for i := range ts {
		out = append(out, h.tasks.ViewTask(reg, &ts[i], false))
	}
	return writeJSON(w, http.StatusOK, out)
}

func (h *Handler) createTask(w http.ResponseWriter, r *http.Request, caller *meta.Principal) error {
	return h.saveTask(w, r, caller, http.StatusCreated, func(reg *meta.Registry, in tasks.TaskInput) (*tasks.Task, error) {
		return h.tasks.CreateTask(r.Context(), reg, caller.Name, in)
	})
}

// saveTask decodes a task input and saves it with save.
func (h *Handler) saveTask(w http.ResponseWriter, r *http.Request, caller *meta.Principal, status int,
	save func(*meta.Registry, tasks.TaskInput) (*tasks.Task, error)) error {
	reg, err := h.registry(r, caller, auth.ManageWrite)
	if err != nil {
		return err
	}
	var in tasks.TaskInput
	if err := decode(r, &in); err != nil {
		return err
	}
	t, err := save(reg, in)
	if err != nil {
		return err
	}
	return writeJSON(w, status, h.tasks.ViewTask(reg, t, true))
}

func (h *Handler) showTask(w http.ResponseWriter, r *http.Request, caller *meta.Principal) error {
	reg, err := h.registry(r, caller, auth.ManageRead)
	if err != nil {
		return err
	}
	t, err := h.tasks.GetTask(r.Context(), reg, r.PathValue("name"))
	if err != nil {
		return err
	}
	// Those who may change the task see its webhook URL (it holds a token).
	return writeJSON(w, http.StatusOK, h.tasks.ViewTask(reg, t, h.require(r.Context(), caller, reg, auth.ManageWrite) == nil))
}

func (h *Handler) updateTask(w http.ResponseWriter, r *http.Request, caller *meta.Principal) error {
	return h.saveTask(w, r, caller, http.StatusOK, func(reg *meta.Registry, in tasks.TaskInput) (*tasks.Task, error) {
		return h.tasks.UpdateTask(r.Context(), reg, r.PathValue("name"), in)
	})
}

func (h *Handler) deleteTask(w http.ResponseWriter, r *http.Request, caller *meta.Principal) error {
	reg, err := h.registry(r, caller, auth.ManageWrite)
	if err != nil {
		return err
	}
	if err := h.tasks.DeleteTask(r.Context(), reg, r.PathValue("name")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *Handler) runTask(w http.ResponseWriter, r *http.Request, caller *meta.Principal) error {
	reg, err := h.registry(r, caller, auth.ManageWrite)
	if err != nil {
		return err
	}
	t, err := h.tasks.GetTask(r.Context(), reg, r.PathValue("name"))
	if err != nil {
		return err
	}
	run, err := h.tasks.RunTask(r.Context(), reg, t, "Manual")
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusAccepted, h.tasks.View(run))
}

// taskWebhook receives a GitHub- or Gitea-style push event for a task with
// a commit trigger and queues a run when the push is to its branch.
func (h *Handler) taskWebhook(w http.ResponseWriter, r *http.Request) {
	err := func() error {
		reg, err := h.reg.GetRegistry(r.Context(), r.PathValue("registry"))
		if err != nil {
			return errorf(http.StatusNotFound, "NotFound", "no such task")
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			return err
		}
		run, err := h.tasks.CommitWebhook(r.Context(), reg, r.PathValue("name"), r.URL.Query().Get("token"), r.Header, body)
		if err != nil {
			return err
		}
		if run == nil {
			return writeJSON(w, http.StatusOK, map[string]string{"result": "ignored: not a push to the task's branch"})
		}
		return writeJSON(w, http.StatusAccepted, h.tasks.View(run))
	}()
	if err != nil {
		h.writeError(w, r, err)
	}
}
