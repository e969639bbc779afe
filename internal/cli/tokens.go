package cli

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

// repoActionFlags take az's "--repository REPO ACTION [ACTION ...]"
// form, repeatable; joinRepoActions rewrites it to REPO=ACTION,ACTION
// before parsing, which is also accepted as written.
var repoActionFlags = []string{"--repository", "--add-repository", "--remove-repository", "--add", "--remove",
	"--gateway", "--add-gateway", "--remove-gateway"}

// joinRepoActions rewrites "--repository REPO A1 A2" into
// "--repository REPO=A1,A2" in the scope-map and token commands.
func joinRepoActions(args []string) []string {
	if len(args) == 0 || (args[0] != "scope-map" && args[0] != "token") {
		return args
	}
	var out []string
	for i := 0; i < len(args); i++ {
		out = append(out, args[i])
		if !slices.Contains(repoActionFlags, args[i]) || i+1 >= len(args) || strings.Contains(args[i+1], "=") {
			continue
		}
		repo := args[i+1]
		j := i + 2
		for j < len(args) && !strings.HasPrefix(args[j], "-") {
			j++
		}
		if j == i+2 {
			continue
		}
		out = append(out, repo+"="+strings.Join(args[i+2:j], ","))
		i = j - 1
	}
	return out
}

// threeStateFlags are az's boolean options that take true or false or
// stand alone for true: "--admin-enabled", "--admin-enabled true".
var threeStateFlags = []string{"--admin-enabled", "--anonymous-pull-enabled", "--throttling-enabled", "--write-enabled",
	"--delete-enabled", "--read-enabled", "--list-enabled"}

// normalizeArgs rewrites az's argument forms cobra does not parse: the
// multi-value --repository of scope-map and token, and three-state flags
// given alone ("--admin-enabled" becomes "--admin-enabled=true").
func normalizeArgs(args []string) []string {
	args = joinRepoActions(args)
	out := make([]string, 0, len(args))
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !slices.Contains(threeStateFlags, a) {
			out = append(out, a)
			continue
		}
		if i+1 < len(args) {
			if _, err := parseBool(a, args[i+1]); err == nil {
				out = append(out, a+"="+args[i+1])
				i++
				continue
			}
		}
		out = append(out, a+"=true")
	}
	return out
}

// repoActions turns REPO=ACTION[,ACTION] values into scope map actions.
func repoActions(flag string, vals []string) ([]string, error) {
	var out []string
	for _, r := range vals {
		repo, acts, ok := strings.Cut(r, "=")
		if !ok || repo == "" || acts == "" {
			return nil, usageError{fmt.Errorf("--%s %q: want REPO ACTION [ACTION ...]", flag, r)}
		}
		for _, a := range strings.Split(acts, ",") {
			out = append(out, "repositories/"+repo+"/"+strings.TrimSpace(a))
		}
	}
	return out, nil
}

const repoHelp = "REPO ACTION [ACTION ...] (repeatable); actions: content/read, content/write, content/delete, metadata/read, metadata/write"

var errNoGateways = usageError{fmt.Errorf("acre has no connected registries, so no gateway actions")}

func newScopeMapCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "scope-map", Short: "Manage scope maps: which repository actions a token has"}
	var reg, name, desc string
	var repos, actions, gateways, add, remove []string
	base := func() string { return "/api/v1/registries/" + pathEscape(reg) + "/scopeMaps/" }
	create := &cobra.Command{
		Use:   "create",
		Short: "Create a scope map",
		Example: `  acre scope-map create -r myreg -n vendor-a --repository vendor/app content/read metadata/read \
      --repository vendor/db content/read --description "Vendor A"
  acre scope-map create -r myreg -n ci --action 'repositories/ci/*/content/write' --action 'repositories/ci/*/content/read'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if len(gateways) > 0 {
				return errNoGateways
			}
			all, err := repoActions("repository", repos)
			if err != nil {
				return err
			}
			return g.call(cmd, http.MethodPut, base()+pathEscape(name), map[string]any{"description": desc, "actions": append(all, actions...)})
		},
	}
	create.Flags().StringArrayVar(&repos, "repository", nil, repoHelp)
	create.Flags().StringArrayVar(&actions, "action", nil, "a raw action repositories/<repo>/<action> (repeatable)")
	create.Flags().StringArrayVar(&gateways, "gateway", nil, "connected registry actions (acre has none: refused)")
	update := &cobra.Command{
		Use:     "update",
		Short:   "Add or remove a scope map's repository actions, or change its description",
		Example: `  acre scope-map update -r myreg -n vendor-a --add-repository vendor/cache content/read --remove-repository vendor/db content/read`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if len(gateways) > 0 {
				return errNoGateways
			}
			plus, err := repoActions("add-repository", add)
			if err != nil {
				return err
			}
			minus, err := repoActions("remove-repository", remove)
			if err != nil {
				return err
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			var cur struct {
				Description string   `json:"description"`
				Actions     []string `json:"actions"`
			}
			if err := c.do(cmd.Context(), http.MethodGet, base()+pathEscape(name), nil, &cur); err != nil {
				return err
			}
			next := []string{}
			for _, a := range append(cur.Actions, append(plus, actions...)...) {
				if !slices.Contains(minus, a) && !slices.Contains(next, a) {
					next = append(next, a)
				}
			}
			if cmd.Flags().Changed("description") {
				cur.Description = desc
			}
			return g.call(cmd, http.MethodPut, base()+pathEscape(name), map[string]any{"description": cur.Description, "actions": next})
		},
	}
	for _, f := range []struct{ name, alias string }{{"add-repository", "add"}, {"remove-repository", "remove"}} {
		v := &add
		if f.alias == "remove" {
			v = &remove
		}
		update.Flags().StringArrayVar(v, f.name, nil, repoHelp)
		update.Flags().StringArrayVar(v, f.alias, nil, "the same as --"+f.name)
		_ = update.Flags().MarkHidden(f.alias)
	}
	update.Flags().StringArrayVar(&actions, "add-action", nil, "a raw action to add (repeatable)")
	update.Flags().StringArrayVar(&gateways, "add-gateway", nil, "connected registry actions (acre has none: refused)")
	for _, c := range []*cobra.Command{create, update} {
		c.Flags().StringVar(&desc, "description", "", "description")
	}
	show := &cobra.Command{Use: "show", Short: "Show a scope map", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return g.call(cmd, http.MethodGet, base()+pathEscape(name), nil)
		}}
	var yes bool
	del := &cobra.Command{Use: "delete", Short: "Delete a scope map (asks first unless --yes)", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if ok, err := confirm(cmd, yes, fmt.Sprintf("Deleting the scope map '%s' will remove its permissions from its tokens. Proceed?", name)); !ok {
				return err
			}
			return g.call(cmd, http.MethodDelete, base()+pathEscape(name), nil)
		}}
	del.Flags().BoolVarP(&yes, "yes", "y", false, "do not ask for confirmation")
	list := &cobra.Command{Use: "list", Short: "List scope maps (system and user-defined)", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return g.call(cmd, http.MethodGet, "/api/v1/registries/"+pathEscape(reg)+"/scopeMaps", nil)
		}}
	registryFlag(&reg, create, update, show, del, list)
	nameFlag(&name, "scope map name", create, update, show, del)
	withTable("scope-map", create, update, show, list)
	cmd.AddCommand(create, update, show, del, list)
	return cmd
}

// expiryFlags are az's --expiration (a date-time) and --expiration-in-days.
type expiryFlags struct {
	at   string
	days int
}

func (e *expiryFlags) add(c *cobra.Command) {
	c.Flags().StringVar(&e.at, "expiration", "", "expiry as a UTC date-time, e.g. 2030-01-01T00:00:00Z")
	c.Flags().IntVar(&e.days, "expiration-in-days", 0, "expire after this many days (0: never)")
}

// value is the expiry the flags give (zero: never).
func (e *expiryFlags) value() (time.Time, error) {
	if e.at == "" {
		return expiry(e.days), nil
	}
	if e.days > 0 {
		return time.Time{}, usageError{fmt.Errorf("give --expiration or --expiration-in-days, not both")}
	}
	for _, layout := range []string{time.RFC3339, "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, e.at); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, usageError{fmt.Errorf("--expiration %q: want a date-time such as 2030-01-01T00:00:00Z", e.at)}
}
