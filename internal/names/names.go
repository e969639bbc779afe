// Package names checks identifiers against a character pattern and a
// length range.
package names

import "regexp"

// Pattern matches names of a regular expression whose length is checked
// apart from it. A counted repetition such as [a-z]{0,127} compiles into a
// program over a hundred times the size of [a-z]*, kept for the life of
// the process; the bounds cost nothing as a length check.
type Pattern struct {
	re       *regexp.Regexp
	min, max int
}

// New compiles expr, which should be anchored (^...$) and use unbounded
// repetitions; names must also be min to max bytes long. It panics on a
// bad expression, as regexp.MustCompile does.
func New(expr string, min, max int) Pattern {
	return Pattern{re: regexp.MustCompile(expr), min: min, max: max}
}

// Match reports whether name is within the length range and matches.
func (p Pattern) Match(name string) bool {
	return len(name) >= p.min && len(name) <= p.max && p.re.MatchString(name)
}
