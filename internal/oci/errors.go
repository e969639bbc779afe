package oci

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"

	"github.com/acre-project/acre/internal/registry"
)

// CodePaginationNumberInvalid is Docker's code for a bad "n" parameter.
const CodePaginationNumberInvalid registry.Code = "PAGINATION_NUMBER_INVALID"

// statusOf is the one table that maps error codes to HTTP statuses
// (OCI distribution spec, "Error Codes").
var statusOf = map[registry.Code]int{
	registry.CodeBlobUnknown:         http.StatusNotFound,
	registry.CodeBlobUploadInvalid:   http.StatusBadRequest,
	registry.CodeBlobUploadUnknown:   http.StatusNotFound,
	registry.CodeDigestInvalid:       http.StatusBadRequest,
	registry.CodeManifestBlobUnknown: http.StatusBadRequest,
	registry.CodeManifestInvalid:     http.StatusBadRequest,
	registry.CodeManifestUnknown:     http.StatusNotFound,
	registry.CodeNameInvalid:         http.StatusBadRequest,
	registry.CodeNameUnknown:         http.StatusNotFound,
	registry.CodeSizeInvalid:         http.StatusBadRequest,
	registry.CodeUnauthorized:        http.StatusUnauthorized,
	registry.CodeDenied:              http.StatusForbidden,
	registry.CodeUnsupported:         http.StatusMethodNotAllowed,
	registry.CodeTooManyRequests:     http.StatusTooManyRequests,
	CodePaginationNumberInvalid:      http.StatusBadRequest,
}

type errorBody struct {
	Errors []errorEntry `json:"errors"`
}

type errorEntry struct {
	Code    registry.Code `json:"code"`
	Message string        `json:"message"`
	Detail  any           `json:"detail,omitempty"`
}

// WriteError writes err as the spec's JSON error body (no body for HEAD).
// Errors that are not *registry.Error are internal: logged, and answered 500.
func WriteError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	var e *registry.Error
	if !errors.As(err, &e) {
		if errors.Is(err, context.Canceled) || errors.Is(r.Context().Err(), context.Canceled) {
			log.DebugContext(r.Context(), "request canceled", "err", err)
			return
		}
		log.ErrorContext(r.Context(), "internal error", "method", r.Method, "path", r.URL.Path, "err", err)
		e = &registry.Error{Code: "UNKNOWN", Status: http.StatusInternalServerError, Message: "internal server error"}
	}
	status := e.Status
	if status == 0 {
		status = statusOf[e.Code]
	}
	if status == 0 {
		status = http.StatusBadRequest
	}
	for k, v := range e.Headers {
		w.Header().Set(k, v)
	}
	if r.Method == http.MethodHead {
		w.WriteHeader(status)
		return
	}
	body, _ := json.Marshal(errorBody{Errors: []errorEntry{{Code: e.Code, Message: e.Message, Detail: e.Detail}}})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Del("Content-Length")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
