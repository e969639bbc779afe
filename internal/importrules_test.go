package internal_test

import (
	"bytes"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
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
	{"./seal", []string{"net/http", module + "internal/"},
		"sealing secrets at rest depends on nothing of acre"},
	{"./route", []string{"net/http", module + "internal/"},
		"the URL layout depends on nothing of acre"},
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

// wholeStoreUsers are the only directories (relative to the module root)
// whose non-test code may name meta.Queries or meta.Store, the store's
// whole surface: the stores, their shared suites and the wiring. Every
// other package takes a meta.View of an interface of its own.
var wholeStoreUsers = []string{"internal/meta", "internal/meta/sqlstore", "internal/meta/metatest", "internal/server", "cmd/"}

// maxViewMethods bounds each interface package meta declares (counting
// embedded ones), but for Queries and Store, which hold them all.
const maxViewMethods = 10

func wholeStoreAllowed(dir string) bool {
	for _, a := range wholeStoreUsers {
		if dir == a || (strings.HasSuffix(a, "/") && strings.HasPrefix(dir, a)) {
			return true
		}
	}
	return false
}

// wholeStoreRefs lists, by file:line, where non-test Go files under the
// module's internal and cmd directories name meta.Queries or meta.Store.
func wholeStoreRefs(t *testing.T) map[string][]string {
	t.Helper()
	refs := map[string][]string{} // directory -> places
	fset := token.NewFileSet()
	for _, top := range []string{"../internal", "../cmd"} {
		err := filepath.WalkDir(top, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && (d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".")) {
				return filepath.SkipDir
			}
			if d.IsDir() || !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
				return nil
			}
			f, err := parser.ParseFile(fset, p, nil, parser.SkipObjectResolution)
			if err != nil {
				return err
			}
			name := ""
			for _, im := range f.Imports {
				if path, _ := strconv.Unquote(im.Path.Value); path == module+"internal/meta" {
					name = "meta"
					if im.Name != nil {
						name = im.Name.Name
					}
				}
			}
			if name == "" {
				return nil
			}
			dir := strings.TrimPrefix(filepath.ToSlash(filepath.Dir(p)), "../")
			ast.Inspect(f, func(n ast.Node) bool {
				if sel, ok := n.(*ast.SelectorExpr); ok {
					if x, ok := sel.X.(*ast.Ident); ok && x.Name == name && (sel.Sel.Name == "Queries" || sel.Sel.Name == "Store") {
						refs[dir] = append(refs[dir], fset.Position(sel.Pos()).String())
					}
				}
				return true
			})
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return refs
}

// TestOnlyWiringTakesWholeStore keeps the metadata seams narrow: a
// consumer names the per-aggregate views it uses, never the whole store.
func TestOnlyWiringTakesWholeStore(t *testing.T) {
	refs := wholeStoreRefs(t)
	if len(refs["internal/server"]) == 0 {
		t.Fatal("found no meta.Store in internal/server, which opens the store; the scan would not see a violation")
	}
	for dir, places := range refs {
		if !wholeStoreAllowed(dir) {
			t.Errorf("%s names meta.Queries or meta.Store (take a meta.View of an interface of the package's own):\n\t%s",
				dir, strings.Join(places, "\n\t"))
		}
	}
}

// TestMetaViewsSmall keeps each interface of package meta at most
// maxViewMethods methods, embedded ones included.
func TestMetaViewsSmall(t *testing.T) {
	files, err := filepath.Glob("meta/*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	ifaces := map[string]*ast.InterfaceType{}
	for _, p := range files {
		if strings.HasSuffix(p, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, p, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			if g, ok := d.(*ast.GenDecl); ok && g.Tok == token.TYPE {
				for _, sp := range g.Specs {
					ts := sp.(*ast.TypeSpec)
					if it, ok := ts.Type.(*ast.InterfaceType); ok {
						ifaces[ts.Name.Name] = it
					}
				}
			}
		}
	}
	var count func(name string, seen map[string]bool) int
	count = func(name string, seen map[string]bool) int {
		it, ok := ifaces[name]
		if !ok {
			t.Errorf("meta embeds %s, which is not an interface of package meta: its methods cannot be counted", name)
			return 0
		}
		n := 0
		for _, m := range it.Methods.List {
			if _, ok := m.Type.(*ast.FuncType); ok {
				n += len(m.Names)
				continue
			}
			id, ok := m.Type.(*ast.Ident)
			if !ok {
				t.Errorf("meta.%s embeds %T, which cannot be counted", name, m.Type)
				continue
			}
			if !seen[id.Name] { // an interface embedded twice adds its methods once
				seen[id.Name] = true
				n += count(id.Name, seen)
			}
		}
		return n
	}
	if n := count("Queries", map[string]bool{}); n <= maxViewMethods {
		t.Fatalf("meta.Queries counts %d methods; the count would not see a large interface", n)
	}
	for name := range ifaces {
		if name == "Queries" || name == "Store" {
			continue
		}
		if n := count(name, map[string]bool{}); n > maxViewMethods {
			t.Errorf("meta.%s has %d methods (at most %d): split it by aggregate", name, n, maxViewMethods)
		}
	}
}
