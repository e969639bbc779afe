// Package reference validates repository names, tags and digests as the OCI
// distribution spec defines them (the "Pulling manifests" grammar).
package reference

import (
	_ "crypto/sha256" // registers sha256 for go-digest
	_ "crypto/sha512" // registers sha512 for go-digest
	"errors"
	"strings"

	"github.com/opencontainers/go-digest"
)

// MaxNameLength bounds a repository name, as most registries do (255).
const MaxNameLength = 255

var (
	// ErrName is returned for an invalid repository name.
	ErrName = errors.New("invalid repository name")
	// ErrTag is returned for an invalid tag.
	ErrTag = errors.New("invalid tag")
	// ErrDigest is returned for an invalid or unsupported digest.
	ErrDigest = errors.New("invalid digest")
)

// The spec's grammar, which the scanners below implement without a regexp
// engine (they run several times on every request); the tests check them
// against these expressions.
const (
	componentPattern = `^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*$`
	tagPattern       = `^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$`
)

func isLowerAlnum(c byte) bool { return 'a' <= c && c <= 'z' || '0' <= c && c <= '9' }

// validComponent matches componentPattern: runs of [a-z0-9] joined by '.',
// '_', '__' or one or more '-'.
func validComponent(c string) bool {
	i := 0
	for {
		start := i
		for i < len(c) && isLowerAlnum(c[i]) {
			i++
		}
		if i == start {
			return false // empty run: at the start, or after a separator
		}
		if i == len(c) {
			return true
		}
		switch c[i] {
		case '.':
			i++
		case '_':
			i++
			if i < len(c) && c[i] == '_' {
				i++
			}
		case '-':
			for i < len(c) && c[i] == '-' {
				i++
			}
		default:
			return false
		}
	}
}

// validTag matches tagPattern.
func validTag(t string) bool {
	if len(t) == 0 || len(t) > 128 || t[0] == '.' || t[0] == '-' {
		return false
	}
	for i := 0; i < len(t); i++ {
		c := t[i]
		if !(isLowerAlnum(c) || 'A' <= c && c <= 'Z' || c == '_' || c == '.' || c == '-') {
			return false
		}
	}
	return true
}

// ValidateName checks a repository name: slash-separated path components of
// lower-case alphanumerics joined by '.', '_', '__' or dashes.
func ValidateName(name string) error {
	if name == "" || len(name) > MaxNameLength {
		return ErrName
	}
	for c := range strings.SplitSeq(name, "/") {
		if !validComponent(c) {
			return ErrName
		}
	}
	return nil
}

// ValidateTag checks a tag: up to 128 of [a-zA-Z0-9_.-], not starting with '.' or '-'.
func ValidateTag(tag string) error {
	if !validTag(tag) {
		return ErrTag
	}
	return nil
}

// ParseDigest parses a digest whose algorithm this server can compute
// (sha256 or sha512) and whose encoded part is well formed.
func ParseDigest(s string) (digest.Digest, error) {
	d, err := digest.Parse(s)
	if err != nil || !d.Algorithm().Available() {
		return "", ErrDigest
	}
	return d, nil
}

// IsDigest reports whether a manifest reference is a digest rather than a tag.
func IsDigest(ref string) bool { return strings.Contains(ref, ":") }
