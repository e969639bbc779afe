package oci

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/acre-project/acre/internal/auth"
	"github.com/acre-project/acre/internal/errcode"
	"github.com/acre-project/acre/internal/meta"
	"github.com/acre-project/acre/internal/reference"
	"github.com/acre-project/acre/internal/route"
)

// auditInfo is what a manifest handler learns for the audit entry.
type auditInfo struct {
	m *meta.Manifest
}

type auditKey struct{}

// noteManifest tells the audit entry which manifest the request touched.
func noteManifest(ctx context.Context, m *meta.Manifest) {
	if info, ok := ctx.Value(auditKey{}).(*auditInfo); ok {
		info.m = m
	}
}

// record writes a repository audit entry like ACR's RepositoryEvents:
// Pull, Push, Delete (a manifest) or Untag.
func (h *Handler) record(r *http.Request, reg *meta.Registry, rt route.V2, info *auditInfo, err error, start time.Time) {
	var op string
	switch r.Method {
	case http.MethodGet:
		op = "Pull"
	case http.MethodPut:
		op = "Push"
	case http.MethodDelete:
		op = "Delete"
		if !reference.IsDigest(rt.Arg) {
			op = "Untag"
		}
	}
	e := meta.AuditEntry{At: start.UTC(), RegistryID: reg.ID, Category: "repository", Operation: op,
		Repository: rt.Name, CallerIP: auth.ClientIP(r), UserAgent: r.UserAgent(), Result: "Success",
		DurationMS: time.Since(start).Milliseconds()}
	if id := identity(r.Context()); id != nil {
		e.Identity = id.Name()
		if id.Principal != nil {
			e.PrincipalKind, e.PrincipalID = id.Principal.Kind, id.Principal.UID
		}
	}
	if reference.IsDigest(rt.Arg) {
		e.Digest = rt.Arg
	} else {
		e.Tag = rt.Arg
	}
	if info.m != nil {
		e.Digest, e.MediaType, e.Size = info.m.Digest.String(), info.m.MediaType, info.m.Size
	}
	if err != nil {
		e.Result = "Failed"
		if c := errcode.CodeOf(err).Wire(); c != "" {
			e.Result = "Failed: " + strings.ToLower(string(c))
		}
	}
	h.audit.Record(e)
}
