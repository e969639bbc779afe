package server

import (
	"errors"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/acre-project/acre/internal/acrapi"
	"github.com/acre-project/acre/internal/auth"
	"github.com/acre-project/acre/internal/errcode"
	"github.com/acre-project/acre/internal/lifecycle"
	"github.com/acre-project/acre/internal/mgmt"
	"github.com/acre-project/acre/internal/oci"
	"github.com/acre-project/acre/internal/route"
)

// Handler returns the whole HTTP surface: each path goes to its API by
// route.Of, behind the one request middleware (withRequest).
func (s *Server) Handler() http.Handler {
	var gate *auth.Gate
	var tokens, mgmtAPI http.Handler = notFound(s.log), notFound(s.log)
	if s.auth != nil {
		gate = auth.NewGate(s.auth)
		tokens = acrapi.NewTokenHandler(s.svc, s.auth, s.log)
		m := mgmt.New(s.svc, s.life, s.auth, s.hooks, s.log)
		if s.apps != nil {
			m.SetWebApps(s.apps)
		}
		if s.tasks != nil {
			m.WithTasks(s.tasks)
		}
		m.SetKeyVault(s.vault)
		mgmtAPI = m
	}
	v2 := oci.New(s.svc, gate, s.audit, s.log)
	v2.SetThrottle(lifecycle.NewThrottle(s.svc.Limits))
	acrv1 := acrapi.NewV1Handler(s.svc, gate, s.log)
	mux := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch api := route.Of(r.URL.Path); {
		case api == route.Distribution:
			v2.ServeHTTP(w, r)
		case api == route.ACR:
			acrv1.ServeHTTP(w, r)
		case api == route.OAuth2:
			tokens.ServeHTTP(w, r)
		case api == route.Management:
			mgmtAPI.ServeHTTP(w, r)
		case api == route.Metrics && s.cfg.Metrics.Enabled && s.cfg.Metrics.Addr == "":
			s.serveMetrics(w, r)
		case api == route.Healthz:
			w.WriteHeader(http.StatusOK)
			_, _ = w.Write([]byte("ok\n"))
		case api == route.Readyz:
			if err := s.meta.Ping(r.Context()); err != nil {
				http.Error(w, "metadata store: "+err.Error(), http.StatusServiceUnavailable)
				return
			}
			_, _ = w.Write([]byte("ready\n"))
		default:
			notFound(s.log).ServeHTTP(w, r)
		}
	})
	return withRequest(s.log, s.metrics, s.proxies, mux)
}

// serveMetrics serves /metrics on the main listener: the figures name
// registries and their sizes, so only a signed-in identity with Reader (or
// more) at server scope sees them. On its own metrics.addr, the operator
// decides who reaches it.
func (s *Server) serveMetrics(w http.ResponseWriter, r *http.Request) {
	if s.auth != nil {
		p, err := s.auth.Caller(r)
		var th *auth.ThrottledError
		switch {
		case errors.As(err, &th):
			w.Header().Set("Retry-After", strconv.Itoa(int(th.RetryAfter.Seconds())+1))
			http.Error(w, err.Error(), http.StatusTooManyRequests)
			return
		case err != nil:
			w.Header().Set("WWW-Authenticate", `Basic realm="acre metrics"`)
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		if m, err := s.auth.Management(r.Context(), p, nil); err != nil || m&auth.ManageRead == 0 {
			http.Error(w, p.Name+" needs Reader at server scope to read metrics", http.StatusForbidden)
			return
		}
	}
	s.metrics.Handler().ServeHTTP(w, r)
}

func notFound(log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		oci.WriteError(w, r, log, errcode.Errorf(errcode.EndpointUnknown, "no such endpoint: %s", r.URL.Path))
	})
}
