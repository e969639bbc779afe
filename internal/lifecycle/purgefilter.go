package lifecycle

import (
	"errors"
	"strings"
	"time"

	"github.com/dlclark/regexp2"
)

// Purge filters are written as acr purge writes them, "<repoRegex>:<tagRegex>",
// in the syntax of github.com/dlclark/regexp2 (the library acr purge uses:
// lookahead and lookbehind work) in its RE2-compatible mode. Backtracking
// can take exponential time, so every match has a timeout.

// purgeFilter is one parsed filter: the repository expression is
// anchored at both ends, as acr purge anchors it; the tag's is not.
type purgeFilter struct{ repo, tag *regexp2.Regexp }

// errFilterTimeout reports a match that ran past the filter timeout.
var errFilterTimeout = errors.New("the filters took longer than the filter timeout: narrow them")

// splitFilter splits a filter at its one colon that separates the two
// expressions: colons inside [...] (as in [[:alpha:]]) and in the flag
// prefix of a group ((?i:...)) do not count.
func splitFilter(f string) (repo, tag string, ok bool) {
	cut := -1
	class := false
	for i := 0; i < len(f); i++ {
		switch c := f[i]; {
		case c == '\\':
			i++
		case class:
			if c == ']' {
				class = false
			} else if c == '[' && i+1 < len(f) && f[i+1] == ':' {
				if j := strings.Index(f[i+2:], ":]"); j >= 0 {
					i += j + 3 // a POSIX class such as [:alpha:]
				}
			}
		case c == '[':
			class = true
			if i+1 < len(f) && f[i+1] == ']' {
				i++ // a ] first in a class is literal
			}
		case c == '(' && i+1 < len(f) && f[i+1] == '?':
			j := i + 2
			for j < len(f) && strings.IndexByte("imsU-", f[j]) >= 0 {
				j++
			}
			if j < len(f) && f[j] == ':' {
				i = j // (?flags: opens a group; its colon is not the separator
			}
		case c == ':':
			if cut >= 0 {
				return "", "", false
			}
			cut = i
		}
	}
	if cut <= 0 || cut == len(f)-1 {
		return "", "", false
	}
	return f[:cut], f[cut+1:], true
}

// parsePurgeFilter compiles one filter with a match timeout.
func parsePurgeFilter(f string, timeout time.Duration) (purgeFilter, error) {
	r, t, ok := splitFilter(f)
	if !ok || len(f) > 1000 {
		return purgeFilter{}, badPurge("filter %q: want repoRegex:tagRegex", f)
	}
	rr, err := regexp2.Compile("^(?:"+r+")$", regexp2.RE2)
	if err != nil {
		return purgeFilter{}, badPurge("filter %q: repository expression: %v", f, err)
	}
	tr, err := regexp2.Compile(t, regexp2.RE2)
	if err != nil {
		return purgeFilter{}, badPurge("filter %q: tag expression: %v", f, err)
	}
	rr.MatchTimeout, tr.MatchTimeout = timeout, timeout
	return purgeFilter{rr, tr}, nil
}

// match runs re on s; a timeout is errFilterTimeout.
func match(re *regexp2.Regexp, s string) (bool, error) {
	ok, err := re.MatchString(s)
	if err != nil {
		return false, errFilterTimeout
	}
	return ok, nil
}

// repoTags is a repository a purge visits with the tag expressions of
// the filters that name it.
type repoTags struct {
	name string
	tags []*regexp2.Regexp
}

// matchingTags returns the tag expressions of the filters whose
// repository expression matches name.
func matchingTags(filters []purgeFilter, name string) ([]*regexp2.Regexp, error) {
	var out []*regexp2.Regexp
	for _, f := range filters {
		ok, err := match(f.repo, name)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, f.tag)
		}
	}
	return out, nil
}
