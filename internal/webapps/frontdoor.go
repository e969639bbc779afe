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
	"sync"
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
	in := c.acquire(r.Context())
	if in == nil {
		http.Error(w, "503 the web app is not running: see acre webapp show -n "+name, http.StatusServiceUnavailable)
		return
	}
	defer in.inflight.Add(-1)
	ctx := context.WithValue(r.Context(), routeKey{}, route{prefix: prefix, proto: proto})
	in.proxy.ServeHTTP(w, r.WithContext(ctx))
}

type routeKey struct{}

// route is what the proxy of an instance needs to know of a request.
type route struct{ prefix, proto string }

// newProxy is the reverse proxy to one instance: it removes the path
// prefix naming the app (passed on as X-Forwarded-Prefix) and sets the
// forwarded headers; the Host stays the client's.
func newProxy(t http.RoundTripper, buffers httputil.BufferPool) *httputil.ReverseProxy {
	return &httputil.ReverseProxy{
		Transport:  t,
		BufferPool: buffers,
		Rewrite: func(pr *httputil.ProxyRequest) {
			rt, _ := pr.In.Context().Value(routeKey{}).(route)
			pr.Out.URL.Scheme, pr.Out.URL.Host = "http", "localhost"
			if rt.prefix != "" {
				pr.Out.URL.Path = strings.TrimPrefix(pr.In.URL.Path, rt.prefix)
				pr.Out.URL.RawPath = ""
				if pr.Out.URL.Path == "" {
					pr.Out.URL.Path = "/"
				}
				pr.Out.Header.Set("X-Forwarded-Prefix", rt.prefix)
			}
			pr.SetXForwarded()
			pr.Out.Header.Set("X-Forwarded-Proto", rt.proto)
			pr.Out.Host = pr.In.Host
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			http.Error(w, "502 the web app did not answer: "+err.Error(), http.StatusBadGateway)
		},
	}
}

// acquire picks an instance and counts the request in its in-flight
// requests, waiting a while for one to serve. A set being retired is left
// for the current one: retire marks the set before it waits for the count
// to drop, and acquire counts before it looks at the mark, so no request
// reaches an instance after it was drained.
func (c *controller) acquire(ctx context.Context) *instance {
	c.lastReq.Store(time.Now().UnixNano())
	if c.idle.CompareAndSwap(true, false) {
		c.logs.platform("a request wakes the idle app")
		c.wake()
	}
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	for {
		l := c.waitLive(ctx)
		in := l.pick()
		if in == nil {
			return nil
		}
		in.inflight.Add(1)
		if !l.retired.Load() {
			return in
		}
		in.inflight.Add(-1)
		if c.live.Load() == l {
			return nil // being stopped
		}
	}
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

// bufferPool reuses the proxies' copy buffers.
type bufferPool struct{ p sync.Pool }

func newBufferPool() *bufferPool {
	return &bufferPool{p: sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}}
}

func (b *bufferPool) Get() []byte  { return *(b.p.Get().(*[]byte)) }
func (b *bufferPool) Put(x []byte) { b.p.Put(&x) }
