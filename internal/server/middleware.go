package server

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/acre-project/acre/internal/auth"
	"github.com/acre-project/acre/internal/meta"
	"github.com/acre-project/acre/internal/metrics"
	"github.com/acre-project/acre/internal/oci"
	"github.com/acre-project/acre/internal/registry"
	"github.com/acre-project/acre/internal/route"
	"github.com/google/uuid"
)

// statusWriter records the status and bytes of a response.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

// ReadFrom keeps the server's zero-copy path (sendfile) for blob downloads.
func (w *statusWriter) ReadFrom(r io.Reader) (int64, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := io.Copy(w.ResponseWriter, r)
	w.bytes += n
	return n, err
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// withRequest gives each request an id (X-Request-Id, echoed back), puts the
// request's description in the context, turns panics into 500s and writes
// one access log line.
//
// It also tells auth.ClientIP which peers are trusted proxies (for
// sign-in throttling and the audit log).
func withRequest(log *slog.Logger, mx *metrics.Metrics, proxies auth.Proxies, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get("X-Request-Id")
		if id == "" || len(id) > 128 {
			id = uuid.NewString()
		}
		w.Header().Set("X-Request-Id", id)
		// Events keep these, so client-supplied text is bounded.
		ctx := registry.WithRequestInfo(r.Context(), registry.RequestInfo{
			ID: id, Host: meta.Bound(r.Host), Method: meta.Bound(r.Method), UserAgent: meta.Bound(r.UserAgent())})
		if len(proxies) > 0 {
			ctx = auth.WithProxies(ctx, proxies)
		}
		r = r.WithContext(ctx)
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				log.ErrorContext(ctx, "panic", "panic", fmt.Sprint(p), "path", r.URL.Path)
				if sw.status == 0 {
					oci.WriteError(sw, r, log, fmt.Errorf("panic: %v", p))
				}
			}
			d := time.Since(start)
			mx.Request(route.Label(r.URL.Path), r.Method, sw.status, max(r.ContentLength, 0), sw.bytes, d)
			log.LogAttrs(ctx, slog.LevelInfo, "request",
				slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.Int("status", sw.status),
				slog.Int64("bytes_out", sw.bytes), slog.Int64("bytes_in", max(r.ContentLength, 0)),
				slog.Duration("duration", d), slog.String("remote", r.RemoteAddr))
		}()
		next.ServeHTTP(sw, r)
	})
}
