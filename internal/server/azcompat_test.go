package server

import (
	"encoding/json"
	"net/http"
	"testing"
)

// TestAzCompatEndpointsDenied checks who may use the endpoints az acr
// needs: check-name takes any signed-in identity (not an anonymous one),
// deleting a token password needs the access permission (a Reader is
// refused and the password stays), and a registry id is accepted as a
// role assignment scope only by those who may grant there.
func TestAzCompatEndpointsDenied(t *testing.T) {
	s := newTestServer(t, nil)
	reader := cred{user: "reader", pass: "reader-password-1"}
	s.api(http.MethodPost, "/api/v1/identities", map[string]string{"name": reader.user, "password": reader.pass}, nil)
	s.api(http.MethodPost, "/api/v1/roleAssignments", map[string]string{"assignee": reader.user, "role": "Reader", "scope": "/registries/acre"}, nil)
	s.api(http.MethodPost, "/api/v1/registries/acre/tokens", map[string]string{"name": "ci-token", "scopeMap": "_repositories_pull"}, nil)

	check := []byte(`{"name":"newregistry"}`)
	if resp, b := s.do(http.MethodPost, "/api/v1/checkNameAvailability", cred{}, check, "Content-Type", "application/json"); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("check-name without signing in: %d %s", resp.StatusCode, b)
	}
	resp, b := s.do(http.MethodPost, "/api/v1/checkNameAvailability", reader, check, "Content-Type", "application/json")
	var ans struct{ NameAvailable bool }
	if resp.StatusCode != http.StatusOK || json.Unmarshal(b, &ans) != nil || !ans.NameAvailable {
		t.Errorf("check-name as a reader: %d %s", resp.StatusCode, b)
	}

	if resp, b := s.do(http.MethodDelete, "/api/v1/registries/acre/tokens/ci-token/credentials/password1", reader, nil); resp.StatusCode != http.StatusForbidden {
		t.Errorf("a reader deleting a token password: %d %s", resp.StatusCode, b)
	}
	var tok struct {
		Credentials struct{ Passwords []struct{ Name string } }
	}
	s.api(http.MethodGet, "/api/v1/registries/acre/tokens/ci-token", nil, &tok)
	if len(tok.Credentials.Passwords) != 2 {
		t.Fatalf("after a refused delete: %+v", tok)
	}
	s.api(http.MethodDelete, "/api/v1/registries/acre/tokens/ci-token/credentials/password1", nil, nil)
	s.api(http.MethodGet, "/api/v1/registries/acre/tokens/ci-token", nil, &tok)
	if len(tok.Credentials.Passwords) != 1 || tok.Credentials.Passwords[0].Name != "password2" {
		t.Fatalf("after the owner's delete: %+v", tok)
	}

	id := "/subscriptions/1/resourceGroups/rg/providers/Microsoft.ContainerRegistry/registries/acre"
	body, _ := json.Marshal(map[string]string{"assignee": reader.user, "role": "AcrPush", "scope": id})
	if resp, b := s.do(http.MethodPost, "/api/v1/roleAssignments", reader, body, "Content-Type", "application/json"); resp.StatusCode != http.StatusForbidden {
		t.Errorf("a reader granting on a registry id: %d %s", resp.StatusCode, b)
	}
	var a struct{ Scope string }
	s.api(http.MethodPost, "/api/v1/roleAssignments", map[string]string{"assignee": reader.user, "role": "AcrPush", "scope": id}, &a)
	if a.Scope != "/registries/acre" {
		t.Errorf("a registry id as scope became %q", a.Scope)
	}
}
