package webhook

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Proxy is a forward HTTP proxy (absolute-URI requests and CONNECT
// tunnels) whose every connection is dialled through the Guard: what a
// build engine fetches on a user's behalf (Dockerfile ADD <url>, git
// sources, base images of other registries) reaches no address the Guard
// refuses. Pass names destinations (host:port, as the client asked) that
// are dialled without the Guard: acre's own registries, which the engine
// pulls from and pushes to. A refused destination gets 403 with the
// reason as the status text (which HTTP clients report for CONNECT).
type Proxy struct {
	Guard *Guard
	Pass  func(hostport string) bool // may be nil
	Log   *slog.Logger

	once sync.Once
	dial func(ctx context.Context, network, addr string) (net.Conn, error)
	tr   *http.Transport
}

// hopHeaders are meant for one connection, not forwarded.
var hopHeaders = []string{"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate",
	"Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade"}

func (p *Proxy) init() {
	p.once.Do(func() {
		guarded := p.Guard.Dialer(30 * time.Second)
		plain := (&net.Dialer{Timeout: 30 * time.Second}).DialContext
		p.dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
			if p.Pass != nil && p.Pass(addr) {
				return plain(ctx, network, addr)
			}
			return guarded(ctx, network, addr)
		}
		p.tr = &http.Transport{Proxy: nil, DialContext: p.dial, MaxIdleConnsPerHost: 4,
			IdleConnTimeout: 90 * time.Second, TLSHandshakeTimeout: 30 * time.Second}
	})
}

// ServeHTTP implements http.Handler.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.init()
	if r.Method == http.MethodConnect {
		p.connect(w, r)
		return
	}
	if !r.URL.IsAbs() || r.URL.Host == "" || (r.URL.Scheme != "http" && r.URL.Scheme != "https") {
		http.Error(w, "this is a forward proxy: send an absolute http(s) URL", http.StatusBadRequest)
		return
	}
	out := r.Clone(r.Context())
	out.RequestURI = ""
	for _, h := range hopHeaders {
		out.Header.Del(h)
	}
	resp, err := p.tr.RoundTrip(out)
	if err != nil {
		p.fail(w, r.URL.Host, err)
		return
	}
	defer resp.Body.Close()
	for _, h := range hopHeaders {
		resp.Header.Del(h)
	}
	for k, vs := range resp.Header {
		w.Header()[k] = vs
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = io.Copy(w, resp.Body)
}

// connect opens a tunnel to r.Host.
func (p *Proxy) connect(w http.ResponseWriter, r *http.Request) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		http.Error(w, "cannot tunnel", http.StatusInternalServerError)
		return
	}
	up, err := p.dial(r.Context(), "tcp", r.Host)
	if err != nil {
		p.fail(w, r.Host, err)
		return
	}
	c, buf, err := hj.Hijack()
	if err != nil {
		up.Close()
		return
	}
	if _, err := io.WriteString(c, "HTTP/1.1 200 Connection established\r\n\r\n"); err != nil {
		c.Close()
		up.Close()
		return
	}
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(up, buf); closeWrite(up); done <- struct{}{} }()
	go func() { _, _ = io.Copy(c, up); closeWrite(c); done <- struct{}{} }()
	<-done
	<-done
	c.Close()
	up.Close()
}

func closeWrite(c net.Conn) {
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
	}
}

// fail answers a destination that could not be reached: 403 with the
// reason as the status text when the Guard refused it, else 502.
func (p *Proxy) fail(w http.ResponseWriter, dest string, err error) {
	if !errors.Is(err, ErrRefused) {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	msg := err.Error()
	if i := strings.Index(msg, ErrRefused.Error()); i >= 0 {
		msg = msg[i:]
	}
	msg = strings.NewReplacer("\r", " ", "\n", " ").Replace(msg)
	if p.Log != nil {
		p.Log.Warn("build fetch refused", "destination", dest, "reason", msg)
	}
	hj, ok := w.(http.Hijacker)
	if !ok {
		http.Error(w, msg, http.StatusForbidden)
		return
	}
	c, _, err := hj.Hijack()
	if err != nil {
		return
	}
	defer c.Close()
	body := "acre refused " + dest + ": " + msg + "\n"
	_, _ = fmt.Fprintf(c, "HTTP/1.1 403 acre refused %s: %s\r\nContent-Type: text/plain\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s",
		dest, msg, len(body), body)
}
