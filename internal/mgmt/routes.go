package mgmt

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"github.com/acre-project/acre/internal/auth"
	"github.com/acre-project/acre/internal/meta"
)

func (h *Handler) routes() {
	h.mux.HandleFunc("POST /api/v1/session", h.session)
	h.handle("GET /api/v1/whoami", h.whoami)
	h.handle("GET /api/v1/registries", h.listRegistries)
	h.handle("POST /api/v1/checkNameAvailability", h.checkName)
	h.handle("POST /api/v1/registries", h.createRegistry)
	h.handle("GET /api/v1/registries/{registry}", h.showRegistry)
	h.handle("PATCH /api/v1/registries/{registry}", h.updateRegistry)
	h.handle("DELETE /api/v1/registries/{registry}", h.deleteRegistry)
	h.handle("GET /api/v1/registries/{registry}/credentials", h.showCredentials)
	h.handle("POST /api/v1/registries/{registry}/credentials/renew", h.renewCredentials)
	h.handle("GET /api/v1/identities", h.listIdentities)
	h.handle("POST /api/v1/identities", h.createIdentity)
	h.handle("DELETE /api/v1/identities/{name}", h.deleteIdentity)
	h.handle("POST /api/v1/identities/{name}/reset", h.resetIdentity)
	h.handle("GET /api/v1/roleAssignments", h.listAssignments)
	h.handle("POST /api/v1/roleAssignments", h.createAssignment)
	h.handle("DELETE /api/v1/roleAssignments/{id}", h.deleteAssignment)
	h.handle("GET /api/v1/registries/{registry}/scopeMaps", h.listScopeMaps)
	h.handle("PUT /api/v1/registries/{registry}/scopeMaps/{name}", h.putScopeMap)
	h.handle("GET /api/v1/registries/{registry}/scopeMaps/{name}", h.showScopeMap)
	h.handle("DELETE /api/v1/registries/{registry}/scopeMaps/{name}", h.deleteScopeMap)
	h.handle("GET /api/v1/registries/{registry}/tokens", h.listTokens)
	h.handle("POST /api/v1/registries/{registry}/tokens", h.createToken)
	h.handle("GET /api/v1/registries/{registry}/tokens/{name}", h.showToken)
	h.handle("PATCH /api/v1/registries/{registry}/tokens/{name}", h.updateToken)
	h.handle("DELETE /api/v1/registries/{registry}/tokens/{name}", h.deleteToken)
	h.handle("POST /api/v1/registries/{registry}/tokens/{name}/credentials/generate", h.generateTokenPassword)
	h.handle("DELETE /api/v1/registries/{registry}/tokens/{name}/credentials/{password}", h.deleteTokenPassword)
	h.handle("GET /api/v1/registries/{registry}/audit", h.listAudit)
	h.handle("GET /api/v1/registries/{registry}/usage", h.usage)
	h.handle("POST /api/v1/signingKeys/rotate", h.rotateKeys)
	h.handle("GET /api/v1/registries/{registry}/retention", h.showRetention)
	h.handle("PUT /api/v1/registries/{registry}/retention", h.putRetention)
	h.handle("POST /api/v1/registries/{registry}/purge", h.purge)
	h.handle("GET /api/v1/registries/{registry}/purgeSchedules", h.listPurgeSchedules)
	h.handle("PUT /api/v1/registries/{registry}/purgeSchedules/{name}", h.putPurgeSchedule)
	h.handle("DELETE /api/v1/registries/{registry}/purgeSchedules/{name}", h.deletePurgeSchedule)
	h.handle("POST /api/v1/gc", h.runGC)
	h.handle("GET /api/v1/registries/{registry}/webhooks", h.listWebhooks)
	h.handle("POST /api/v1/registries/{registry}/webhooks", h.createWebhook)
	h.handle("GET /api/v1/registries/{registry}/webhooks/{name}", h.showWebhook)
	h.handle("PATCH /api/v1/registries/{registry}/webhooks/{name}", h.updateWebhook)
	h.handle("DELETE /api/v1/registries/{registry}/webhooks/{name}", h.deleteWebhook)
	h.handle("POST /api/v1/registries/{registry}/webhooks/{name}/ping", h.pingWebhook)
	h.handle("GET /api/v1/registries/{registry}/webhooks/{name}/events", h.webhookEvents)
	h.handle("GET /api/v1/registries/{registry}/webhooks/{name}/config", h.webhookConfig)
	h.handle("GET /api/v1/serverfarms", h.webapp(auth.ManageRead, h.listPlans))
	h.handle("POST /api/v1/serverfarms", h.webapp(auth.ManageWrite, h.createPlan))
	h.handle("GET /api/v1/serverfarms/{name}", h.webapp(auth.ManageRead, h.showPlan))
	h.handle("PATCH /api/v1/serverfarms/{name}", h.webapp(auth.ManageWrite, h.updatePlan))
	h.handle("DELETE /api/v1/serverfarms/{name}", h.webapp(auth.ManageWrite, h.deletePlan))
	h.handle("GET /api/v1/webapps", h.webapp(auth.ManageRead, h.listApps))
	h.handle("POST /api/v1/webapps", h.webapp(auth.ManageWrite, h.createApp))
	h.handle("GET /api/v1/webapps/{name}", h.webapp(auth.ManageRead, h.showApp))
	h.handle("DELETE /api/v1/webapps/{name}", h.webapp(auth.ManageWrite, h.deleteApp))
	h.handle("GET /api/v1/webapps/{name}/config", h.webapp(auth.ManageWrite, h.showAppConfig))
	h.handle("PATCH /api/v1/webapps/{name}/config", h.webapp(auth.ManageWrite, h.updateAppConfig))
	h.handle("POST /api/v1/webapps/{name}/{action}", h.webapp(auth.ManageWrite, h.appAction))
	h.handle("PUT /api/v1/webapps/{name}/identity", h.webapp(auth.ManageWrite, h.assignAppIdentity))
	h.handle("PUT /api/v1/webapps/{name}/cd", h.webapp(auth.ManageWrite, h.setAppCD))
	h.handle("GET /api/v1/webapps/{name}/logs", h.webapp(auth.ManageWrite, h.appLogs))
	h.handle("POST /api/v1/webapps/{name}/ssh", h.appSSH)
	h.handle("GET /api/v1/vaults", h.vaultOp(auth.ManageRead, h.listVaults))
	h.handle("POST /api/v1/vaults", h.vaultOp(auth.ManageWrite, h.createVault))
	h.handle("GET /api/v1/vaults/{name}", h.vaultOp(auth.ManageRead, h.showVault))
	h.handle("DELETE /api/v1/vaults/{name}", h.vaultOp(auth.ManageWrite, h.deleteVault))
	h.handle("GET /api/v1/vaults/{name}/secrets", h.vaultOp(auth.ManageRead, h.listSecrets))
	h.handle("PUT /api/v1/vaults/{name}/secrets/{secret}", h.vaultOp(auth.ManageWrite, h.setSecret))
	h.handle("GET /api/v1/vaults/{name}/secrets/{secret}", h.vaultOp(auth.ManageWrite, h.showSecret))
	h.mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		h.writeError(w, r, errorf(http.StatusNotFound, "NotFound", "no such endpoint: %s %s", r.Method, r.URL.Path))
	})
}

// session signs in (Basic credentials or a JSON user name and password)
// and returns a session token for this API and /oauth2/exchange.
func (h *Handler) session(w http.ResponseWriter, r *http.Request) {
	var in struct{ Username, Password string }
	if u, p, ok := r.BasicAuth(); ok {
		in.Username, in.Password = u, p
	} else if err := decode(r, &in); err != nil {
		h.writeError(w, r, err)
		return
	}
	p, err := h.auth.SignIn(r, auth.Attempt{User: in.Username, Password: in.Password, Method: auth.MethodSession, AuditAlways: true})
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	iss, err := h.auth.IssueSession(p)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"token": iss.Token, "expiresIn": iss.ExpiresIn, "user": p.Name, "principalType": p.Kind})
}

func (h *Handler) whoami(w http.ResponseWriter, r *http.Request, caller *meta.Principal) error {
	as, err := h.auth.Assignments(r.Context(), caller.Name)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"name": caller.Name, "principalType": caller.Kind, "roleAssignments": as})
}

func (h *Handler) listRegistries(w http.ResponseWriter, r *http.Request, caller *meta.Principal) error {
	regs, err := h.reg.ListRegistries(r.Context(), meta.Page{N: 1 << 30})
	if err != nil {
		return err
	}
	out := []registryView{}
	for i := range regs {
		if m, err := h.auth.Management(r.Context(), caller, &regs[i]); err == nil && m&auth.ManageRead != 0 {
			out = append(out, h.viewRegistry(r.Context(), &regs[i]))
		}
	}
	return writeJSON(w, http.StatusOK, out)
}

func (h *Handler) createRegistry(w http.ResponseWriter, r *http.Request, caller *meta.Principal) error {
	if err := h.require(r.Context(), caller, nil, auth.ManageWrite); err != nil {
		return err
	}
	var in struct {
		Name                 string  `json:"name"`
		SKU                  skuName `json:"sku"`
		AdminUserEnabled     bool    `json:"adminUserEnabled"`
		AnonymousPullEnabled bool    `json:"anonymousPullEnabled"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	in.Name = strings.ToLower(in.Name) // case-insensitive, as ACR's
	if !validNewRegistryName(in.Name) {
		return errorf(http.StatusBadRequest, "InvalidRegistryName", "registry name %q: use 5-50 lower-case letters and digits", in.Name)
	}
	if in.AnonymousPullEnabled {
		if err := h.anonymousAllowed(string(in.SKU)); err != nil {
			return err
		}
	}
	reg, err := h.reg.CreateRegistry(r.Context(), in.Name, string(in.SKU))
	if err != nil {
		return err
	}
	view := h.viewRegistry(r.Context(), reg)
	if in.AdminUserEnabled || in.AnonymousPullEnabled {
		if view, err = h.changeRegistry(r, reg, registryChange{AdminUserEnabled: &in.AdminUserEnabled, AnonymousPullEnabled: &in.AnonymousPullEnabled}); err != nil {
			return err
		}
	}
	return writeJSON(w, http.StatusCreated, view)
}

func (h *Handler) showRegistry(w http.ResponseWriter, r *http.Request, caller *meta.Principal) error {
	reg, err := h.registry(r, caller, auth.ManageRead)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, h.viewRegistry(r.Context(), reg))
}

func (h *Handler) updateRegistry(w http.ResponseWriter, r *http.Request, caller *meta.Principal) error {
	reg, err := h.registry(r, caller, auth.ManageWrite)
	if err != nil {
		return err
	}
	var in registryChange
	if err := decode(r, &in); err != nil {
		return err
	}
	view, err := h.changeRegistry(r, reg, in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, view)
}

func (h *Handler) deleteRegistry(w http.ResponseWriter, r *http.Request, caller *meta.Principal) error {
	reg, err := h.registry(r, caller, auth.ManageWrite)
	if err != nil {
		return err
	}
	if err := h.reg.DeleteRegistry(r.Context(), reg.Name); err != nil {
		return err
	}
	h.auth.Forget()
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *Handler) showCredentials(w http.ResponseWriter, r *http.Request, caller *meta.Principal) error {
	reg, err := h.registry(r, caller, auth.ManageWrite)
	if err != nil {
		return err
	}
	c, err := h.auth.AdminShow(r.Context(), reg)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, c)
}

func (h *Handler) renewCredentials(w http.ResponseWriter, r *http.Request, caller *meta.Principal) error {
	reg, err := h.registry(r, caller, auth.ManageWrite)
	if err != nil {
		return err
	}
	var in struct {
		Name string `json:"name"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	c, err := h.auth.AdminRenew(r.Context(), reg, in.Name)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, c)
}

func (h *Handler) listAudit(w http.ResponseWriter, r *http.Request, caller *meta.Principal) error {
	reg, err := h.registry(r, caller, auth.ManageRead)
	if err != nil {
		return err
	}
	after, _ := strconv.ParseInt(r.URL.Query().Get("after"), 10, 64)
	n, _ := strconv.Atoi(r.URL.Query().Get("n"))
	if n <= 0 || n > 1000 {
		n = 100
	}
	entries, err := h.auth.Audit(r.Context(), reg.ID, after, n, r.URL.Query().Get("category"))
	if err != nil {
		return err
	}
	if r.URL.Query().Get("format") == "jsonl" {
		// JSON lines, for shipping to a log system.
		w.Header().Set("Content-Type", "application/x-ndjson")
		enc := json.NewEncoder(w)
		for _, e := range entries {
			if err := enc.Encode(e); err != nil {
				return nil
			}
		}
		return nil
	}
	return writeJSON(w, http.StatusOK, entries)
}

func (h *Handler) rotateKeys(w http.ResponseWriter, r *http.Request, caller *meta.Principal) error {
	if err := h.require(r.Context(), caller, nil, auth.ManageAccess); err != nil {
		return err
	}
	if err := h.auth.RotateKeys(r.Context()); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// usage answers like ACR's list-usages: current value and limit of each quota.
func (h *Handler) usage(w http.ResponseWriter, r *http.Request, caller *meta.Principal) error {
	reg, err := h.registry(r, caller, auth.ManageRead)
	if err != nil {
		return err
	}
	ctx := r.Context()
	used, err := h.life.Usage(ctx, reg)
	if err != nil {
		return err
	}
	hooks, err := h.hooks.List(ctx, reg)
	if err != nil {
		return err
	}
	tokens, err := h.auth.Tokens(ctx, reg)
	if err != nil {
		return err
	}
	maps, err := h.auth.ScopeMaps(ctx, reg)
	if err != nil {
		return err
	}
	userMaps := 0
	for _, m := range maps {
		if m.ScopeMapType == "UserDefined" {
			userMaps++
		}
	}
	lim := h.reg.Limits(reg)
	type usage struct {
		Name         string `json:"name"`
		CurrentValue int64  `json:"currentValue"`
		Limit        int64  `json:"limit"`
		Unit         string `json:"unit"`
	}
	return writeJSON(w, http.StatusOK, map[string]any{"value": []usage{
		{"Size", used, lim.StorageLimit, "Bytes"},
		{"IncludedStorage", used, lim.IncludedStorage, "Bytes"},
		{"Webhooks", int64(len(hooks)), int64(lim.Webhooks), "Count"},
		{"Geo-replications", 0, int64(lim.Replications), "Count"},
		{"IPRules", 0, int64(lim.IPRules), "Count"},
		{"VNetRules", 0, 0, "Count"},
		{"PrivateEndpointConnections", 0, int64(lim.PrivateEndpoints), "Count"},
		{"ScopeMaps", int64(userMaps), int64(lim.ScopeMaps), "Count"},
		{"Tokens", int64(len(tokens)), int64(lim.Tokens), "Count"},
	}})
}
