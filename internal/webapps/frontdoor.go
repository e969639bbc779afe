package webapps

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"strings"
	"time"
)

// FrontDoor returns the handler that serves the apps: by host
// (<app>.<domain>) or, without DNS, by path (/<app>/...; the prefix is
// removed and passed as X-Forwarded-Prefix). Requests go to the app's
// instances in turn with the usual forwarded headers. <app>.scm.<domain>
// (or /<app>.scm/) serves the CD webhook at /api/registry/webhook.
func (s *Service) FrontDoor(tls bool) http.Handler {
	proto := "http"
	if tls {
		proto = "https"
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name, prefix := s.route(r)
		if app, ok := strings.CutSuffix(name, ".scm"); ok {
			s.serveSCM(w, r, app, strings.TrimPrefix(r.URL.Path, prefix))
			return
		}
		c := s.lookup(name)
		if name == "" || c == nil {
			http.Error(w, "404 web app not found", http.StatusNotFound)
			return
		}
		s.proxy(w, r, c, name, prefix, proto)
	})
}

// route finds the app a request is for, and the path prefix naming it.
func (s *Service) route(r *http.Request) (name, prefix string) {
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	if app, ok := strings.CutSuffix(strings.ToLower(host), "."+strings.ToLower(s.o.Domain)); ok && app != "" {
		return app, ""
	}
	seg, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	if seg == "" {
		return "", ""
	}
	return seg, "/" + seg
}

func (s *Service) proxy(w http.ResponseWriter, r *http.Request, c *controller, name, prefix, proto string) {
	if c.stopped.Load() {
		http.Error(w, "503 the web app is stopped: acre webapp start -n "+name, http.StatusServiceUnavailable)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 60*time.Second)
	l := c.waitLive(ctx)
	cancel()
	in := l.pick()
	if in == nil {
		http.Error(w, "503 the web app is not running: see acre webapp show -n "+name, http.StatusServiceUnavailable)
		return
	}
	in.inflight.Add(1)
	defer in.inflight.Add(-1)
	rp := &httputil.ReverseProxy{
		Transport: in.transport,
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.Out.URL.Scheme, pr.Out.URL.Host = "http", "localhost"
			if prefix != "" {
				pr.Out.URL.Path = strings.TrimPrefix(pr.In.URL.Path, prefix)
				pr.Out.URL.RawPath = ""
				if pr.Out.URL.Path == "" {
					pr.Out.URL.Path = "/"
				}
				pr.Out.Header.Set("X-Forwarded-Prefix", prefix)
			}
			pr.SetXForwarded()
			pr.Out.Header.Set("X-Forwarded-Proto", proto)
			pr.Out.Host = pr.In.Host
			pr.Out.Header.Set("X-Original-URL", pr.In.URL.RequestURI())
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			http.Error(w, "502 the web app did not answer: "+err.Error(), http.StatusBadGateway)
		},
	}
	rp.ServeHTTP(w, r)
}

// serveSCM serves the CD webhook: POST /api/registry/webhook with the
// app's CD secret as the password (Basic) or the last path segment.
func (s *Service) serveSCM(w http.ResponseWriter, r *http.Request, app, path string) {
	secret := ""
	if _, p, ok := r.BasicAuth(); ok {
		secret = p
	} else if rest, ok := strings.CutPrefix(path, "/api/registry/webhook/"); ok {
		secret, path = rest, "/api/registry/webhook"
	}
	if r.Method != http.MethodPost || path != "/api/registry/webhook" {
		http.Error(w, "404 not found", http.StatusNotFound)
		return
	}
	var ev struct {
		Action string `json:"action"`
		Target struct {
			Repository string `json:"repository"`
			Tag        string `json:"tag"`
		} `json:"target"`
	}
	_ = json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&ev)
	if err := s.cdHook(r.Context(), app, secret, ev.Action, ev.Target.Repository, ev.Target.Tag); err != nil {
		http.Error(w, "401 "+err.Error(), http.StatusUnauthorized)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func constantEqual(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }
