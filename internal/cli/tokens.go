package cli

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/spf13/cobra"
)

func newScopeMapCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "scope-map", Short: "Manage scope maps: which repository actions a token has"}
	var reg, name, desc string
	var repos, actions []string
	put := func(use, short string) *cobra.Command {
		c := &cobra.Command{
			Use:   use,
			Short: short,
			Example: `  acre scope-map create -r myreg -n vendor-a --repository 'vendor/app=content/read,metadata/read' \
      --repository 'vendor/db=content/read'
  acre scope-map create -r myreg -n ci --action 'repositories/ci/*/content/write' --action 'repositories/ci/*/content/read'`,
			Args: cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				all := append([]string{}, actions...)
				for _, r := range repos {
					repo, acts, ok := strings.Cut(r, "=")
					if !ok || repo == "" || acts == "" {
						return usageError{fmt.Errorf("--repository %q: want REPO=ACTION[,ACTION...]", r)}
					}
					for _, a := range strings.Split(acts, ",") {
						all = append(all, "repositories/"+repo+"/"+strings.TrimSpace(a))
					}
				}
				return g.call(cmd, http.MethodPut, "/api/v1/registries/"+pathEscape(reg)+"/scopeMaps/"+pathEscape(name),
					map[string]any{"description": desc, "actions": all})
			},
		}
		c.Flags().StringVar(&desc, "description", "", "description")
		c.Flags().StringArrayVar(&repos, "repository", nil, "REPO=ACTION[,ACTION...]: content/read, content/write, content/delete, metadata/read, metadata/write (repeatable)")
		c.Flags().StringArrayVar(&actions, "action", nil, "a raw action repositories/<repo>/<action> (repeatable)")
		return c
	}
	create := put("create", "Create a scope map")
	update := put("update", "Replace a scope map's actions")
	show := &cobra.Command{Use: "show", Short: "Show a scope map", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return g.call(cmd, http.MethodGet, "/api/v1/registries/"+pathEscape(reg)+"/scopeMaps/"+pathEscape(name), nil)
		}}
	del := &cobra.Command{Use: "delete", Short: "Delete a scope map", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return g.call(cmd, http.MethodDelete, "/api/v1/registries/"+pathEscape(reg)+"/scopeMaps/"+pathEscape(name), nil)
		}}
	list := &cobra.Command{Use: "list", Short: "List scope maps (system and user-defined)", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return g.call(cmd, http.MethodGet, "/api/v1/registries/"+pathEscape(reg)+"/scopeMaps", nil)
		}}
	for _, c := range []*cobra.Command{create, update, show, del, list} {
		c.Flags().StringVarP(&reg, "registry", "r", "", "registry name")
		required(c, "registry")
		if c != list {
			c.Flags().StringVarP(&name, "name", "n", "", "scope map name")
			required(c, "name")
		}
	}
	cmd.AddCommand(create, update, show, del, list)
	return cmd
}

func newTokenCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "token", Short: "Manage repository-scoped tokens"}
	var reg, name, scopeMap, status string
	var days int
	create := &cobra.Command{
		Use:     "create",
		Short:   "Create a token; its two passwords are shown once",
		Example: "  acre token create -r myreg -n vendor-a --scope-map vendor-a",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			body := map[string]any{"name": name, "scopeMap": scopeMap}
			if e := expiry(days); !e.IsZero() {
				body["expiry"] = e
			}
			return g.call(cmd, http.MethodPost, "/api/v1/registries/"+pathEscape(reg)+"/tokens", body)
		},
	}
	create.Flags().StringVar(&scopeMap, "scope-map", "", "scope map name (or a system one such as _repositories_pull)")
	create.Flags().IntVar(&days, "expiration-in-days", 0, "passwords expire after this many days (0: never)")
	required(create, "scope-map")
	update := &cobra.Command{
		Use:   "update",
		Short: "Change a token's scope map or status",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return g.call(cmd, http.MethodPatch, "/api/v1/registries/"+pathEscape(reg)+"/tokens/"+pathEscape(name),
				map[string]string{"scopeMap": scopeMap, "status": status})
		},
	}
	update.Flags().StringVar(&scopeMap, "scope-map", "", "new scope map")
	update.Flags().StringVar(&status, "status", "", "enabled or disabled")
	show := &cobra.Command{Use: "show", Short: "Show a token", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return g.call(cmd, http.MethodGet, "/api/v1/registries/"+pathEscape(reg)+"/tokens/"+pathEscape(name), nil)
		}}
	del := &cobra.Command{Use: "delete", Short: "Delete a token", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return g.call(cmd, http.MethodDelete, "/api/v1/registries/"+pathEscape(reg)+"/tokens/"+pathEscape(name), nil)
		}}
	list := &cobra.Command{Use: "list", Short: "List tokens", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return g.call(cmd, http.MethodGet, "/api/v1/registries/"+pathEscape(reg)+"/tokens", nil)
		}}
	cred := &cobra.Command{Use: "credential", Short: "Manage a token's passwords"}
	var pw1, pw2 bool
	gen := &cobra.Command{
		Use:     "generate",
		Short:   "Generate password1 and/or password2 (shown once)",
		Example: "  acre token credential generate -r myreg -n vendor-a --password1 --expiration-in-days 30",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			which := []string{}
			if pw1 || !pw2 {
				which = append(which, "password1")
			}
			if pw2 || !pw1 {
				which = append(which, "password2")
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			var all []any
			for _, w := range which {
				body := map[string]any{"name": w}
				if e := expiry(days); !e.IsZero() {
					body["expiry"] = e
				}
				var out struct {
					Passwords []any `json:"passwords"`
				}
				if err := c.do(cmd.Context(), http.MethodPost, "/api/v1/registries/"+pathEscape(reg)+"/tokens/"+pathEscape(name)+"/credentials/generate", body, &out); err != nil {
					return err
				}
				all = append(all, out.Passwords...)
			}
			return g.out.print(cmd.OutOrStdout(), map[string]any{"username": name, "passwords": all})
		},
	}
	gen.Flags().BoolVar(&pw1, "password1", false, "generate password1")
	gen.Flags().BoolVar(&pw2, "password2", false, "generate password2")
	gen.Flags().IntVar(&days, "expiration-in-days", 0, "expire after this many days (0: never)")
	cred.AddCommand(gen)
	for _, c := range []*cobra.Command{create, update, show, del, list, gen} {
		c.Flags().StringVarP(&reg, "registry", "r", "", "registry name")
		required(c, "registry")
		if c != list {
			c.Flags().StringVarP(&name, "name", "n", "", "token name")
			required(c, "name")
		}
	}
	cmd.AddCommand(create, update, show, del, list, cred)
	return cmd
}
