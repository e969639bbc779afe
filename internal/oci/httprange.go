package oci

import (
	"errors"
	"strconv"
	"strings"
)

var errRange = errors.New("invalid range")

// parseRange parses a single-range "Range: bytes=..." header against a blob
// of size bytes (RFC 9110 section 14.2) and returns the inclusive [start, end].
// ok is false when there is no usable single range (serve the whole blob);
// errRange means the range cannot be satisfied (416), which includes a last
// byte before the first, as the distribution conformance suite expects.
func parseRange(h string, size int64) (start, end int64, ok bool, err error) {
	spec, found := strings.CutPrefix(strings.TrimSpace(h), "bytes=")
	if !found || strings.Contains(spec, ",") {
		return 0, 0, false, nil
	}
	first, last, found := strings.Cut(strings.TrimSpace(spec), "-")
	if !found {
		return 0, 0, false, nil
	}
	first, last = strings.TrimSpace(first), strings.TrimSpace(last)
	if first == "" { // suffix range: the last N bytes
		n, perr := strconv.ParseInt(last, 10, 64)
		if perr != nil || n < 0 {
			return 0, 0, false, nil
		}
		if n == 0 || size == 0 {
			return 0, 0, false, errRange
		}
		return max(0, size-n), size - 1, true, nil
	}
	start, perr := strconv.ParseInt(first, 10, 64)
	if perr != nil || start < 0 {
		return 0, 0, false, nil
	}
	end = size - 1
	if last != "" {
		e, perr := strconv.ParseInt(last, 10, 64)
		if perr != nil {
			return 0, 0, false, nil
		}
		if e < start {
			return 0, 0, false, errRange
		}
		end = min(e, size-1)
	}
	if start >= size {
		return 0, 0, false, errRange
	}
	return start, end, true, nil
}

// parseContentRange parses the Content-Range of an upload chunk. Clients send
// "start-end" (the spec), "bytes start-end/total" or "bytes=start-end"; end
// is inclusive. It returns the start and the chunk length.
func parseContentRange(h string) (start, length int64, err error) {
	s := strings.TrimSpace(h)
	s = strings.TrimPrefix(s, "bytes")
	s = strings.TrimLeft(s, " =")
	s, _, _ = strings.Cut(s, "/")
	a, b, found := strings.Cut(s, "-")
	if !found {
		return 0, 0, errRange
	}
	start, err1 := strconv.ParseInt(strings.TrimSpace(a), 10, 64)
	end, err2 := strconv.ParseInt(strings.TrimSpace(b), 10, 64)
	if err1 != nil || err2 != nil || start < 0 || end < start-1 {
		return 0, 0, errRange
	}
	return start, end - start + 1, nil
}
