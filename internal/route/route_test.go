package route

import "testing"

func TestOfAndLabel(t *testing.T) {
	tests := []struct {
		path  string
		api   API
		label string
	}{
		{"/v2", Distribution, "v2_ping"},
		{"/v2/", Distribution, "v2_ping"},
		{"/v2/_catalog", Distribution, "v2_catalog"},
		{"/v2/a/b/tags/list", Distribution, "v2_tags"},
		{"/v2/a/manifests/v1", Distribution, "v2_manifest"},
		{"/v2/a/blobs/sha256:x", Distribution, "v2_blob"},
		{"/v2/a/blobs/uploads/", Distribution, "v2_upload"},
		{"/v2/a/blobs/uploads/id", Distribution, "v2_upload"},
		{"/v2/a/referrers/sha256:x", Distribution, "v2_referrers"},
		{"/v2/a", Distribution, "v2_other"},
		{"/v2x", Other, "other"},
		{"/acr/v1/_catalog", ACR, "acr_v1"},
		{"/acr/v2/x", Other, "other"},
		{"/oauth2/token", OAuth2, "oauth2"},
		{"/api/v1/registries", Management, "api"},
		{"/metrics", Metrics, "metrics"},
		{"/healthz", Healthz, "healthz"},
		{"/readyz", Readyz, "readyz"},
		{"/", Other, "other"},
		{"/API/v1/x", Other, "other"},
	}
	for _, tt := range tests {
		if got := Of(tt.path); got != tt.api {
			t.Errorf("Of(%q) = %v, want %v", tt.path, got, tt.api)
		}
		if got := Label(tt.path); got != tt.label {
			t.Errorf("Label(%q) = %q, want %q", tt.path, got, tt.label)
		}
	}
}

func TestIsAPI(t *testing.T) {
	for p, want := range map[string]bool{
		"/v2/": true, "/V2/a/manifests/x": true, "/acr/v1/_catalog": true, "/acr/anything": true,
		"/oauth2/token": true, "/Api/v1/gc": true, "/v2": true,
		"/": false, "/hook": false, "/apis": false, "/v20/": false, "/metrics": false,
	} {
		if got := IsAPI(p); got != want {
			t.Errorf("IsAPI(%q) = %v, want %v", p, got, want)
		}
	}
}
