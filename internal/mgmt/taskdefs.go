package mgmt

import (
	"io"
	"net/http"

	"github.com/acre-project/acre/internal/auth"
	"github.com/acre-project/acre/internal/tasks"
)

func (h *Handler) taskRoutes() {
	h.handle("GET /api/v1/registries/{registry}/tasks", ok(h, inRegistry(auth.ManageRead), h.listTasks))
	h.handle("POST /api/v1/registries/{registry}/tasks", created(h, inRegistry(auth.ManageWrite), h.createTask))
	h.handle("GET /api/v1/registries/{registry}/tasks/{name}", ok(h, inRegistry(auth.ManageRead), h.showTask))
	h.handle("PATCH /api/v1/registries/{registry}/tasks/{name}", ok(h, inRegistry(auth.ManageWrite), h.updateTask))
	h.handle("DELETE /api/v1/registries/{registry}/tasks/{name}", noContent(h, inRegistry(auth.ManageWrite), h.deleteTask))
	h.handle("POST /api/v1/registries/{registry}/tasks/{name}/run", accepted(h, inRegistry(auth.ManageWrite), h.runTask))
	h.taskCredentialRoutes()
	// The commit trigger's push webhook authenticates with the task's
	// webhook token (query) or a GitHub/Gitea HMAC signature, not a session.
	h.public("POST /api/v1/registries/{registry}/tasks/{name}/webhook", h.taskWebhook)
}

func (h *Handler) listTasks(q *req, _ none) ([]tasks.TaskView, error) {
	ts, err := h.tasks.ListTasks(q.Context(), q.reg)
	if err != nil {
		return nil, err
	}
	out := []tasks.TaskView{}
	for i := range ts {
		out = append(out, h.tasks.ViewTask(q.reg, &ts[i], false))
	}
	return out, nil
}

// viewTask is the answer of the calls that return one task; those who
// may change the task see its webhook URL (it holds a token).
func (h *Handler) viewTask(q *req, t *tasks.Task, err error) (tasks.TaskView, error) {
	if err != nil {
		return tasks.TaskView{}, err
	}
	return h.tasks.ViewTask(q.reg, t, h.require(q.Context(), q.caller, q.reg, auth.ManageWrite) == nil), nil
}

func (h *Handler) createTask(q *req, in tasks.TaskInput) (tasks.TaskView, error) {
	t, err := h.tasks.CreateTask(q.Context(), q.reg, q.caller.Name, in)
	return h.viewTask(q, t, err)
}

func (h *Handler) showTask(q *req, _ none) (tasks.TaskView, error) {
	t, err := h.tasks.GetTask(q.Context(), q.reg, q.name())
	return h.viewTask(q, t, err)
}

func (h *Handler) updateTask(q *req, in tasks.TaskInput) (tasks.TaskView, error) {
	t, err := h.tasks.UpdateTask(q.Context(), q.reg, q.name(), in)
	return h.viewTask(q, t, err)
}

func (h *Handler) deleteTask(q *req, _ none) error {
	return h.tasks.DeleteTask(q.Context(), q.reg, q.name())
}

func (h *Handler) runTask(q *req, _ none) (tasks.RunView, error) {
	t, err := h.tasks.GetTask(q.Context(), q.reg, q.name())
	if err != nil {
		return tasks.RunView{}, err
	}
	return h.viewRun(h.tasks.RunTask(q.Context(), q.reg, t, "Manual"))
}

// taskWebhook receives a GitHub- or Gitea-style push event for a task with
// a commit trigger and queues a run when the push is to its branch.
func (h *Handler) taskWebhook(w http.ResponseWriter, r *http.Request) error {
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
}
