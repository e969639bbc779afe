// Package reference validates repository names, tags and digests as the OCI
// distribution spec defines them (the "Pulling manifests" grammar).
package reference

import (
	_ "crypto/sha256" // registers sha256 for go-digest
	_ "crypto/sha512" // registers sha512 for go-digest
	"errors"
	"regexp"
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

var (
	component = regexp.MustCompile(`^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*$`)
	tagRe     = regexp.MustCompile(`^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$`)
)

// ValidateName checks a repository name: slash-separated path components of
// lower-case alphanumerics joined by '.', '_', '__' or dashes.
func ValidateName(name string) error {
	if name == "" || len(name) > MaxNameLength {
		return ErrName
	}
	for _, c := range strings.Split(name, "/") {
		if !component.MatchString(c) {
			return ErrName
		}
	}
	return nil
}

// ValidateTag checks a tag: up to 128 of [a-zA-Z0-9_.-], not starting with '.' or '-'.
func ValidateTag(tag string) error {
	if !tagRe.MatchString(tag) {
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
