package mgmt

import (
	"net/http"

	"github.com/acre-project/acre/internal/armid"
)

// resource is the shape ARM gives every resource, which the API's views
// of registries and webhooks begin with, as ACR's do.
type resource struct {
	ID            string         `json:"id"`
	Name          string         `json:"name"`
	Type          string         `json:"type"`
	Location      string         `json:"location"`
	ResourceGroup string         `json:"resourceGroup"`
	Tags          map[string]any `json:"tags"`
}

func armResource(id, name, typ string) resource {
	return resource{ID: id, Name: name, Type: typ, Location: "local", ResourceGroup: armid.ResourceGroup, Tags: map[string]any{}}
}

// set sets *dst to *v when v is given (a field absent from a change keeps its value).
func set[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}

// setStatus sets *enabled from a status given as "enabled" or "disabled", as ACR's.
func setStatus(enabled *bool, status *string) error {
	if status == nil {
		return nil
	}
	switch *status {
	case "enabled", "disabled":
		*enabled = *status == "enabled"
		return nil
	}
	return errorf(http.StatusBadRequest, "BadRequest", "status must be enabled or disabled")
}
