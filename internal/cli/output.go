package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/jmespath/go-jmespath"
	"go.yaml.in/yaml/v3"
)

// output holds the global --output and --query flags.
type output struct {
	format string // json, jsonc, table, tsv, yaml, none
	query  string // JMESPath
}

// print renders v: it goes through JSON first (so field names are the
// API's), then the JMESPath query, then the chosen format.
func (o *output) print(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	var data any
	if err := json.Unmarshal(b, &data); err != nil {
		return err
	}
	if o.query != "" {
		if data, err = jmespath.Search(o.query, data); err != nil {
			return usageError{fmt.Errorf("--query: %v", err)}
		}
	}
	switch o.format {
	case "", "json", "jsonc":
		out, err := json.MarshalIndent(data, "", "  ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintln(w, string(out))
		return err
	case "yaml":
		return yaml.NewEncoder(w).Encode(data)
	case "tsv":
		for _, row := range rows(data) {
			fmt.Fprintln(w, strings.Join(row.values(row.keys()), "\t"))
		}
		return nil
	case "table":
		return table(w, data)
	case "none":
		return nil
	}
	return usageError{fmt.Errorf("--output must be json, jsonc, table, tsv, yaml or none, not %q", o.format)}
}

type row map[string]any

func (r row) keys() []string {
	ks := make([]string, 0, len(r))
	for k, v := range r {
		if isScalar(v) {
			ks = append(ks, k)
		}
	}
	sort.Slice(ks, func(i, j int) bool {
		if (ks[i] == "name") != (ks[j] == "name") {
			return ks[i] == "name"
		}
		return ks[i] < ks[j]
	})
	return ks
}

func (r row) values(keys []string) []string {
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = scalar(r[k])
	}
	return out
}

func isScalar(v any) bool {
	switch v.(type) {
	case map[string]any, []any:
		return false
	}
	return true
}

func scalar(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case float64:
		return strings.TrimSuffix(strings.TrimSuffix(fmt.Sprintf("%f", x), "000000"), ".")
	}
	return fmt.Sprint(v)
}

// rows turns a value into table rows: a list of objects, one object, or
// scalars (one column "Result").
func rows(data any) []row {
	switch x := data.(type) {
	case []any:
		var out []row
		for _, e := range x {
			if m, ok := e.(map[string]any); ok {
				out = append(out, m)
			} else {
				out = append(out, row{"Result": e})
			}
		}
		return out
	case map[string]any:
		return []row{x}
	case nil:
		return nil
	}
	return []row{{"Result": data}}
}

func table(w io.Writer, data any) error {
	rs := rows(data)
	if len(rs) == 0 {
		return nil
	}
	keys := rs[0].keys()
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	heads := make([]string, len(keys))
	lines := make([]string, len(keys))
	for i, k := range keys {
		heads[i] = strings.ToUpper(k[:1]) + k[1:]
		lines[i] = strings.Repeat("-", len(k))
	}
	fmt.Fprintln(tw, strings.Join(heads, "\t"))
	fmt.Fprintln(tw, strings.Join(lines, "\t"))
	for _, r := range rs {
		fmt.Fprintln(tw, strings.Join(r.values(keys), "\t"))
	}
	return tw.Flush()
}
