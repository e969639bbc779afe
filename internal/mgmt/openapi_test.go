package mgmt

import (
	"log/slog"
	"os"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/acre-project/acre/internal/auth"
	"github.com/acre-project/acre/internal/meta"
	"go.yaml.in/yaml/v3"
)

// The API is documented in docs/openapi.yaml; these tests keep the document
// and the routes (and the JSON shapes the handlers write) in step.

const openapiPath = "../../docs/openapi.yaml"

var httpMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// loadOpenAPI parses the document as generic YAML.
func loadOpenAPI(t *testing.T) map[string]any {
	t.Helper()
	b, err := os.ReadFile(openapiPath)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("%s is not valid YAML: %v", openapiPath, err)
	}
	return doc
}

func mapAt(t *testing.T, v any, where string) map[string]any {
	t.Helper()
	m, ok := v.(map[string]any)
	if !ok {
		t.Fatalf("%s: want a mapping, got %T", where, v)
	}
	return m
}

// documentedOperations returns "METHOD /path" for every operation of the document.
func documentedOperations(t *testing.T, doc map[string]any) map[string]map[string]any {
	t.Helper()
	ops := map[string]map[string]any{}
	for path, item := range mapAt(t, doc["paths"], "paths") {
		for key, op := range mapAt(t, item, "paths."+path) {
			if slices.Contains(httpMethods, key) {
				ops[strings.ToUpper(key)+" "+path] = mapAt(t, op, path+"."+key)
			}
		}
	}
	return ops
}

// registeredRoutes returns the "METHOD /path" pattern of every endpoint
// the handler registers (with the builds' endpoints).
func registeredRoutes(t *testing.T) []string {
	t.Helper()
	h := New(nil, nil, nil, nil, slog.New(slog.DiscardHandler)).WithTasks(nil)
	if len(h.routes) < 10 {
		t.Fatalf("found only %d routes: are endpoints registered another way?", len(h.routes))
	}
	return h.routes
}

func TestOpenAPIVersionAndOperations(t *testing.T) {
	doc := loadOpenAPI(t)
	if v, _ := doc["openapi"].(string); !regexp.MustCompile(`^3\.1\.\d+$`).MatchString(v) {
		t.Errorf("openapi: %q, want 3.1.x", v)
	}
	info := mapAt(t, doc["info"], "info")
	for _, k := range []string{"title", "version"} {
		if s, _ := info[k].(string); s == "" {
			t.Errorf("info.%s is missing", k)
		}
	}
	ops := documentedOperations(t, doc)
	if len(ops) == 0 {
		t.Fatal("the document has no operations")
	}
	opIDs := map[string]string{}
	for name, op := range ops {
		if s, _ := op["summary"].(string); strings.TrimSpace(s) == "" {
			t.Errorf("%s has no summary", name)
		}
		resp, _ := op["responses"].(map[string]any)
		if len(resp) == 0 {
			t.Errorf("%s has no responses", name)
		}
		for code := range resp {
			if code != "default" && !regexp.MustCompile(`^[1-5][0-9X]{2}$`).MatchString(code) {
				t.Errorf("%s: response key %q is not a status code", name, code)
			}
		}
		if id, _ := op["operationId"].(string); id != "" {
			if other, dup := opIDs[id]; dup {
				t.Errorf("operationId %q is used by %s and %s", id, other, name)
			}
			opIDs[id] = name
		}
	}
}

func TestOpenAPIMatchesRoutes(t *testing.T) {
	doc := loadOpenAPI(t)
	ops := documentedOperations(t, doc)
	routes := registeredRoutes(t)
	for _, r := range routes {
		if _, ok := ops[r]; !ok {
			t.Errorf("route %q (registered) is not in %s", r, openapiPath)
		}
	}
	var extra []string
	for op := range ops {
		if _, path, _ := strings.Cut(op, " "); strings.HasPrefix(path, "/api/v1/") && !slices.Contains(routes, op) {
			extra = append(extra, op)
		}
	}
	sort.Strings(extra)
	for _, op := range extra {
		t.Errorf("%s documents %q, which the handler does not register", openapiPath, op)
	}
}

// TestOpenAPIReferencesResolve checks every local $ref and that every
// {parameter} of a path template is declared as a path parameter.
func TestOpenAPIReferencesResolve(t *testing.T) {
	doc := loadOpenAPI(t)
	var walk func(v any, where string)
	walk = func(v any, where string) {
		switch v := v.(type) {
		case map[string]any:
			if ref, ok := v["$ref"].(string); ok {
				if resolve(doc, ref) == nil {
					t.Errorf("%s: $ref %q does not resolve", where, ref)
				}
			}
			for k, c := range v {
				walk(c, where+"."+k)
			}
		case []any:
			for i, c := range v {
				walk(c, where+"["+strconv.Itoa(i)+"]")
			}
		}
	}
	walk(doc, "")

	templateParam := regexp.MustCompile(`\{([^}]+)\}`)
	for path, item := range mapAt(t, doc["paths"], "paths") {
		item := mapAt(t, item, path)
		shared := pathParams(doc, item["parameters"])
		for key, op := range item {
			if !slices.Contains(httpMethods, key) {
				continue
			}
			declared := map[string]bool{}
			for k := range shared {
				declared[k] = true
			}
			for k := range pathParams(doc, mapAt(t, op, path+"."+key)["parameters"]) {
				declared[k] = true
			}
			for _, m := range templateParam.FindAllStringSubmatch(path, -1) {
				if !declared[m[1]] {
					t.Errorf("%s %s: path parameter %q is not declared", strings.ToUpper(key), path, m[1])
				}
				delete(declared, m[1])
			}
			for k := range declared {
				t.Errorf("%s %s: declares path parameter %q that the path lacks", strings.ToUpper(key), path, k)
			}
		}
	}
}

// resolve follows a local reference such as "#/components/schemas/Error".
func resolve(doc map[string]any, ref string) any {
	rest, ok := strings.CutPrefix(ref, "#/")
	if !ok {
		return nil
	}
	var cur any = doc
	for _, part := range strings.Split(rest, "/") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		part = strings.ReplaceAll(strings.ReplaceAll(part, "~1", "/"), "~0", "~")
		if cur, ok = m[part]; !ok {
			return nil
		}
	}
	return cur
}

// pathParams returns the names of the path parameters in a parameters list.
func pathParams(doc map[string]any, v any) map[string]bool {
	out := map[string]bool{}
	list, _ := v.([]any)
	for _, p := range list {
		pm, _ := p.(map[string]any)
		if ref, ok := pm["$ref"].(string); ok {
			pm, _ = resolve(doc, ref).(map[string]any)
		}
		if pm["in"] == "path" {
			if name, _ := pm["name"].(string); name != "" {
				out[name] = true
			}
		}
	}
	return out
}

// TestOpenAPISchemasMatchJSON checks that documented schemas list exactly
// the JSON fields of the types the handlers write.
func TestOpenAPISchemasMatchJSON(t *testing.T) {
	doc := loadOpenAPI(t)
	schemas := mapAt(t, resolve(doc, "#/components/schemas"), "components.schemas")
	for name, v := range map[string]any{
		"Webhook":              webhookView{},
		"WebhookEvent":         eventView{},
		"Registry":             registryView{},
		"Identity":             identityView{},
		"RoleAssignment":       auth.Assignment{},
		"Secret":               auth.Secret{},
		"AdminCredentials":     auth.AdminCredentials{},
		"ScopeMap":             auth.ScopeMapView{},
		"Token":                auth.TokenView{},
		"AuditEntry":           meta.AuditEntry{},
		"ChangeableAttributes": meta.Attributes{},
	} {
		s, ok := schemas[name].(map[string]any)
		if !ok {
			t.Errorf("schema %s is missing", name)
			continue
		}
		props, _ := s["properties"].(map[string]any)
		var documented []string
		for p := range props {
			documented = append(documented, p)
		}
		sort.Strings(documented)
		if want := jsonFields(reflect.TypeOf(v)); !slices.Equal(documented, want) {
			t.Errorf("schema %s has properties %v; %T writes %v", name, documented, v, want)
		}
	}
}

// jsonFields lists the JSON field names encoding/json writes for a struct type.
func jsonFields(typ reflect.Type) []string {
	var out []string
	for i := 0; i < typ.NumField(); i++ {
		f := typ.Field(i)
		if f.Anonymous && f.Type.Kind() == reflect.Struct {
			out = append(out, jsonFields(f.Type)...) // encoding/json lifts an embedded struct's fields
			continue
		}
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if name == "" {
			name = f.Name
		}
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}
