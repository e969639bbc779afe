package mgmt

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/acre-project/acre/internal/armid"
	"github.com/acre-project/acre/internal/auth"
	"github.com/acre-project/acre/internal/errcode"
	"github.com/acre-project/acre/internal/meta"
	"github.com/acre-project/acre/internal/registry"
	skus "github.com/acre-project/acre/internal/sku"
)

// registryView is a registry as the API shows it: ACR's resource shape
// (`az acr show`), with acre's own fields added (throttlingEnabled,
// isDefault, and adminUserCredentials once, when enabling the admin user
// generated its passwords).
type registryView struct {
	resource
	SKU                      skuView                `json:"sku"`
	LoginServer              string                 `json:"loginServer"`
	AdminUserEnabled         bool                   `json:"adminUserEnabled"`
	AnonymousPullEnabled     bool                   `json:"anonymousPullEnabled"`
	CreationDate             time.Time              `json:"creationDate"`
	ProvisioningState        string                 `json:"provisioningState"`
	PublicNetworkAccess      string                 `json:"publicNetworkAccess"`
	NetworkRuleBypassOptions string                 `json:"networkRuleBypassOptions"`
	ZoneRedundancy           string                 `json:"zoneRedundancy"`
	DataEndpointEnabled      bool                   `json:"dataEndpointEnabled"`
	DataEndpointHostNames    []string               `json:"dataEndpointHostNames"`
	Encryption               map[string]any         `json:"encryption"`
	Policies                 policies               `json:"policies"`
	ThrottlingEnabled        bool                   `json:"throttlingEnabled"`
	IsDefault                bool                   `json:"isDefault"` // also served on the server's plain address
	AdminCredentials         *auth.AdminCredentials `json:"adminUserCredentials,omitempty"`
}

// skuView is ACR's {name, tier}.
type skuView struct {
	Name string `json:"name"`
	Tier string `json:"tier"`
}

// skuName reads a SKU given as "Premium" or as {"name": "Premium"}.
type skuName string

func (s *skuName) UnmarshalJSON(b []byte) error {
	var name string
	if json.Unmarshal(b, &name) == nil {
		*s = skuName(name)
		return nil
	}
	var v struct{ Name string }
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*s = skuName(v.Name)
	return nil
}

type status struct {
	Status string `json:"status"`
}

// policies are ACR's registry policies. Retention is acre's policy (see
// /retention); the others show what acre does: no content trust or
// quarantine gate, exports allowed, no soft delete.
type policies struct {
	Retention  retentionView  `json:"retentionPolicy"`
	Trust      map[string]any `json:"trustPolicy"`
	Quarantine status         `json:"quarantinePolicy"`
	Export     status         `json:"exportPolicy"`
	AADAsARM   status         `json:"azureAdAuthenticationAsArmPolicy"`
	SoftDelete map[string]any `json:"softDeletePolicy"`
}

func (h *Handler) viewRegistry(ctx context.Context, r *meta.Registry) registryView {
	ret, err := h.life.Retention(ctx, r)
	if err != nil {
		h.log.WarnContext(ctx, "registry view: retention", "registry", r.Name, "err", err)
	}
	return registryView{resource: armResource(armid.Registry(r.Name), r.Name, armid.RegistryType), SKU: skuView{r.SKU, r.SKU}, LoginServer: r.LoginServer,
		AdminUserEnabled: r.Settings.AdminEnabled, AnonymousPullEnabled: r.Settings.AnonymousPull, CreationDate: r.CreatedAt,
		ProvisioningState: "Succeeded", PublicNetworkAccess: "Enabled", NetworkRuleBypassOptions: "AzureServices",
		ZoneRedundancy: "Disabled", DataEndpointHostNames: []string{}, Encryption: map[string]any{"status": "disabled"},
		Policies: policies{Retention: viewRetention(ret), Trust: map[string]any{"status": "disabled", "type": "Notary"},
			Quarantine: status{"disabled"}, Export: status{"enabled"}, AADAsARM: status{"enabled"},
			SoftDelete: map[string]any{"status": "disabled", "retentionDays": 7}},
		ThrottlingEnabled: r.Settings.Throttling, IsDefault: r.Name == h.reg.DefaultRegistry()}
}

// validNewRegistryName is ACR's rule for a new registry's name: 5-50
// lower-case letters and digits. (Registries the operator configures may
// have shorter names, such as the default "acre".)
func validNewRegistryName(name string) bool {
	return len(name) >= 5 && registry.ValidRegistryName(name)
}

// anonymousAllowed reports whether a registry of sku may allow anonymous
// pull: not on Basic, as in ACR, unless the operator's sku_limits allow it.
func (h *Handler) anonymousAllowed(sku string) error {
	if sku == "" {
		sku = skus.Default
	}
	if !h.reg.Limits(&meta.Registry{SKU: sku}).AnonymousPull {
		return errorf(http.StatusBadRequest, "FeatureNotSupportedForSku", "anonymous pull is not supported on the %s SKU; use Standard or Premium", sku)
	}
	return nil
}

// registryChange is what PATCH /registries/{registry} may change.
type registryChange struct {
	SKU                  *skuName `json:"sku"`
	AdminUserEnabled     *bool    `json:"adminUserEnabled"`
	AnonymousPullEnabled *bool    `json:"anonymousPullEnabled"`
	ThrottlingEnabled    *bool    `json:"throttlingEnabled"`
}

// changeRegistry applies in to reg. Enabling the admin user when it has
// no passwords generates both, as ACR has them once enabled; since acre
// keeps only their hashes, this answer is the one place they are shown.
func (h *Handler) changeRegistry(ctx context.Context, reg *meta.Registry, in registryChange) (registryView, error) {
	reg, err := h.reg.UpdateRegistry(ctx, reg.Name, func(m *meta.Registry) error {
		if in.SKU != nil {
			sku, ok := skus.Canonical(string(*in.SKU))
			if !ok {
				return errorf(http.StatusBadRequest, "BadRequest", "sku must be Basic, Standard or Premium")
			}
			m.SKU = sku
		}
		if in.AdminUserEnabled != nil {
			m.Settings.AdminEnabled = *in.AdminUserEnabled
		}
		if in.AnonymousPullEnabled != nil {
			m.Settings.AnonymousPull = *in.AnonymousPullEnabled
		}
		if in.ThrottlingEnabled != nil {
			m.Settings.Throttling = *in.ThrottlingEnabled
		}
		if m.Settings.AnonymousPull {
			return h.anonymousAllowed(m.SKU)
		}
		return nil
	})
	if err != nil {
		return registryView{}, err
	}
	h.auth.Forget()
	view := h.viewRegistry(ctx, reg)
	if reg.Settings.AdminEnabled && in.AdminUserEnabled != nil && *in.AdminUserEnabled {
		cur, err := h.auth.AdminShow(ctx, reg)
		if err != nil {
			return view, err
		}
		if len(cur.Passwords) == 0 {
			c, err := h.auth.AdminRenew(ctx, reg, "")
			if err != nil {
				return view, err
			}
			view.AdminCredentials = &c
		}
	}
	return view, nil
}

// checkName answers like ARM's checkNameAvailability: whether a new
// registry could take the name. Any signed-in identity may ask.
func (h *Handler) checkName(q *req, in struct {
	Name string `json:"name"`
	Type string `json:"type"`
}) (map[string]any, error) {
	if in.Type != "" && !strings.EqualFold(in.Type, armid.RegistryType) {
		return nil, errorf(http.StatusBadRequest, "BadRequest", "type must be %s", armid.RegistryType)
	}
	out := map[string]any{"nameAvailable": true, "reason": nil, "message": nil}
	in.Name = strings.ToLower(in.Name)
	switch _, err := h.reg.GetRegistry(q.Context(), in.Name); {
	case !validNewRegistryName(in.Name):
		out = map[string]any{"nameAvailable": false, "reason": "Invalid",
			"message": "The specified resource name is invalid: use 5-50 lower-case letters and digits."}
	case err == nil:
		out = map[string]any{"nameAvailable": false, "reason": "AlreadyExists",
			"message": fmt.Sprintf("The registry %s is already in use.", in.Name)}
	case !errors.Is(err, meta.ErrNotFound) && !isNameUnknown(err):
		return nil, err
	}
	return out, nil
}

// isNameUnknown recognizes the core's "no such registry".
func isNameUnknown(err error) bool {
	var re *errcode.Error
	return errors.As(err, &re) && re.Code == errcode.NameUnknown
}

func (h *Handler) listRegistries(q *req, _ none) ([]registryView, error) {
	regs, err := h.reg.ListRegistries(q.Context(), meta.Page{N: 1 << 30})
	if err != nil {
		return nil, err
	}
	out := []registryView{}
	for i := range regs {
		if m, err := h.auth.Management(q.Context(), q.caller, &regs[i]); err == nil && m&auth.ManageRead != 0 {
			out = append(out, h.viewRegistry(q.Context(), &regs[i]))
		}
	}
	return out, nil
}

func (h *Handler) createRegistry(q *req, in struct {
	Name                 string  `json:"name"`
	SKU                  skuName `json:"sku"`
	AdminUserEnabled     bool    `json:"adminUserEnabled"`
	AnonymousPullEnabled bool    `json:"anonymousPullEnabled"`
}) (registryView, error) {
	in.Name = strings.ToLower(in.Name) // case-insensitive, as ACR's
	if !validNewRegistryName(in.Name) {
		return registryView{}, errorf(http.StatusBadRequest, "InvalidRegistryName", "registry name %q: use 5-50 lower-case letters and digits", in.Name)
	}
	if in.AnonymousPullEnabled {
		if err := h.anonymousAllowed(string(in.SKU)); err != nil {
			return registryView{}, err
		}
	}
	reg, err := h.reg.CreateRegistry(q.Context(), in.Name, string(in.SKU))
	if err != nil {
		return registryView{}, err
	}
	if in.AdminUserEnabled || in.AnonymousPullEnabled {
		return h.changeRegistry(q.Context(), reg, registryChange{AdminUserEnabled: &in.AdminUserEnabled, AnonymousPullEnabled: &in.AnonymousPullEnabled})
	}
	return h.viewRegistry(q.Context(), reg), nil
}

func (h *Handler) showRegistry(q *req, _ none) (registryView, error) {
	return h.viewRegistry(q.Context(), q.reg), nil
}

func (h *Handler) updateRegistry(q *req, in registryChange) (registryView, error) {
	return h.changeRegistry(q.Context(), q.reg, in)
}

func (h *Handler) deleteRegistry(q *req, _ none) error {
	if err := h.reg.DeleteRegistry(q.Context(), q.reg.Name); err != nil {
		return err
	}
	h.auth.Forget()
	return nil
}

func (h *Handler) showCredentials(q *req, _ none) (auth.AdminCredentials, error) {
	return h.auth.AdminShow(q.Context(), q.reg)
}

func (h *Handler) renewCredentials(q *req, in struct {
	Name string `json:"name"`
}) (auth.AdminCredentials, error) {
	return h.auth.AdminRenew(q.Context(), q.reg, in.Name)
}
