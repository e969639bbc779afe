package tasks

import (
	"encoding/json"
	"regexp"
	"testing"
)

// TestSourcePolicy: loopback hosts, IPv6 literals and acre's registry
// hosts are denied to http(s) and git sources, images from loopback hosts
// but acre's registries, the tasks.allow entries naming a host are allowed
// again, other hosts pass (the last matching rule wins, as BuildKit
// evaluates it).
func TestSourcePolicy(t *testing.T) {
	var pol struct {
		Rules []policyRule `json:"rules"`
	}
	if err := json.Unmarshal(sourcePolicy([]string{"127.0.0.1:5000", "reg.example:5000"}, []string{"127.0.0.1:9000", "10.0.0.0/8", "hooks.internal"}), &pol); err != nil {
		t.Fatal(err)
	}
	denied := func(ident string) bool {
		deny := false
		for _, r := range pol.Rules {
			if regexp.MustCompile(r.Selector.Identifier).MatchString(ident) {
				deny = r.Action == "DENY"
			}
		}
		return deny
	}
	for ident, want := range map[string]bool{
		"http://127.0.0.1:5000/healthz":           true,
		"http://127.0.0.1/x":                      true,
		"https://127.1.2.3:8443/x":                true,
		"HTTP://LOCALHOST:8080/x":                 true,
		"http://localhost./x":                     true,
		"http://user:pw@127.0.0.1:81/x":           true,
		"http://[::1]:80/x":                       true,
		"http://[::ffff:127.0.0.1]/x":             true,
		"http://0.0.0.0:80/x":                     true,
		"git://127.0.0.1:3000/org/repo.git#main":  true,
		"http://reg.example:5000/v2/":             true,
		"http://127.0.0.1:9000/allowed":           false,
		"http://127.0.0.1:90001/x":                true,
		"https://hooks.internal/x":                false,
		"https://example.com/file.tar.gz":         false,
		"http://127.0.0.1.example.com/x":          false,
		"git://github.com/org/repo.git":           false,
		"docker-image://127.0.0.1:5000/base/bb:1": false,
		"https://reg.example:5001/x":              false,
		"http://localhost.evil.example:80/x":      false,
	} {
		if got := denied(ident); got != want {
			t.Errorf("%s: denied %v, want %v", ident, got, want)
		}
	}
}
