package cli

import (
	"net/http"
	"net/url"

	"github.com/spf13/cobra"
)

// newKeyVaultCmd is `acre keyvault ...`, after az keyvault.
func newKeyVaultCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "keyvault", Short: "Manage Key Vaults: secrets web apps reference as @Microsoft.KeyVault(...)",
		Long: `Manage Key Vaults. An identity reads a vault's secrets with the role Key Vault Secrets User:
  acre role assignment create --assignee <principalId> --role "Key Vault Secrets User" --scope /vaults/<name>`}
	var name string
	one := func() string { return "/api/v1/vaults/" + pathEscape(name) }
	mk := func(use, short, method string, path func() string, body func() any) *cobra.Command {
		c := &cobra.Command{Use: use, Short: short, Args: cobra.NoArgs, RunE: func(cmd *cobra.Command, _ []string) error {
			var b any
			if body != nil {
				b = body()
			}
			return g.call(cmd, method, path(), b)
		}}
		c.Flags().StringP("resource-group", "g", "", "ignored (az compatibility)")
		return c
	}
	create := mk("create", "Create a vault", http.MethodPost, func() string { return "/api/v1/vaults" }, func() any { return map[string]any{"name": name} })
	show := mk("show", "Show a vault", http.MethodGet, one, nil)
	del := mk("delete", "Delete a vault with its secrets", http.MethodDelete, one, nil)
	list := mk("list", "List vaults", http.MethodGet, func() string { return "/api/v1/vaults" }, nil)
	for _, c := range []*cobra.Command{create, show, del} {
		c.Flags().StringVarP(&name, "name", "n", "", "vault name")
		required(c, "name")
	}
	cmd.AddCommand(create, show, del, list, newKeyVaultSecretCmd(g))
	return cmd
}

func newKeyVaultSecretCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "secret", Short: "Manage a vault's secrets"}
	var vault, name, value, version string
	path := func() string {
		return "/api/v1/vaults/" + pathEscape(vault) + "/secrets/" + pathEscape(name)
	}
	set := &cobra.Command{Use: "set", Short: "Set a secret (a new version)", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return g.call(cmd, http.MethodPut, path(), map[string]any{"value": value})
		}}
	set.Flags().StringVar(&value, "value", "", "the secret's value")
	required(set, "value")
	show := &cobra.Command{Use: "show", Short: "Show a secret with its value", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p := path()
			if version != "" {
				p += "?version=" + url.QueryEscape(version)
			}
			return g.call(cmd, http.MethodGet, p, nil)
		}}
	show.Flags().StringVar(&version, "version", "", "a version (default: the latest)")
	list := &cobra.Command{Use: "list", Short: "List a vault's secrets (without values)", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return g.call(cmd, http.MethodGet, "/api/v1/vaults/"+pathEscape(vault)+"/secrets", nil)
		}}
	for _, c := range []*cobra.Command{set, show, list} {
		c.Flags().StringVar(&vault, "vault-name", "", "vault name")
		required(c, "vault-name")
	}
	nameFlag(&name, "secret name", set, show)
	cmd.AddCommand(set, show, list)
	return cmd
}
