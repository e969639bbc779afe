package cli

import (
	"fmt"
	"net/http"

	"github.com/spf13/cobra"
)

// newRegistryCmds are the registry commands at the top level, as az acr has them.
func newRegistryCmds(g *globals) []*cobra.Command {
	var name, sku string
	var admin, anon bool
	create := &cobra.Command{
		Use:     "create",
		Short:   "Create a registry",
		Example: "  acre create --name myreg --sku Premium",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			body := map[string]any{"name": name, "sku": sku, "adminUserEnabled": admin, "anonymousPullEnabled": anon}
			return g.call(cmd, http.MethodPost, "/api/v1/registries", body)
		},
	}
	create.Flags().StringVarP(&name, "name", "n", "", "registry name (lower-case letters and digits)")
	create.Flags().StringVar(&sku, "sku", "Standard", "Basic, Standard or Premium")
	create.Flags().BoolVar(&admin, "admin-enabled", false, "enable the admin user; its passwords are shown in the answer, once (acre keeps only their hashes)")
	create.Flags().BoolVar(&anon, "anonymous-pull-enabled", false, "let unauthenticated clients pull")
	required(create, "name")

	var showName string
	show := g.simpleCmd("show", "Show a registry", http.MethodGet, func() string { return "/api/v1/registries/" + pathEscape(showName) })
	show.Flags().StringVarP(&showName, "name", "n", "", "registry name")
	required(show, "name")

	list := g.simpleCmd("list", "List the registries you may see", http.MethodGet, func() string { return "/api/v1/registries" })

	var upName, upSKU, upAdmin, upAnon, upThrottle string
	update := &cobra.Command{
		Use:     "update",
		Short:   "Update a registry's SKU and settings",
		Example: "  acre update --name myreg --admin-enabled true",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			body := map[string]any{}
			if upSKU != "" {
				body["sku"] = upSKU
			}
			for flag, field := range map[string]string{"admin-enabled": "adminUserEnabled", "anonymous-pull-enabled": "anonymousPullEnabled",
				"throttling-enabled": "throttlingEnabled"} {
				v := map[string]string{"admin-enabled": upAdmin, "anonymous-pull-enabled": upAnon, "throttling-enabled": upThrottle}[flag]
				if v == "" {
					continue
				}
				b, err := parseBool(flag, v)
				if err != nil {
					return err
				}
				body[field] = b
			}
			return g.call(cmd, http.MethodPatch, "/api/v1/registries/"+pathEscape(upName), body)
		},
	}
	update.Flags().StringVarP(&upName, "name", "n", "", "registry name")
	update.Flags().StringVar(&upSKU, "sku", "", "Basic, Standard or Premium")
	update.Flags().StringVar(&upAdmin, "admin-enabled", "", "true or false; enabling shows the admin passwords in the answer, once (acre keeps only their hashes)")
	update.Flags().StringVar(&upAnon, "anonymous-pull-enabled", "", "true or false")
	update.Flags().StringVar(&upThrottle, "throttling-enabled", "", "true or false: enforce the SKU's operations a minute")
	required(update, "name")

	var delName string
	var yes bool
	del := &cobra.Command{
		Use:   "delete",
		Short: "Delete a registry and everything in it",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if ok, err := confirm(cmd, yes, fmt.Sprintf("Are you sure you want to delete the registry '%s'? It removes all its images.", delName)); !ok {
				return err
			}
			return g.call(cmd, http.MethodDelete, "/api/v1/registries/"+pathEscape(delName), nil)
		},
	}
	del.Flags().StringVarP(&delName, "name", "n", "", "registry name")
	del.Flags().BoolVarP(&yes, "yes", "y", false, "do not ask for confirmation")
	required(del, "name")
	var usageName string
	usage := g.simpleCmd("show-usage", "Show a registry's usage against its SKU's limits", http.MethodGet, func() string { return "/api/v1/registries/" + pathEscape(usageName) + "/usage" })
	usage.Flags().StringVarP(&usageName, "name", "n", "", "registry name")
	required(usage, "name")
	withTable("registry", create, show, list, update)
	withTable("usage", usage)
	return []*cobra.Command{create, show, list, update, del, usage}
}

func parseBool(flag, v string) (bool, error) {
	switch v {
	case "true", "True", "1", "yes":
		return true, nil
	case "false", "False", "0", "no":
		return false, nil
	}
	return false, usageError{fmt.Errorf("--%s: want true or false, not %q", flag, v)}
}

// call does one API request and prints the answer.
func (g *globals) call(cmd *cobra.Command, method, path string, body any) error {
	c, err := g.client()
	if err != nil {
		return err
	}
	var out any
	if err := c.do(cmd.Context(), method, path, body, &out); err != nil {
		return err
	}
	if out == nil {
		return nil
	}
	return g.print(cmd, out)
}
