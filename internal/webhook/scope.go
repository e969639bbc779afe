// Package webhook delivers registry events to HTTP endpoints, as ACR's
// webhooks do: from the durable outbox, at least once, in order per
// webhook, with retries and exponential backoff, never in the way of the
// pushes that caused them.
package webhook

import "strings"

// Actions a webhook may subscribe to.
var Actions = []string{"push", "delete", "quarantine", "chart_push", "chart_delete"}

// validAction reports whether a is one of Actions.
func validAction(a string) bool {
	for _, x := range Actions {
		if x == a {
			return true
		}
	}
	return false
}

// matchScope reports whether an event on repo (and tag, "" for none) is in
// scope, with ACR's meaning: "" matches everything; "repo:tag" with '*'
// wildcards; "repo" alone is "repo:latest". An event without a tag (a
// delete) matches when the repository matches and the tag part is "*".
func matchScope(scope, repo, tag string) bool {
	if scope == "" {
		return true
	}
	rp, tp, ok := strings.Cut(scope, ":")
	if !ok {
		tp = "latest"
	}
	if !glob(rp, repo) {
		return false
	}
	if tag == "" {
		return tp == "*"
	}
	return glob(tp, tag)
}

// glob matches s against pattern, where '*' stands for any run of
// characters ('/' included) and every other character for itself.
func glob(pattern, s string) bool {
	parts := strings.Split(pattern, "*")
	if len(parts) == 1 {
		return pattern == s
	}
	if !strings.HasPrefix(s, parts[0]) {
		return false
	}
	s = s[len(parts[0]):]
	for _, p := range parts[1 : len(parts)-1] {
		i := strings.Index(s, p)
		if i < 0 {
			return false
		}
		s = s[i+len(p):]
	}
	return strings.HasSuffix(s, parts[len(parts)-1])
}
