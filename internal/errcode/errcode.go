// Package errcode defines the errors acre's core and services return to
// clients: a code, a message and optional detail. The codes are the OCI
// distribution spec's, the few Docker and ACR added, and acre's own, each
// of which refines a spec code (it is written on the wire as that code but
// tells a transport a more precise status). Nothing here knows a transport:
// each transport (the /v2/ and /acr/v1/ handlers, the management API) maps
// codes to its statuses in one table.
package errcode

import (
	"errors"
	"fmt"
	"time"
)

// Code is an error code.
type Code string

// The OCI distribution spec's codes.
const (
	BlobUnknown         Code = "BLOB_UNKNOWN"
	BlobUploadInvalid   Code = "BLOB_UPLOAD_INVALID"
	BlobUploadUnknown   Code = "BLOB_UPLOAD_UNKNOWN"
	DigestInvalid       Code = "DIGEST_INVALID"
	ManifestBlobUnknown Code = "MANIFEST_BLOB_UNKNOWN"
	ManifestInvalid     Code = "MANIFEST_INVALID"
	ManifestUnknown     Code = "MANIFEST_UNKNOWN"
	NameInvalid         Code = "NAME_INVALID"
	NameUnknown         Code = "NAME_UNKNOWN"
	SizeInvalid         Code = "SIZE_INVALID"
	Unauthorized        Code = "UNAUTHORIZED"
	Denied              Code = "DENIED"
	Unsupported         Code = "UNSUPPORTED"
	TooManyRequests     Code = "TOOMANYREQUESTS"
)

// Docker's registry API's code for a bad page size ("n").
const PaginationNumberInvalid Code = "PAGINATION_NUMBER_INVALID"

// acre's own codes. Each refines the spec code it is written as (Wire).
const (
	InvalidArgument    Code = "acre:INVALID_ARGUMENT"     // a malformed request or setting (UNSUPPORTED)
	Conflict           Code = "acre:CONFLICT"             // the thing to create exists (DENIED)
	ManifestTooLarge   Code = "acre:MANIFEST_TOO_LARGE"   // a manifest past the size limit (MANIFEST_INVALID)
	UploadRangeInvalid Code = "acre:UPLOAD_RANGE_INVALID" // a chunk that does not start where the upload ends (BLOB_UPLOAD_INVALID)
	BlobRangeInvalid   Code = "acre:BLOB_RANGE_INVALID"   // a requested range outside the blob (BLOB_UNKNOWN)
	EndpointUnknown    Code = "acre:ENDPOINT_UNKNOWN"     // no such route (UNSUPPORTED)
	Internal           Code = "UNKNOWN"                   // an internal error, never detailed to clients
)

var wire = map[Code]Code{
	InvalidArgument:    Unsupported,
	Conflict:           Denied,
	ManifestTooLarge:   ManifestInvalid,
	UploadRangeInvalid: BlobUploadInvalid,
	BlobRangeInvalid:   BlobUnknown,
	EndpointUnknown:    Unsupported,
}

// Known returns every code this package defines.
func Known() []Code {
	return []Code{BlobUnknown, BlobUploadInvalid, BlobUploadUnknown, DigestInvalid, ManifestBlobUnknown,
		ManifestInvalid, ManifestUnknown, NameInvalid, NameUnknown, SizeInvalid, Unauthorized, Denied,
		Unsupported, TooManyRequests, PaginationNumberInvalid, InvalidArgument, Conflict, ManifestTooLarge,
		UploadRangeInvalid, BlobRangeInvalid, EndpointUnknown, Internal}
}

// Wire returns the code clients see: the spec's code c refines, or c.
func (c Code) Wire() Code {
	if w, ok := wire[c]; ok {
		return w
	}
	return c
}

// Error is a client-visible error.
type Error struct {
	Code    Code
	Message string
	Detail  any
	// RetryAfter, with TooManyRequests, is how long the client should wait.
	RetryAfter time.Duration
	// Challenge, with Unauthorized, is the authentication challenge a
	// transport sends (HTTP's WWW-Authenticate value).
	Challenge string
}

func (e *Error) Error() string { return fmt.Sprintf("%s: %s", e.Code.Wire(), e.Message) }

// Errorf builds an *Error.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// WithDetail returns e with detail set.
func (e *Error) WithDetail(d any) *Error {
	c := *e
	c.Detail = d
	return &c
}

// CodeOf returns the code of the first *Error in err's chain, or "".
func CodeOf(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}
