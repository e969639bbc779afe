package cli

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

func newCredentialCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "credential", Short: "Manage a registry's admin user credentials"}
	var name, pw string
	show := &cobra.Command{
		Use:   "show",
		Short: "Show the admin user (acre stores its passwords hashed: renew to see new ones)",
		Long: `Shows the admin user's name and password names. Unlike az, no values: acre stores the
passwords hashed, so they are shown only when generated, by enabling the admin
user (acre update --admin-enabled true) or by acre credential renew.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return g.call(cmd, http.MethodGet, "/api/v1/registries/"+pathEscape(name)+"/credentials", nil)
		},
	}
	renew := &cobra.Command{
		Use:     "renew",
		Short:   "Generate a new admin password (shown once)",
		Example: "  acre credential renew --name myreg --password-name password2",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return g.call(cmd, http.MethodPost, "/api/v1/registries/"+pathEscape(name)+"/credentials/renew", map[string]string{"name": pw})
		},
	}
	for _, c := range []*cobra.Command{show, renew} {
		c.Flags().StringVarP(&name, "name", "n", "", "registry name")
		required(c, "name")
	}
	renew.Flags().StringVar(&pw, "password-name", "password", "password or password2")
	withTable("credential", show, renew)
	cmd.AddCommand(show, renew)
	return cmd
}

func newIdentityCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "identity", Short: "Manage users, service principals and managed identities"}
	var name, kind, password string
	create := &cobra.Command{
		Use:   "create",
		Short: "Create an identity; a generated password or secret is shown once",
		Example: `  acre identity create --name alice --type user
  acre identity create --type serviceprincipal --name ci-pipeline`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return g.call(cmd, http.MethodPost, "/api/v1/identities", map[string]string{"name": name, "principalType": kind, "password": password})
		},
	}
	create.Flags().StringVarP(&name, "name", "n", "", "name (a service principal gets a generated id when empty)")
	create.Flags().StringVar(&kind, "type", "user", "user, serviceprincipal or managedidentity")
	create.Flags().StringVarP(&password, "password", "p", "", "password (at least 12 characters; generated when empty)")

	var listKind string
	list := g.simpleCmd("list", "List identities", http.MethodGet, func() string { return "/api/v1/identities?kind=" + url.QueryEscape(listKind) })
	list.Flags().StringVar(&listKind, "type", "", "only this kind")

	var delName string
	del := g.simpleCmd("delete", "Delete an identity with its credentials and role assignments", http.MethodDelete, func() string { return "/api/v1/identities/" + pathEscape(delName) })
	del.Flags().StringVarP(&delName, "name", "n", "", "identity name")
	required(del, "name")

	var resetName, resetPW string
	reset := &cobra.Command{
		Use:   "reset-credential",
		Short: "Replace an identity's password or secret (a generated one is shown once)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return g.call(cmd, http.MethodPost, "/api/v1/identities/"+pathEscape(resetName)+"/reset", map[string]string{"password": resetPW})
		},
	}
	reset.Flags().StringVarP(&resetName, "name", "n", "", "identity name")
	reset.Flags().StringVarP(&resetPW, "password", "p", "", "new password (generated when empty)")
	required(reset, "name")
	cmd.AddCommand(create, list, del, reset)
	return cmd
}

func newRoleCmd(g *globals) *cobra.Command {
	role := &cobra.Command{Use: "role", Short: "Manage role assignments"}
	cmd := &cobra.Command{Use: "assignment", Short: "Grant roles to identities at server, registry or repository scope"}
	var assignee, roleName, scope string
	create := &cobra.Command{
		Use:   "create",
		Short: "Assign a role",
		Long: `Roles: Owner, Contributor, Reader, AcrPull, AcrPush, AcrDelete, AcrImageSigner.
Scopes: / (every registry), /registries/<name>, /registries/<name>/repositories/<repo>
(a repository may end in /* for everything below it).`,
		Example: `  acre role assignment create --assignee ci-pipeline --role AcrPush --scope /registries/myreg
  acre role assignment create --assignee cluster --role AcrPull --scope /registries/myreg/repositories/apps/*`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return g.call(cmd, http.MethodPost, "/api/v1/roleAssignments", map[string]string{"assignee": assignee, "role": roleName, "scope": scope})
		},
	}
	create.Flags().StringVar(&assignee, "assignee", "", "identity name")
	create.Flags().StringVar(&roleName, "role", "", "role name")
	create.Flags().StringVar(&scope, "scope", "/", "scope")
	required(create, "assignee", "role")

	var listAssignee string
	list := g.simpleCmd("list", "List role assignments", http.MethodGet, func() string { return "/api/v1/roleAssignments?assignee=" + url.QueryEscape(listAssignee) })
	list.Flags().StringVar(&listAssignee, "assignee", "", "only this identity's")

	var id string
	var delAssignee, delRole, delScope string
	del := &cobra.Command{
		Use:   "delete",
		Short: "Delete a role assignment, by --ids or by --assignee/--role/--scope",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			ids := []string{id}
			if id == "" {
				if delAssignee == "" {
					return usageError{fmt.Errorf("give --ids, or --assignee with --role and/or --scope")}
				}
				var as []struct {
					ID    int64  `json:"id"`
					Role  string `json:"role"`
					Scope string `json:"scope"`
				}
				if err := c.do(cmd.Context(), http.MethodGet, "/api/v1/roleAssignments?assignee="+url.QueryEscape(delAssignee), nil, &as); err != nil {
					return err
				}
				ids = nil
				for _, a := range as {
					if (delRole == "" || strings.EqualFold(a.Role, delRole)) && (delScope == "" || a.Scope == delScope) {
						ids = append(ids, fmt.Sprint(a.ID))
					}
				}
				if len(ids) == 0 {
					return &apiError{Status: http.StatusNotFound, Message: "no matching role assignment"}
				}
			}
			for _, i := range ids {
				if err := c.do(cmd.Context(), http.MethodDelete, "/api/v1/roleAssignments/"+pathEscape(i), nil, nil); err != nil {
					return err
				}
			}
			return nil
		},
	}
	del.Flags().StringVar(&id, "ids", "", "assignment id")
	del.Flags().StringVar(&delAssignee, "assignee", "", "identity name")
	del.Flags().StringVar(&delRole, "role", "", "role name")
	del.Flags().StringVar(&delScope, "scope", "", "scope")
	cmd.AddCommand(create, list, del)
	role.AddCommand(cmd)
	return role
}

// expiry turns --expiration-in-days into a time (zero: never).
func expiry(days int) time.Time {
	if days <= 0 {
		return time.Time{}
	}
	return time.Now().Add(time.Duration(days) * 24 * time.Hour).UTC()
}
