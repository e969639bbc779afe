package tasks

import (
	"encoding/json"
	"net"
	"net/netip"
	"regexp"
	"strings"
)

// BuildKit's own fetches (Dockerfile ADD <url>, git sources) go through
// acre's fetch proxy, whose network guard refuses loopback, link-local and
// acre's own listeners. Go's HTTP clients, buildkitd's among them, never
// use a proxy for a literal loopback address or "localhost", so the
// source policy of every build denies those (and any IPv6 literal, whose
// loopback forms are many), and acre's registry hosts, to http(s) and git
// sources; tasks.allow entries naming a host (with or without a port) are
// allowed again (the last matching rule wins). Images are pulled from
// loopback hosts only when they are acre's registries or tasks.allow host
// entries.

// sourceURL matches a source identifier's scheme and credentials; a host
// pattern follows it.
const sourceURL = `(?i)^(https?|git)://([^/?#@]*@)?`

// imageRef matches an image source identifier's prefix; a registry host
// pattern follows it, then "/". Image pulls from loopback hosts are direct
// (not proxied) too: only acre's registries and the tasks.allow host
// entries may be pulled from there.
const imageRef = `(?i)^docker-image://`

// hostEnd ends a host pattern: a port (when the pattern has none), then
// the path.
const hostEnd = `([/?#]|$)`

// loopbackHosts are hosts Go's clients reach without a proxy, and IPv6
// literals.
const loopbackHosts = `(localhost\.?|127(\.[0-9]+){0,3}|0+(\.0+){0,3}|\[[^\]]*\])(:[0-9]*)?`

// policyRule is a rule of BuildKit's source policy (its JSON form).
type policyRule struct {
	Action   string         `json:"action"`
	Selector policySelector `json:"selector"`
}

type policySelector struct {
	Identifier string `json:"identifier"`
	MatchType  string `json:"match_type"`
}

// sourcePolicy returns the source policy (JSON) of a build: http(s) and
// git sources may not name loopback hosts or acre's registry hosts (own,
// host:port), images may not come from loopback hosts but acre's
// registries, except, for both, the tasks.allow entries (allow) that name
// a host.
func sourcePolicy(own, allow []string) []byte {
	rule := func(action, hostPattern string) policyRule {
		return policyRule{Action: action, Selector: policySelector{Identifier: sourceURL + hostPattern + hostEnd, MatchType: "REGEX"}}
	}
	image := func(action, hostPattern string) policyRule {
		return policyRule{Action: action, Selector: policySelector{Identifier: imageRef + hostPattern + "/", MatchType: "REGEX"}}
	}
	rules := []policyRule{rule("DENY", loopbackHosts), image("DENY", loopbackHosts)}
	for _, h := range own {
		rules = append(rules, rule("DENY", hostPattern(h)), image("ALLOW", hostPattern(h)))
		if host, port, err := net.SplitHostPort(h); err == nil {
			if a, err := netip.ParseAddr(host); err == nil && a.IsLoopback() {
				rules = append(rules, image("ALLOW", hostPattern(net.JoinHostPort("localhost", port))))
			}
		}
	}
	for _, a := range allow {
		if p := allowPattern(a); p != "" {
			rules = append(rules, rule("ALLOW", p), image("ALLOW", p))
		}
	}
	b, _ := json.Marshal(map[string]any{"version": 1, "rules": rules})
	return b
}

// hostPattern matches host[:port] as a URL writes it.
func hostPattern(hostport string) string {
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		host, port = hostport, ""
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	p := regexp.QuoteMeta(host)
	if port != "" {
		return p + ":" + regexp.QuoteMeta(port)
	}
	return p + `(:[0-9]*)?`
}

// allowPattern is the host pattern of a tasks.allow entry, or "" for a
// CIDR (which applies to what goes through the proxy only).
func allowPattern(entry string) string {
	entry = strings.TrimSpace(entry)
	if _, err := netip.ParsePrefix(entry); err == nil || entry == "" {
		return ""
	}
	return hostPattern(entry)
}

// deniedHint explains a source the policy denied.
const deniedHint = "acre: builds may not fetch from loopback or link-local addresses, this server's own listeners or its registries' hosts (Dockerfile ADD <url>, git sources); an operator may allow a destination in the configuration (tasks.allow)"
