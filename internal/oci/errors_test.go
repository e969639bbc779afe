package oci

import (
	"net/http/httptest"
	"testing"

	"github.com/acre-project/acre/internal/errcode"
)

// TestStatusTable checks that the one table knows every code and answers
// the spec's statuses for the codes the management API also answers.
func TestStatusTable(t *testing.T) {
	for _, c := range errcode.Known() {
		if _, ok := statusOf[c]; !ok {
			t.Errorf("no status for %s", c)
		}
	}
	for c, want := range map[errcode.Code]int{
		errcode.ManifestUnknown: 404, errcode.NameUnknown: 404, errcode.BlobUnknown: 404, errcode.Denied: 403,
		errcode.Conflict: 409, errcode.ManifestTooLarge: 413, errcode.UploadRangeInvalid: 416,
		errcode.BlobRangeInvalid: 416, errcode.InvalidArgument: 400, errcode.EndpointUnknown: 404,
		errcode.TooManyRequests: 429, errcode.Unauthorized: 401, "SOMETHING_ELSE": 400,
	} {
		if got := StatusOf(c); got != want {
			t.Errorf("StatusOf(%s) = %d, want %d", c, got, want)
		}
	}
}

func TestSetHeaders(t *testing.T) {
	w := httptest.NewRecorder()
	e := errcode.Errorf(errcode.TooManyRequests, "slow down")
	e.RetryAfter = 1500e6 // 1.5 s rounds up
	e.Challenge = `Bearer realm="x"`
	SetHeaders(w, e)
	if w.Header().Get("Retry-After") != "2" || w.Header().Get("WWW-Authenticate") != `Bearer realm="x"` {
		t.Fatalf("headers: %v", w.Header())
	}
	w = httptest.NewRecorder()
	SetHeaders(w, errcode.Errorf(errcode.Denied, "no"))
	if len(w.Header()) != 0 {
		t.Fatalf("headers for a plain error: %v", w.Header())
	}
}
