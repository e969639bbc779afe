package registry

import (
	"context"
	"encoding/json"
	"time"

	"github.com/acre-project/acre/internal/meta"
	"github.com/google/uuid"
	"github.com/opencontainers/go-digest"
)

// RequestInfo describes the request behind a change, for events and audit.
type RequestInfo struct {
	ID        string
	Host      string
	Method    string
	UserAgent string
	Actor     string
}

type requestInfoKey struct{}

// WithRequestInfo returns ctx carrying ri.
func WithRequestInfo(ctx context.Context, ri RequestInfo) context.Context {
	return context.WithValue(ctx, requestInfoKey{}, ri)
}

// RequestInfoFrom returns the RequestInfo in ctx, if any.
func RequestInfoFrom(ctx context.Context) RequestInfo {
	ri, _ := ctx.Value(requestInfoKey{}).(RequestInfo)
	return ri
}

// eventTarget and eventPayload follow ACR's webhook payload field by field.
type eventTarget struct {
	MediaType  string `json:"mediaType"`
	Size       int64  `json:"size,omitempty"`
	Digest     string `json:"digest"`
	Length     int64  `json:"length,omitempty"`
	Repository string `json:"repository"`
	Tag        string `json:"tag,omitempty"`
	Name       string `json:"name,omitempty"`    // charts
	Version    string `json:"version,omitempty"` // charts
}

type eventRequest struct {
	ID        string `json:"id"`
	Host      string `json:"host"`
	Method    string `json:"method"`
	UserAgent string `json:"useragent"`
}

type eventPayload struct {
	ID        string        `json:"id"`
	Timestamp time.Time     `json:"timestamp"`
	Action    string        `json:"action"`
	Target    eventTarget   `json:"target"`
	Request   *eventRequest `json:"request,omitempty"`
}

// appendEvent writes one event to the outbox inside the caller's transaction.
func appendEvent(ctx context.Context, q Store, regID int64, action, repo, tag string, d digest.Digest, mediaType string, size int64) error {
	now := time.Now().UTC()
	ri := RequestInfoFrom(ctx)
	p := eventPayload{ID: uuid.NewString(), Timestamp: now, Action: action,
		Target: eventTarget{MediaType: mediaType, Size: size, Length: size, Digest: d.String(), Repository: repo, Tag: tag}}
	if ri.ID != "" {
		p.Request = &eventRequest{ID: ri.ID, Host: ri.Host, Method: ri.Method, UserAgent: ri.UserAgent}
	}
	body, err := json.Marshal(p)
	if err != nil {
		return err
	}
	return q.AppendEvent(ctx, &meta.Event{RegistryID: regID, Action: action, Repository: repo, Tag: tag, Digest: d,
		MediaType: mediaType, Size: size, Payload: body, CreatedAt: now})
}

// MediaTypeHelmConfig marks a Helm chart pushed as an OCI artifact.
const MediaTypeHelmConfig = "application/vnd.cncf.helm.config.v1+json"

// chart is the part of a Helm chart's config events need.
type chart struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// appendChartEvent writes ACR's chart_push or chart_delete event (which
// carries no request object) for a Helm chart manifest.
func appendChartEvent(ctx context.Context, q Store, regID int64, action, repo string, d digest.Digest, size int64, c chart) error {
	now := time.Now().UTC()
	tag := c.Name + "-" + c.Version + ".tgz"
	p := eventPayload{ID: uuid.NewString(), Timestamp: now, Action: action, Target: eventTarget{
		MediaType: "application/vnd.acr.helm.chart", Size: size, Digest: d.String(), Repository: repo, Tag: tag,
		Name: c.Name, Version: c.Version}}
	body, err := json.Marshal(p)
	if err != nil {
		return err
	}
	return q.AppendEvent(ctx, &meta.Event{RegistryID: regID, Action: action, Repository: repo, Tag: tag, Digest: d,
		MediaType: p.Target.MediaType, Size: size, Payload: body, CreatedAt: now})
}
