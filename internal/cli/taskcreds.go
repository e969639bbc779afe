package cli

import (
	"net/http"

	"github.com/spf13/cobra"
)

// newTaskCredentialCmd is az acr task credential: logins to other
// registries a task's runs pull base images from.
func newTaskCredentialCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "credential", Short: "Manage a task's credentials for other registries (base images)"}
	var reg, name, server, user, pass, identity string
	path := func() string {
		return "/api/v1/registries/" + pathEscape(reg) + "/tasks/" + pathEscape(name) + "/credentials"
	}
	body := func(cmd *cobra.Command) map[string]any {
		b := map[string]any{}
		if cmd.Flags().Changed("username") {
			b["username"] = user
		}
		if cmd.Flags().Changed("password") {
			b["password"] = pass
		}
		if cmd.Flags().Changed("use-identity") {
			b["identity"] = identity
		}
		return b
	}
	add := &cobra.Command{Use: "add", Short: "Add a registry login credential to a task", Args: cobra.NoArgs,
		Example: `  acre task credential add -r acre -n app --login-server registry.example:5000 -u puller -p $PASSWORD
  acre task credential add -r acre -n app --login-server registry.example:5000 -u puller \
      -p https://kv.vault.acre.local/secrets/pullpass --use-identity [system]`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			b := body(cmd)
			b["loginServer"] = server
			return g.call(cmd, http.MethodPost, path(), b)
		}}
	update := &cobra.Command{Use: "update", Short: "Update a task's registry login credential", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return g.call(cmd, http.MethodPatch, path()+"/"+pathEscape(server), body(cmd))
		}}
	remove := &cobra.Command{Use: "remove", Short: "Remove a task's registry login credential", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return g.call(cmd, http.MethodDelete, path()+"/"+pathEscape(server), nil)
		}}
	list := g.simpleCmd("list", "List a task's registry credentials (user names only)", http.MethodGet, path)
	for _, c := range []*cobra.Command{add, update, remove, list} {
		c.Flags().StringVarP(&reg, "registry", "r", "", "registry name")
		c.Flags().StringVarP(&name, "name", "n", "", "task name")
		required(c, "registry", "name")
		if c == list {
			continue
		}
		c.Flags().StringVar(&server, "login-server", "", "the other registry (host or host:port)")
		required(c, "login-server")
		if c == remove {
			continue
		}
		c.Flags().StringVarP(&user, "username", "u", "", "user name, or a Key Vault secret URL holding it")
		c.Flags().StringVarP(&pass, "password", "p", "", "password (or token), or a Key Vault secret URL holding it")
		c.Flags().StringVar(&identity, "use-identity", "", "the identity reading Key Vault secret URLs: [system] (the task's) or its client ID")
		if c == add {
			required(c, "username", "password")
		}
	}
	cmd.AddCommand(add, update, remove, list)
	return cmd
}
