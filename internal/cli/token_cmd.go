package cli

import (
	"fmt"
	"net/http"

	"github.com/spf13/cobra"
)

func newTokenCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "token", Short: "Manage repository-scoped tokens"}
	var reg, name, scopeMap, status string
	var repos, gateways []string
	var noPasswords, yes bool
	var exp expiryFlags
	base := func() string { return "/api/v1/registries/" + pathEscape(reg) + "/tokens" }
	create := &cobra.Command{
		Use:   "create",
		Short: "Create a token; its two passwords are shown once (acre keeps only their hashes)",
		Example: `  acre token create -r myreg -n vendor-a --scope-map vendor-a
  acre token create -r myreg -n ci-token --repository ci/app content/write content/read --expiration-in-days 30`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if len(gateways) > 0 {
				return errNoGateways
			}
			if (scopeMap == "") == (len(repos) == 0) {
				return usageError{fmt.Errorf("give --scope-map or --repository")}
			}
			e, err := exp.value()
			if err != nil {
				return err
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			if len(repos) > 0 {
				if scopeMap, err = tokenScopeMap(cmd, c, reg, name, repos); err != nil {
					return err
				}
			}
			body := map[string]any{"name": name, "scopeMap": scopeMap, "status": status, "noPasswords": noPasswords}
			if !e.IsZero() {
				body["expiry"] = e
			}
			return g.call(cmd, http.MethodPost, base(), body)
		},
	}
	create.Flags().StringVar(&scopeMap, "scope-map", "", "scope map name (or a system one such as _repositories_pull)")
	create.Flags().StringArrayVar(&repos, "repository", nil, repoHelp+"; creates the scope map <token>-scope-map")
	create.Flags().StringArrayVar(&gateways, "gateway", nil, "connected registry actions (acre has none: refused)")
	create.Flags().StringVar(&status, "status", "enabled", "enabled or disabled")
	create.Flags().BoolVar(&noPasswords, "no-passwords", false, "create no passwords (generate them later)")
	exp.add(create)
	update := &cobra.Command{
		Use:   "update",
		Short: "Change a token's scope map or status",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return g.call(cmd, http.MethodPatch, base()+"/"+pathEscape(name), map[string]string{"scopeMap": scopeMap, "status": status})
		},
	}
	update.Flags().StringVar(&scopeMap, "scope-map", "", "new scope map")
	update.Flags().StringVar(&status, "status", "", "enabled or disabled")
	show := &cobra.Command{Use: "show", Short: "Show a token", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return g.call(cmd, http.MethodGet, base()+"/"+pathEscape(name), nil)
		}}
	del := &cobra.Command{Use: "delete", Short: "Delete a token (asks first unless --yes)", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			msg := fmt.Sprintf("Deleting the token '%s' will invalidate access to anyone using its credentials. Proceed?", name)
			if ok, err := confirm(cmd, yes, msg); !ok {
				return err
			}
			return g.call(cmd, http.MethodDelete, base()+"/"+pathEscape(name), nil)
		}}
	del.Flags().BoolVarP(&yes, "yes", "y", false, "do not ask for confirmation")
	list := &cobra.Command{Use: "list", Short: "List tokens", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return g.call(cmd, http.MethodGet, base(), nil)
		}}
	cred := &cobra.Command{Use: "credential", Short: "Manage a token's passwords"}
	var pw1, pw2 bool
	gen := &cobra.Command{
		Use:     "generate",
		Short:   "Generate password1 and/or password2 (shown once: acre keeps only their hashes)",
		Example: "  acre token credential generate -r myreg -n vendor-a --password1 --expiration-in-days 30",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			e, err := exp.value()
			if err != nil {
				return err
			}
			body := map[string]any{}
			if pw1 != pw2 { // one of them; neither or both generates both, as az
				body["name"] = map[bool]string{true: "password1", false: "password2"}[pw1]
			}
			if !e.IsZero() {
				body["expiry"] = e
			}
			return g.call(cmd, http.MethodPost, base()+"/"+pathEscape(name)+"/credentials/generate", body)
		},
	}
	gen.Flags().BoolVar(&pw1, "password1", false, "generate password1")
	gen.Flags().BoolVar(&pw2, "password2", false, "generate password2")
	exp.add(gen)
	credDel := &cobra.Command{
		Use:     "delete",
		Short:   "Delete password1 and/or password2",
		Example: "  acre token credential delete -r myreg -n vendor-a --password1",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !pw1 && !pw2 {
				return usageError{fmt.Errorf("no credentials to delete: give --password1 and/or --password2")}
			}
			for _, which := range []string{"password1", "password2"} {
				if (which == "password1" && !pw1) || (which == "password2" && !pw2) {
					continue
				}
				if err := g.call(cmd, http.MethodDelete, base()+"/"+pathEscape(name)+"/credentials/"+which, nil); err != nil {
					return err
				}
			}
			return g.call(cmd, http.MethodGet, base()+"/"+pathEscape(name), nil)
		},
	}
	credDel.Flags().BoolVar(&pw1, "password1", false, "delete password1")
	credDel.Flags().BoolVar(&pw2, "password2", false, "delete password2")
	cred.AddCommand(gen, credDel)
	registryFlag(&reg, create, update, show, del, list, gen, credDel)
	nameFlag(&name, "token name", create, update, show, del, gen, credDel)
	withTable("token", create, update, show, list, credDel)
	withTable("token-credential", gen)
	cmd.AddCommand(create, update, show, del, list, cred)
	return cmd
}

// tokenScopeMap creates the scope map az's `token create --repository`
// makes, <token>-scope-map, or reuses it when it has the same actions.
func tokenScopeMap(cmd *cobra.Command, c *client, reg, token string, repos []string) (string, error) {
	actions, err := repoActions("repository", repos)
	if err != nil {
		return "", err
	}
	name := token + "-scope-map"
	path := "/api/v1/registries/" + pathEscape(reg) + "/scopeMaps/" + pathEscape(name)
	var cur struct {
		Actions []string `json:"actions"`
	}
	err = c.do(cmd.Context(), http.MethodGet, path, nil, &cur)
	switch {
	case err == nil && sameSet(cur.Actions, actions):
		return name, nil
	case err == nil:
		return "", fmt.Errorf("the scope map %s exists with other repository permissions: change it with acre scope-map update -r %s -n %s --add-repository/--remove-repository", name, reg, name)
	case exitCode(err) != exitNotFound:
		return "", err
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "Creating a scope map %q for provided repository permissions.\n", name)
	return name, c.do(cmd.Context(), http.MethodPut, path, map[string]any{"description": "Created by token: " + token, "actions": actions}, nil)
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for _, x := range a {
		found := false
		for _, y := range b {
			found = found || x == y
		}
		if !found {
			return false
		}
	}
	return true
}
