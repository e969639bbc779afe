package internal_test

import (
	"bytes"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

const module = "github.com/acre-project/acre/"

// importRules: packages matching a pattern (relative to internal/) must not
// depend, directly or transitively, on packages with any of the prefixes.
var importRules = []struct {
	pattern   string
	forbidden []string
	why       string
}{
	{"./blob", []string{"net/http", module + "internal/oci", module + "internal/server", module + "internal/cli"},
		"the blob interfaces are transport-free"},
	{"./blob/fs", []string{"net/http", module + "internal/oci", module + "internal/server", module + "internal/cli"},
		"the filesystem store is transport-free"},
	// Cloud backends speak HTTP through their SDKs, but never through acre's own HTTP layers.
	{"./blob/...", []string{module + "internal/oci", module + "internal/server", module + "internal/cli", module + "internal/registry"},
		"blob stores know nothing of the service above them"},
	{"./meta/...", []string{"net/http", module + "internal/oci", module + "internal/server", module + "internal/cli"},
		"metadata stores are transport-free"},
	{"./registry", []string{"net/http", module + "internal/oci", module + "internal/acrapi", module + "internal/mgmt",
		module + "internal/server", module + "internal/cli", module + "internal/auth", module + "internal/lifecycle"},
		"the registry core imports no transport, no auth and no lifecycle: it returns error codes, transports map them; lifecycle jobs use the core, not the reverse"},
	{"./lifecycle", []string{"net/http", module + "internal/oci", module + "internal/acrapi", module + "internal/mgmt",
		module + "internal/server", module + "internal/cli"},
		"lifecycle works beside the core, below every transport"},
	{"./auth", []string{module + "internal/registry"},
		"auth speaks error codes (errcode), not the core's types"},
	{"./errcode", []string{"net/http", module + "internal/"},
		"error codes depend on nothing of acre and know no transport"},
	{"./meta/...", storesForbidden, "stores import no domain package"},
	{"./blob/...", storesForbidden, "stores import no domain package"},
	{"./reference", []string{"net/http", module + "internal/"},
		"the reference grammar depends on nothing of acre"},
	{"./oci", []string{module + "internal/cli", module + "internal/server"},
		"the HTTP layer does not reach up to the command line or the composition root"},
}

// storesForbidden are the domain and transport packages no store may import.
var storesForbidden = []string{module + "internal/registry", module + "internal/auth", module + "internal/webhook",
	module + "internal/tasks", module + "internal/webapps", module + "internal/lifecycle", module + "internal/audit",
	module + "internal/sku", module + "internal/oci", module + "internal/acrapi", module + "internal/mgmt",
	module + "internal/server", module + "internal/cli"}

func goTool(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	p := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := exec.LookPath(p); err != nil {
		t.Skip("no go command to list imports with")
	}
	return p
}

// deps returns, for each package matching pattern, its transitive imports.
func deps(t *testing.T, pattern string) map[string][]string {
	t.Helper()
	cmd := exec.Command(goTool(t), "list", "-e", "-f", "{{.ImportPath}} {{join .Deps \" \"}}", pattern)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list %s: %v\n%s", pattern, err, stderr.Bytes())
	}
	m := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		if len(f) > 0 {
			m[f[0]] = f[1:]
		}
	}
	if len(m) == 0 {
		t.Fatalf("go list %s matched no package", pattern)
	}
	return m
}

func TestImportRules(t *testing.T) {
	for _, r := range importRules {
		t.Run(r.pattern, func(t *testing.T) {
			for pkg, ds := range deps(t, r.pattern) {
				for _, d := range ds {
					for _, f := range r.forbidden {
						if d == f || strings.HasPrefix(d, strings.TrimSuffix(f, "/")+"/") {
							t.Errorf("%s imports %s (%s)", strings.TrimPrefix(pkg, module), d, r.why)
						}
					}
				}
			}
		})
	}
}

// TestImportRulesCatch checks the rule matcher against a package that does
// import net/http, so a broken go list cannot pass silently.
func TestImportRulesCatch(t *testing.T) {
	found := false
	for _, ds := range deps(t, "./oci") {
		for _, d := range ds {
			if d == "net/http" {
				found = true
			}
		}
	}
	if !found {
		t.Fatal("go list reports no net/http under internal/oci; the import rules would not see a violation")
	}
}
