package cli

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

// print renders v for cmd, with the table shape its "table" annotation
// names (az's table transformer for that command).
func (g *globals) print(cmd *cobra.Command, v any) error {
	g.out.table = tableFor(cmd.Annotations["table"])
	return g.out.print(cmd.OutOrStdout(), v)
}

// withTable names the table shape of commands (see tableFor).
func withTable(name string, cmds ...*cobra.Command) {
	for _, c := range cmds {
		if c.Annotations == nil {
			c.Annotations = map[string]string{}
		}
		c.Annotations["table"] = name
	}
}

// tableFor returns az's table transformer of that name: the columns
// `az acr ... -o table` prints, in az's order.
func tableFor(name string) tableFunc {
	cols := func(spec ...string) tableFunc {
		return func(data any) []orderedRow {
			var out []orderedRow
			for _, it := range listOrValue(data) {
				var r orderedRow
				for i := 0; i+1 < len(spec); i += 2 {
					v := pyValue(it, strings.Split(spec[i+1], ".")...)
					if strings.HasSuffix(spec[i], "DATE") || spec[i] == "TIMESTAMP" {
						v = azTime(v)
					}
					r.add(spec[i], v)
				}
				out = append(out, r)
			}
			return out
		}
	}
	switch name {
	case "registry":
		return cols("NAME", "name", "RESOURCE GROUP", "resourceGroup", "LOCATION", "location", "SKU", "sku.name",
			"LOGIN SERVER", "loginServer", "CREATION DATE", "creationDate", "ADMIN ENABLED", "adminUserEnabled")
	case "usage":
		return cols("NAME", "name", "LIMIT", "limit", "CURRENT VALUE", "currentValue", "UNIT", "unit")
	case "policy":
		return cols("STATUS", "status", "TYPE", "type")
	case "credential":
		return cols("USERNAME", "username", "PASSWORD", "passwords.0.value", "PASSWORD2", "passwords.1.value")
	case "webhook":
		return cols("NAME", "name", "LOCATION", "location", "ACTIONS", "actions", "SCOPE", "scope", "STATUS", "status")
	case "webhook-config":
		return cols("SERVICE URI", "serviceUri", "HEADERS", "customHeaders")
	case "webhook-ping":
		return cols("ID", "id")
	case "webhook-events":
		return webhookEventsTable
	case "scope-map":
		return func(data any) []orderedRow {
			rows := cols("NAME", "name", "TYPE", "scopeMapType", "CREATION DATE", "creationDate", "DESCRIPTION", "description")(data)
			for i := range rows {
				if d := rows[i].vals[3].(string); len(d) > 57 {
					rows[i].vals[3] = d[:57] + "..."
				}
			}
			return rows
		}
	case "token":
		return tokenTable
	case "token-credential":
		return tokenCredentialTable
	}
	return nil
}

// listOrValue is az's _output_format: a {"value": [...]} answer is its
// list, a list is itself, anything else a list of one.
func listOrValue(data any) []any {
	if m, ok := data.(map[string]any); ok {
		if l, ok := m["value"].([]any); ok {
			return l
		}
	}
	return items(data)
}

// pyValue is az's _get_value: the value at path as Python prints it, or
// " " when it is missing or empty (so false and 0 print as a blank).
func pyValue(item any, path ...string) string {
	for _, p := range path {
		switch x := item.(type) {
		case map[string]any:
			item = x[p]
		case []any:
			var i int
			if _, err := fmt.Sscan(p, &i); err != nil || i < 0 || i >= len(x) {
				return " "
			}
			item = x[i]
		default:
			return " "
		}
	}
	switch x := item.(type) {
	case nil:
		return " "
	case bool:
		if !x {
			return " "
		}
	case string:
		if x == "" {
			return " "
		}
	case float64:
		if x == 0 {
			return " "
		}
	case []any:
		if len(x) == 0 {
			return " "
		}
	case map[string]any:
		if len(x) == 0 {
			return " "
		}
	}
	return pyStr(item)
}

// pyStr spells a JSON value as Python's str() does (lists as
// ['a', 'b'], dicts as {'k': 'v'}, booleans as True/False).
func pyStr(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = pyRepr(e)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case map[string]any:
		ks := make([]string, 0, len(x))
		for k := range x {
			ks = append(ks, k)
		}
		sort.Strings(ks)
		parts := make([]string, len(ks))
		for i, k := range ks {
			parts[i] = pyRepr(k) + ": " + pyRepr(x[k])
		}
		return "{" + strings.Join(parts, ", ") + "}"
	}
	return cell(v)
}

func pyRepr(v any) string {
	if s, ok := v.(string); ok {
		return "'" + strings.ReplaceAll(s, "'", `\'`) + "'"
	}
	return pyStr(v)
}

// azTime is az's _format_datetime: RFC 3339 to the second, in UTC.
func azTime(s string) string {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return s
	}
	return t.UTC().Format("2006-01-02T15:04:05Z")
}

func tokenTable(data any) []orderedRow {
	var out []orderedRow
	for _, it := range listOrValue(data) {
		sm := pyValue(it, "scopeMapId")
		expiry := map[string]string{"PASSWORD1": "", "PASSWORD2": ""}
		if m, ok := it.(map[string]any); ok {
			creds, _ := m["credentials"].(map[string]any)
			pws, _ := creds["passwords"].([]any)
			for _, p := range pws {
				n := strings.ToUpper(pyValue(p, "name"))
				if _, ok := expiry[n]; ok {
					expiry[n] = passwordExpiry(p)
				}
			}
		}
		status := pyValue(it, "status")
		if status != " " {
			status = strings.ToUpper(status[:1]) + strings.ToLower(status[1:])
		}
		var r orderedRow
		r.add("NAME", pyValue(it, "name"))
		r.add("SCOPE MAP", sm[strings.LastIndex(sm, "/")+1:])
		r.add("PASSWORD1 EXPIRY", expiry["PASSWORD1"])
		r.add("PASSWORD2 EXPIRY", expiry["PASSWORD2"])
		r.add("STATUS", status)
		r.add("PROVISIONING STATE", pyValue(it, "provisioningState"))
		r.add("CREATION DATE", azTime(pyValue(it, "creationDate")))
		out = append(out, r)
	}
	return out
}

// passwordExpiry is a password's expiry as az's token tables print it.
func passwordExpiry(p any) string {
	if e := pyValue(p, "expiry"); e != " " {
		return azTime(e)
	}
	return "Never"
}

func tokenCredentialTable(data any) []orderedRow {
	var out []orderedRow
	for _, it := range listOrValue(data) {
		var r orderedRow
		r.add("USERNAME", pyValue(it, "username"))
		if m, ok := it.(map[string]any); ok {
			pws, _ := m["passwords"].([]any)
			for _, p := range pws {
				n := strings.ToUpper(pyValue(p, "name"))
				r.add(n, pyValue(p, "value"))
				r.add(n+" EXPIRY", passwordExpiry(p))
			}
		}
		out = append(out, r)
	}
	return out
}

func webhookEventsTable(data any) []orderedRow {
	var out []orderedRow
	for _, it := range listOrValue(data) {
		repo := strings.TrimSpace(pyValue(it, "eventRequestMessage", "content", "target", "repository"))
		tag := strings.TrimSpace(pyValue(it, "eventRequestMessage", "content", "target", "tag"))
		status := strings.TrimSpace(pyValue(it, "eventResponseMessage", "statusCode"))
		reason := strings.TrimSpace(pyValue(it, "eventResponseMessage", "reasonPhrase"))
		image := repo
		switch {
		case repo != "" && tag != "":
			image = repo + ":" + tag
		case repo == "":
			image = " "
		}
		httpStatus := strings.TrimSpace(status + " " + reason)
		if httpStatus == "" {
			httpStatus = " "
		}
		var r orderedRow
		r.add("ID", pyValue(it, "id"))
		r.add("ACTION", pyValue(it, "eventRequestMessage", "content", "action"))
		r.add("IMAGE", image)
		r.add("HTTP STATUS", httpStatus)
		r.add("TIMESTAMP", azTime(pyValue(it, "eventRequestMessage", "content", "timestamp")))
		out = append(out, r)
	}
	return out
}
