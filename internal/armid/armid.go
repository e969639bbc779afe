// Package armid spells acre's resources as Azure Resource Manager ids, the
// way `az acr` shows and accepts them:
// /subscriptions/<sub>/resourceGroups/<rg>/providers/Microsoft.ContainerRegistry/registries/<name>[/<kind>/<child>].
// acre has no subscriptions or resource groups; its ids use the fixed
// Subscription and ResourceGroup, and Parse accepts any values there, so
// an id copied from Azure names the acre registry of the same name.
package armid

import (
	"strings"
)

const (
	// Subscription is the subscription id acre's resource ids carry.
	Subscription = "00000000-0000-0000-0000-000000000000"
	// ResourceGroup is the resource group acre's resources report.
	ResourceGroup = "acre"
	// Provider is ACR's resource provider.
	Provider = "Microsoft.ContainerRegistry"
	// RegistryType is a registry's resource type.
	RegistryType = Provider + "/registries"
)

// Registry is the id of registry name.
func Registry(name string) string {
	return "/subscriptions/" + Subscription + "/resourceGroups/" + ResourceGroup + "/providers/" + RegistryType + "/" + name
}

// Child is the id of a registry's child resource, e.g. Child("r", "tokens", "t").
func Child(registry, kind, name string) string {
	return Registry(registry) + "/" + kind + "/" + name
}

// Parsed is what an id names: nothing below a resource group (Registry
// empty), a registry, or a registry's child (Kind and Name).
type Parsed struct {
	Registry string
	Kind     string
	Name     string
}

// Parse reads an ARM id of a subscription, resource group, registry or a
// registry's child (case-insensitive in its fixed words, as ARM is). It
// reports false when s is not such an id.
func Parse(s string) (Parsed, bool) {
	parts := strings.Split(strings.Trim(s, "/"), "/")
	if !strings.HasPrefix(s, "/") || len(parts) < 2 || !strings.EqualFold(parts[0], "subscriptions") || parts[1] == "" {
		return Parsed{}, false
	}
	switch {
	case len(parts) == 2:
		return Parsed{}, true
	case len(parts) == 4 && strings.EqualFold(parts[2], "resourceGroups") && parts[3] != "":
		return Parsed{}, true
	case len(parts) != 8 && len(parts) != 10:
		return Parsed{}, false
	}
	if !strings.EqualFold(parts[2], "resourceGroups") || !strings.EqualFold(parts[4], "providers") ||
		!strings.EqualFold(parts[5], Provider) || !strings.EqualFold(parts[6], "registries") || parts[7] == "" {
		return Parsed{}, false
	}
	p := Parsed{Registry: parts[7]}
	if len(parts) == 10 {
		if parts[8] == "" || parts[9] == "" {
			return Parsed{}, false
		}
		p.Kind, p.Name = parts[8], parts[9]
	}
	return p, true
}
