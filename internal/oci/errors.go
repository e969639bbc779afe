package oci

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"math"
	"net/http"
	"strconv"

	"github.com/acre-project/acre/internal/errcode"
)

// statusOf is the one table that maps error codes to HTTP statuses (OCI
// distribution spec, "Error Codes", and acre's refinements of them). The
// management API answers the same statuses for these codes (StatusOf).
var statusOf = map[errcode.Code]int{
	errcode.BlobUnknown:             http.StatusNotFound,
	errcode.BlobUploadInvalid:       http.StatusBadRequest,
	errcode.BlobUploadUnknown:       http.StatusNotFound,
	errcode.DigestInvalid:           http.StatusBadRequest,
	errcode.ManifestBlobUnknown:     http.StatusBadRequest,
	errcode.ManifestInvalid:         http.StatusBadRequest,
	errcode.ManifestUnknown:         http.StatusNotFound,
	errcode.NameInvalid:             http.StatusBadRequest,
	errcode.NameUnknown:             http.StatusNotFound,
	errcode.SizeInvalid:             http.StatusBadRequest,
	errcode.Unauthorized:            http.StatusUnauthorized,
	errcode.Denied:                  http.StatusForbidden,
	errcode.Unsupported:             http.StatusMethodNotAllowed,
	errcode.TooManyRequests:         http.StatusTooManyRequests,
	errcode.PaginationNumberInvalid: http.StatusBadRequest,
	errcode.InvalidArgument:         http.StatusBadRequest,
	errcode.Conflict:                http.StatusConflict,
	errcode.ManifestTooLarge:        http.StatusRequestEntityTooLarge,
	errcode.UploadRangeInvalid:      http.StatusRequestedRangeNotSatisfiable,
	errcode.BlobRangeInvalid:        http.StatusRequestedRangeNotSatisfiable,
	errcode.EndpointUnknown:         http.StatusNotFound,
	errcode.Internal:                http.StatusInternalServerError,
}

// StatusOf returns the HTTP status of an error code (400 for a code the
// table lacks).
func StatusOf(c errcode.Code) int {
	if s, ok := statusOf[c]; ok {
		return s
	}
	return http.StatusBadRequest
}

// SetHeaders adds the headers an error's fields call for: Retry-After
// (whole seconds, rounded up) and WWW-Authenticate.
func SetHeaders(w http.ResponseWriter, e *errcode.Error) {
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(e.RetryAfter.Seconds()))))
	}
	if e.Challenge != "" {
		w.Header().Set("WWW-Authenticate", e.Challenge)
	}
}

type errorBody struct {
	Errors []errorEntry `json:"errors"`
}

type errorEntry struct {
	Code    errcode.Code `json:"code"`
	Message string       `json:"message"`
	Detail  any          `json:"detail,omitempty"`
}

// WriteError writes err as the spec's JSON error body (no body for HEAD).
// Errors that are not *errcode.Error are internal: logged, and answered 500.
func WriteError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	var e *errcode.Error
	if !errors.As(err, &e) {
		if errors.Is(err, context.Canceled) || errors.Is(r.Context().Err(), context.Canceled) {
			log.DebugContext(r.Context(), "request canceled", "err", err)
			return
		}
		log.ErrorContext(r.Context(), "internal error", "method", r.Method, "path", r.URL.Path, "err", err)
		e = errcode.Errorf(errcode.Internal, "internal server error")
	}
	status := StatusOf(e.Code)
	SetHeaders(w, e)
	if r.Method == http.MethodHead {
		w.WriteHeader(status)
		return
	}
	body, _ := json.Marshal(errorBody{Errors: []errorEntry{{Code: e.Code.Wire(), Message: e.Message, Detail: e.Detail}}})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Del("Content-Length")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
