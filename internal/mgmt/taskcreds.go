package mgmt

import (
	"github.com/acre-project/acre/internal/auth"
	"github.com/acre-project/acre/internal/tasks"
)

// taskCredentialRoutes are ACR's task credential commands: logins to
// other registries a task's runs pull base images from.
func (h *Handler) taskCredentialRoutes() {
	h.handle("GET /api/v1/registries/{registry}/tasks/{name}/credentials", ok(h, inRegistry(auth.ManageRead), h.listTaskCredentials))
	h.handle("POST /api/v1/registries/{registry}/tasks/{name}/credentials", created(h, inRegistry(auth.ManageWrite), h.addTaskCredential))
	h.handle("PATCH /api/v1/registries/{registry}/tasks/{name}/credentials/{server}", ok(h, inRegistry(auth.ManageWrite), h.updateTaskCredential))
	h.handle("DELETE /api/v1/registries/{registry}/tasks/{name}/credentials/{server}", ok(h, inRegistry(auth.ManageWrite), h.removeTaskCredential))
}

type credentialViews = map[string]tasks.CredentialView

func (h *Handler) listTaskCredentials(q *req, _ none) (credentialViews, error) {
	return h.tasks.Credentials(q.Context(), q.reg, q.name())
}

// credentialInput is the body of add and update (update takes the login
// server from the path).
type credentialInput struct {
	LoginServer string `json:"loginServer"`
	Username    string `json:"username"`
	Password    string `json:"password"`
	Identity    string `json:"identity"` // client ID reading Key Vault secret URLs ("[system]": the task's identity)
}

func (h *Handler) addTaskCredential(q *req, in credentialInput) (credentialViews, error) {
	return h.setTaskCredential(q, tasks.CredentialAdd, in.LoginServer, in)
}

func (h *Handler) updateTaskCredential(q *req, in credentialInput) (credentialViews, error) {
	return h.setTaskCredential(q, tasks.CredentialUpdate, q.PathValue("server"), in)
}

func (h *Handler) removeTaskCredential(q *req, _ none) (credentialViews, error) {
	return h.setTaskCredential(q, tasks.CredentialRemove, q.PathValue("server"), credentialInput{})
}

func (h *Handler) setTaskCredential(q *req, op, server string, in credentialInput) (credentialViews, error) {
	return h.tasks.SetCredential(q.Context(), q.reg, q.name(), op, server,
		tasks.RegistryCredential{Username: in.Username, Password: in.Password, Identity: in.Identity})
}
