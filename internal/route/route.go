// Package route is acre's URL layout, in one place: which API a path
// belongs to (Of), what a /v2/ path names (ParseV2) and what an /acr/v1/
// path names (ParseV1). The server dispatches on Of, its metrics label
// requests with Label, the oci and acrapi handlers route on ParseV2 and
// ParseV1, and webhooks refuse URLs into acre's own APIs with IsAPI.
// It depends on nothing of acre.
package route

import "strings"

// API is the part of acre's HTTP surface a path belongs to.
type API int

const (
	Other        API = iota // none of acre's: 404
	Distribution            // /v2/: the OCI Distribution API (package oci)
	ACR                     // /acr/v1/: ACR's data-plane API (package acrapi)
	OAuth2                  // /oauth2/: the token endpoints (package acrapi)
	Management              // /api/: the management API (package mgmt)
	Metrics                 // /metrics
	Healthz                 // /healthz: the process is up
	Readyz                  // /readyz: the metadata store answers
)

// Of is the API that serves path p.
func Of(p string) API {
	switch {
	case p == "/v2" || strings.HasPrefix(p, "/v2/"):
		return Distribution
	case strings.HasPrefix(p, "/acr/v1/"):
		return ACR
	case strings.HasPrefix(p, "/oauth2/"):
		return OAuth2
	case strings.HasPrefix(p, "/api/"):
		return Management
	case p == "/metrics":
		return Metrics
	case p == "/healthz":
		return Healthz
	case p == "/readyz":
		return Readyz
	}
	return Other
}

// IsAPI reports whether p (compared without case, as a cautious check
// of a URL acre is asked to call) is under one of acre's APIs: /v2/,
// /acr/, /oauth2/ or /api/.
func IsAPI(p string) bool {
	p = strings.ToLower(p)
	switch Of(p) {
	case Distribution, ACR, OAuth2, Management:
		return true
	}
	return strings.HasPrefix(p, "/acr/")
}

// Label names p's route for metrics, from a small fixed set of values
// (never a repository name): v2_ping, v2_catalog, v2_tags, v2_manifest,
// v2_blob, v2_upload, v2_referrers, v2_other, acr_v1, oauth2, api,
// metrics, healthz, readyz or other.
func Label(p string) string {
	switch Of(p) {
	case Distribution:
		rt, ok := ParseV2(p)
		switch {
		case !ok:
			return "v2_other"
		case rt.Kind == Uploads:
			return "v2_upload"
		}
		return "v2_" + string(rt.Kind)
	case ACR:
		return "acr_v1"
	case OAuth2:
		return "oauth2"
	case Management:
		return "api"
	case Metrics, Healthz, Readyz:
		return strings.TrimPrefix(p, "/")
	}
	return "other"
}
