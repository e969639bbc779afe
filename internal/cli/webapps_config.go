package cli

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/spf13/cobra"
)

func newWebAppConfigCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "config", Short: "Configure a web app"}
	var p webappPath
	var acrIdentity, alwaysOn, startup, generic string
	var workers int
	set := &cobra.Command{Use: "set", Short: "Set site configuration (startup command, identity pulls, health check, Always On)", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			b := map[string]any{}
			fl := cmd.Flags()
			for flag, key := range map[string]string{"acr-use-identity": "acrUseManagedIdentityCreds", "always-on": "alwaysOn"} {
				if !fl.Changed(flag) {
					continue
				}
				v, _ := fl.GetString(flag)
				switch strings.ToLower(v) {
				case "true":
					b[key] = true
				case "false":
					b[key] = false
				default:
					return usageError{fmt.Errorf("--%s: true or false", flag)}
				}
			}
			if fl.Changed("startup-file") {
				b["appCommandLine"] = startup
			}
			if fl.Changed("number-of-workers") {
				b["numberOfWorkers"] = workers
			}
			if generic != "" {
				var m map[string]any
				if err := json.Unmarshal([]byte(generic), &m); err != nil {
					return usageError{fmt.Errorf("--generic-configurations: %v", err)}
				}
				for k, v := range m {
					switch k {
					case "healthCheckPath", "appCommandLine", "alwaysOn", "numberOfWorkers", "acrUseManagedIdentityCreds":
						b[k] = v
					default:
						return usageError{fmt.Errorf("--generic-configurations: %q is not supported", k)}
					}
				}
			}
			if fl.Changed("health-check-path") {
				v, _ := fl.GetString("health-check-path")
				b["healthCheckPath"] = v
			}
			return g.callPick(cmd, http.MethodPatch, p.at("/config"), b, "siteConfig")
		}}
	p.flag(set)
	set.Flags().StringVar(&acrIdentity, "acr-use-identity", "", "pull with the app's managed identity: true or false")
	set.Flags().StringVar(&alwaysOn, "always-on", "", "true or false")
	set.Flags().StringVar(&startup, "startup-file", "", "command that replaces the image's ENTRYPOINT and CMD")
	set.Flags().StringVar(&generic, "generic-configurations", "", `JSON, e.g. '{"healthCheckPath":"/health"}'`)
	set.Flags().String("health-check-path", "", "path probed on each instance; unhealthy instances are restarted")
	set.Flags().IntVar(&workers, "number-of-workers", 0, "instances of this app")
	var sp webappPath
	show := &cobra.Command{Use: "show", Short: "Show site configuration", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return g.callPick(cmd, http.MethodGet, sp.at("/config"), nil, "siteConfig")
		}}
	sp.flag(show)
	cmd.AddCommand(set, show, newWebAppContainerCmd(g), newWebAppSettingsCmd(g), newWebAppConnCmd(g))
	return cmd
}

func newWebAppContainerCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "container", Short: "Configure the app's container image and registry credentials"}
	var p webappPath
	var image, url, user, pass string
	set := &cobra.Command{Use: "set", Short: "Set the image (and credentials for another registry)", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			b := map[string]any{}
			if image != "" {
				b["image"] = image
			}
			st := map[string]any{}
			for k, v := range map[string]string{"DOCKER_REGISTRY_SERVER_URL": url, "DOCKER_REGISTRY_SERVER_USERNAME": user, "DOCKER_REGISTRY_SERVER_PASSWORD": pass} {
				if v != "" {
					st[k] = v
				}
			}
			if len(st) > 0 {
				b["appSettings"] = st
			}
			return g.callPick(cmd, http.MethodPatch, p.at("/config"), b, "siteConfig")
		}}
	p.flag(set)
	fl := set.Flags()
	fl.StringVarP(&image, "container-image-name", "i", "", "image: <registry>/<repository>:<tag>")
	fl.StringVarP(&image, "docker-custom-image-name", "c", "", "image (the older flag name)")
	fl.StringVarP(&url, "container-registry-url", "r", "", "registry URL")
	fl.StringVar(&url, "docker-registry-server-url", "", "registry URL (the older flag name)")
	fl.StringVarP(&user, "container-registry-user", "u", "", "registry user name")
	fl.StringVar(&user, "docker-registry-server-user", "", "registry user name (the older flag name)")
	fl.StringVarP(&pass, "container-registry-password", "w", "", "registry password")
	fl.StringVar(&pass, "docker-registry-server-password", "", "registry password (the older flag name)")
	cmd.AddCommand(set)
	return cmd
}

// settingsCmds builds set, list and delete for app settings or connection strings.
func settingsCmds(g *globals, field string, withType bool) []*cobra.Command {
	var p webappPath
	var settings, names []string
	var typ string
	set := &cobra.Command{Use: "set", Short: "Set values (KEY=VALUE ...); the app restarts with them",
		RunE: func(cmd *cobra.Command, args []string) error {
			kv, err := parseSettings(append(settings, args...))
			if err != nil {
				return err
			}
			if withType {
				for k, v := range kv {
					kv[k] = map[string]any{"value": v, "type": typ}
				}
			}
			return g.callPick(cmd, http.MethodPatch, p.at("/config"), map[string]any{field: kv}, field)
		}}
	set.Flags().StringArrayVar(&settings, "settings", nil, "KEY=VALUE (several allowed)")
	if withType {
		set.Flags().StringVarP(&typ, "connection-string-type", "t", "", "PostgreSQL, SQLAzure, MySql, SQLServer or Custom")
		required(set, "connection-string-type")
	}
	var lp webappPath
	list := &cobra.Command{Use: "list", Short: "List values", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return g.callPick(cmd, http.MethodGet, lp.at("/config"), nil, field)
		}}
	var dp webappPath
	del := &cobra.Command{Use: "delete", Short: "Delete values by name; the app restarts without them",
		RunE: func(cmd *cobra.Command, args []string) error {
			m := map[string]any{}
			for _, n := range append(names, args...) {
				m[n] = nil
			}
			return g.callPick(cmd, http.MethodPatch, dp.at("/config"), map[string]any{field: m}, field)
		}}
	del.Flags().StringArrayVar(&names, "setting-names", nil, "names to delete (several allowed)")
	p.flag(set)
	lp.flag(list)
	dp.flag(del)
	return []*cobra.Command{set, list, del}
}

func newWebAppSettingsCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "appsettings", Short: "Manage app settings: environment variables of the app"}
	cmd.AddCommand(settingsCmds(g, "appSettings", false)...)
	return cmd
}

func newWebAppConnCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "connection-string", Short: "Manage connection strings (variables with App Service's prefixes)"}
	cmd.AddCommand(settingsCmds(g, "connectionStrings", true)...)
	return cmd
}
