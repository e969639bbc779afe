package cli

import (
	"slices"
	"strings"
	"testing"
)

func TestHashKeyOrders(t *testing.T) {
	tests := []struct {
		q    string
		want [][]string
	}{
		{"[].{Name:name, Sku:sku.name}", [][]string{{"Name", "Sku"}}},
		{"{z: a, \"b c\": b[0], a: {y: x, b: y}}", [][]string{{"y", "b"}, {"z", "b c", "a"}}},
		{"[?name=='a:b'].{k: f(x, y), j: `{\"q\": 1}`}", [][]string{{"k", "j"}}},
		{"[].[name, id]", nil},
	}
	for _, tt := range tests {
		if got := hashKeyOrders(tt.q); !slices.EqualFunc(got, tt.want, slices.Equal) {
			t.Errorf("hashKeyOrders(%q) = %q, want %q", tt.q, got, tt.want)
		}
	}
}

// TestOutputFormats checks az's tsv and table: rows of a list of lists,
// columns in the query's order, booleans and nested values as az prints them.
func TestOutputFormats(t *testing.T) {
	data := []map[string]any{
		{"name": "a", "loginServer": "a.example", "admin": true, "tags": []string{"x", "y"}, "sku": map[string]string{"name": "Basic"}},
		{"name": "b", "loginServer": "b.example", "admin": false, "tags": []string{}, "sku": map[string]string{"name": "Premium"}},
	}
	tests := []struct {
		format, query, want string
	}{
		{"tsv", "[].[name, loginServer]", "a\ta.example\nb\tb.example\n"},
		{"tsv", "[].{S: loginServer, N: name}", "a.example\ta\nb.example\tb\n"},
		{"tsv", "[0]", "True\ta.example\ta\t\t2\n"},
		{"tsv", "[0].admin", "true\n"},
		{"table", "[].{Server: loginServer, Name: name}", "Server     Name\n---------  ------\na.example  a\nb.example  b\n"},
		{"table", "[].name", "Result\n--------\na\nb\n"},
		{"table", "[].[name, admin]", "Column1    Column2\n---------  ---------\na          True\nb          False\n"},
		{"table", "", "Admin    LoginServer    Name\n-------  -------------  ------\nTrue     a.example      a\nFalse    b.example      b\n"},
	}
	for _, tt := range tests {
		var sb strings.Builder
		o := output{format: tt.format, query: tt.query}
		if err := o.print(&sb, data); err != nil {
			t.Fatal(err)
		}
		if sb.String() != tt.want {
			t.Errorf("-o %s --query %q:\n%q\nwant\n%q", tt.format, tt.query, sb.String(), tt.want)
		}
	}
}

func FuzzHashKeyOrders(f *testing.F) {
	for _, s := range []string{"[].{a: b, c: d}", "{a: {b: c}}", "[?x=='{'].{'k': v}", "{\"a\": `}`}"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, q string) {
		for _, keys := range hashKeyOrders(q) {
			for _, k := range keys {
				if k == "" {
					t.Fatalf("%q: an empty key", q)
				}
			}
		}
	})
}
