package errcode

import (
	"strings"
	"testing"
)

// TestWire checks that every code clients see is a plain (spec, Docker or
// ACR) code: acre's own codes are written as the code they refine.
func TestWire(t *testing.T) {
	for _, c := range Known() {
		w := c.Wire()
		if strings.HasPrefix(string(w), "acre:") {
			t.Errorf("%s is written on the wire as %s", c, w)
		}
		if strings.HasPrefix(string(c), "acre:") == (w == c) {
			t.Errorf("%s: wire code %s", c, w)
		}
	}
	if got := Errorf(UploadRangeInvalid, "x").Error(); got != "BLOB_UPLOAD_INVALID: x" {
		t.Errorf("Error() = %q", got)
	}
}
