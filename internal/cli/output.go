package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"github.com/jmespath/go-jmespath"
	"go.yaml.in/yaml/v3"
)

// output holds the global --output and --query flags, and the table
// shape of the command that runs (az's table transformer).
type output struct {
	format string // json, jsonc, table, tsv, yaml, yamlc, none
	query  string // JMESPath
	table  tableFunc
}

// tableFunc turns a command's result into the rows `-o table` prints, in
// column order, as az's table transformers do. It is not used when a
// --query is given: then the query decides the columns.
type tableFunc func(data any) []orderedRow

// orderedRow is one table row: column names and values, in order.
type orderedRow struct {
	keys []string
	vals []any
}

func (r *orderedRow) add(k string, v any) { r.keys, r.vals = append(r.keys, k), append(r.vals, v) }

// print renders v as az does: it goes through JSON first (so field names
// are the API's), then the JMESPath query, then the chosen format. JSON
// keys come out sorted (az sorts them too); TSV and table columns follow
// the query's {key: ...} order, else the sorted keys.
func (o *output) print(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	var data any
	if err := json.Unmarshal(b, &data); err != nil {
		return err
	}
	var orders [][]string
	if o.query != "" {
		if data, err = jmespath.Search(o.query, data); err != nil {
			return usageError{fmt.Errorf("--query: %v", err)}
		}
		orders = hashKeyOrders(o.query)
	}
	switch o.format {
	case "", "json", "jsonc":
		out, err := json.MarshalIndent(data, "", "  ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintln(w, string(out))
		return err
	case "yaml", "yamlc":
		return yaml.NewEncoder(w).Encode(data)
	case "tsv":
		return writeTSV(w, data, orders)
	case "table":
		if o.table != nil && o.query == "" {
			return writeTable(w, o.table(data))
		}
		return writeTable(w, autoTable(data, orders, o.query != ""))
	case "none":
		return nil
	}
	return usageError{fmt.Errorf("--output must be json, jsonc, table, tsv, yaml, yamlc or none, not %q", o.format)}
}

// items is a result as a list of rows: a list stays one, anything else is
// a list of one.
func items(data any) []any {
	if l, ok := data.([]any); ok {
		return l
	}
	return []any{data}
}

// orderKeys returns m's keys in the order a query's multiselect hash gave
// them (when one has exactly these keys), else sorted.
func orderKeys(m map[string]any, orders [][]string) []string {
	for _, o := range orders {
		if len(o) != len(m) {
			continue
		}
		all := true
		for _, k := range o {
			if _, ok := m[k]; !ok {
				all = false
				break
			}
		}
		if all {
			return o
		}
	}
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// writeTSV prints one line per item, as az: an object's values (in
// query or key order), a list's elements, or the scalar itself. Inside a
// row a list prints its length and an object nothing.
func writeTSV(w io.Writer, data any, orders [][]string) error {
	if data == nil {
		return nil
	}
	var sb strings.Builder
	for _, it := range items(data) {
		switch x := it.(type) {
		case map[string]any:
			for i, k := range orderKeys(x, orders) {
				if i > 0 {
					sb.WriteByte('\t')
				}
				sb.WriteString(cell(x[k]))
			}
		case []any:
			for i, v := range x {
				if i > 0 {
					sb.WriteByte('\t')
				}
				sb.WriteString(cell(v))
			}
		case bool:
			sb.WriteString(strconv.FormatBool(x))
		default:
			sb.WriteString(cell(x))
		}
		sb.WriteByte('\n')
	}
	_, err := io.WriteString(w, sb.String())
	return err
}

// cell is a value inside a TSV or table row, spelled as az spells it.
func cell(v any) string {
	switch x := v.(type) {
	case nil:
		return "None"
	case string:
		return x
	case bool:
		if x {
			return "True"
		}
		return "False"
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case []any:
		return strconv.Itoa(len(x))
	case map[string]any:
		return ""
	}
	return fmt.Sprint(v)
}

// autoTable builds table rows as az does without a transformer: an
// object's scalar fields (not id, type or etag) with the first letter
// capitalized, a list's elements as Column1..N, a scalar as Result.
// Without a query the columns are sorted; with one they follow it.
func autoTable(data any, orders [][]string, query bool) []orderedRow {
	if data == nil {
		return nil
	}
	var out []orderedRow
	for _, it := range items(data) {
		var r orderedRow
		switch x := it.(type) {
		case map[string]any:
			keys := orderKeys(x, orders)
			if !query {
				keys = orderKeys(x, nil)
			}
			for _, k := range keys {
				v := x[k]
				switch v.(type) {
				case nil, []any, map[string]any:
					continue
				}
				if k == "id" || k == "type" || k == "etag" {
					continue
				}
				r.add(strings.ToUpper(k[:1])+k[1:], v)
			}
		case []any:
			for i, v := range x {
				r.add(fmt.Sprintf("Column%d", i+1), v)
			}
		default:
			r.add("Result", x)
		}
		out = append(out, r)
	}
	return out
}

// writeTable prints rows as az's "simple" tables (tabulate's): a header,
// a dashed line under each column, columns two spaces apart, left
// aligned, each at least two wider than its header. The columns are every
// row's keys in the order first seen.
func writeTable(w io.Writer, rows []orderedRow) error {
	var cols []string
	seen := map[string]int{}
	for _, r := range rows {
		for _, k := range r.keys {
			if _, ok := seen[k]; !ok {
				seen[k] = len(cols)
				cols = append(cols, k)
			}
		}
	}
	if len(cols) == 0 {
		return nil
	}
	cells := make([][]string, len(rows))
	width := make([]int, len(cols))
	for i, c := range cols {
		width[i] = len(c) + 2 // tabulate's minimum padding of headers
	}
	for i, r := range rows {
		cells[i] = make([]string, len(cols))
		for j, k := range r.keys {
			s := cell(r.vals[j])
			if r.vals[j] == nil {
				s = ""
			}
			c := seen[k]
			cells[i][c] = s
			width[c] = max(width[c], len([]rune(s)))
		}
	}
	var sb strings.Builder
	line := func(vals []string) {
		var l strings.Builder
		for i, v := range vals {
			if i > 0 {
				l.WriteString("  ")
			}
			l.WriteString(v)
			l.WriteString(strings.Repeat(" ", width[i]-len([]rune(v))))
		}
		sb.WriteString(strings.TrimRight(l.String(), " "))
		sb.WriteByte('\n')
	}
	line(cols)
	dashes := make([]string, len(cols))
	for i := range cols {
		dashes[i] = strings.Repeat("-", width[i])
	}
	line(dashes)
	for _, c := range cells {
		line(c)
	}
	_, err := io.WriteString(w, sb.String())
	return err
}

// hashKeyOrders finds the key lists of the multiselect hashes
// ({a: x, b: y}) in a JMESPath expression, in the order written, so
// that TSV and table columns can follow the query as az's do (go-jmespath
// returns Go maps, which have no order). It scans tokens only; an
// expression that does not parse was already rejected by the search.
func hashKeyOrders(expr string) [][]string {
	var out [][]string
	var stack [][]string // keys of the open hashes; nil for an open [ or (
	var pending string   // the last identifier seen at this level
	atKey := false       // the next identifier may be a key
	rs := []rune(expr)
	for i := 0; i < len(rs); i++ {
		c := rs[i]
		switch {
		case c == '{':
			stack = append(stack, []string{})
			atKey, pending = true, ""
		case c == '[' || c == '(':
			stack = append(stack, nil)
			atKey = false
		case c == '}' || c == ']' || c == ')':
			if n := len(stack); n > 0 {
				if c == '}' && stack[n-1] != nil {
					out = append(out, stack[n-1])
				}
				stack = stack[:n-1]
			}
			atKey = false
		case c == ',':
			atKey = len(stack) > 0 && stack[len(stack)-1] != nil
			pending = ""
		case c == ':':
			if n := len(stack); n > 0 && stack[n-1] != nil && pending != "" {
				stack[n-1] = append(stack[n-1], pending)
			}
			pending, atKey = "", false
		case c == '"' || c == '\'' || c == '`':
			j := i + 1
			var lit strings.Builder
			for j < len(rs) && rs[j] != c {
				if rs[j] == '\\' && j+1 < len(rs) {
					j++
				}
				lit.WriteRune(rs[j])
				j++
			}
			if c == '"' && atKey {
				pending = lit.String()
			}
			i = j
		case isIdentStart(c):
			j := i
			for j < len(rs) && (isIdentStart(rs[j]) || rs[j] >= '0' && rs[j] <= '9') {
				j++
			}
			if atKey {
				pending = string(rs[i:j])
			}
			i = j - 1
		case c == ' ' || c == '\t' || c == '\n':
		default:
			atKey, pending = false, ""
		}
	}
	return out
}

func isIdentStart(c rune) bool { return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
