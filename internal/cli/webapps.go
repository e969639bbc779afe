package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
)

// newAppServiceCmd is `acre appservice plan ...`, after az appservice plan.
func newAppServiceCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "appservice", Short: "Manage App Service plans for web apps"}
	plan := &cobra.Command{Use: "plan", Short: "Manage App Service plans: the size and number of workers apps run on"}
	var name, sku string
	var workers int
	var linux bool
	one := func() string { return "/api/v1/serverfarms/" + pathEscape(name) }
	create := &cobra.Command{Use: "create", Short: "Create a Linux plan", Args: cobra.NoArgs,
		Example: "  acre appservice plan create -n plan --is-linux --sku B1",
		RunE: func(cmd *cobra.Command, _ []string) error {
			return g.call(cmd, http.MethodPost, "/api/v1/serverfarms", map[string]any{"name": name, "sku": sku, "numberOfWorkers": workers, "isLinux": true})
		}}
	create.Flags().StringVar(&sku, "sku", "B1", "F1, B1, B2, B3, S1, S2, S3, P1V2, ..., P3V3")
	create.Flags().IntVar(&workers, "number-of-workers", 1, "instances each app runs")
	create.Flags().BoolVar(&linux, "is-linux", true, "a Linux plan (the only kind here)")
	update := &cobra.Command{Use: "update", Short: "Change a plan's SKU or number of workers", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return g.call(cmd, http.MethodPatch, one(), map[string]any{"sku": sku, "numberOfWorkers": workers})
		}}
	update.Flags().StringVar(&sku, "sku", "", "new SKU")
	update.Flags().IntVar(&workers, "number-of-workers", 0, "new number of workers")
	show := &cobra.Command{Use: "show", Short: "Show a plan", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return g.call(cmd, http.MethodGet, one(), nil) }}
	del := &cobra.Command{Use: "delete", Short: "Delete a plan without apps", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return g.call(cmd, http.MethodDelete, one(), nil) }}
	list := &cobra.Command{Use: "list", Short: "List plans", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return g.call(cmd, http.MethodGet, "/api/v1/serverfarms", nil)
		}}
	for _, c := range []*cobra.Command{create, update, show, del} {
		c.Flags().StringVarP(&name, "name", "n", "", "plan name")
		required(c, "name")
	}
	list.Flags().StringP("resource-group", "g", "", "ignored (az compatibility)")
	plan.AddCommand(create, update, show, del, list)
	cmd.AddCommand(plan)
	return cmd
}

// webappPath is the API path of the app named in --name.
type webappPath struct{ name string }

func (p *webappPath) flag(c *cobra.Command) {
	c.Flags().StringVarP(&p.name, "name", "n", "", "web app name")
	c.Flags().StringP("resource-group", "g", "", "ignored (az compatibility)")
	required(c, "name")
}

func (p *webappPath) at(sub string) string { return "/api/v1/webapps/" + pathEscape(p.name) + sub }

// newWebAppCmd is `acre webapp ...`, after az webapp.
func newWebAppCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "webapp", Short: "Manage web apps that run containers from the registry"}
	var p webappPath
	var plan, image, startup string
	create := &cobra.Command{Use: "create", Short: "Create a web app running a container image", Args: cobra.NoArgs,
		Example: "  acre webapp create -n shop -p plan --container-image-name acre.localhost:5000/shop:v1",
		RunE: func(cmd *cobra.Command, _ []string) error {
			body := map[string]any{"name": p.name, "plan": plan, "image": image}
			if startup != "" {
				body["appCommandLine"] = startup
			}
			return g.call(cmd, http.MethodPost, "/api/v1/webapps", body)
		}}
	p.flag(create)
	create.Flags().StringVarP(&plan, "plan", "p", "", "App Service plan")
	create.Flags().StringVarP(&image, "container-image-name", "i", "", "image: <registry>/<repository>:<tag>")
	create.Flags().StringVar(&image, "deployment-container-image-name", "", "image (the older flag name)")
	create.Flags().StringVar(&startup, "startup-file", "", "command that replaces the image's ENTRYPOINT and CMD")
	required(create, "plan")
	simple := func(use, short, method, sub string) *cobra.Command {
		c := &cobra.Command{Use: use, Short: short, Args: cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error { return g.call(cmd, method, p.at(sub), nil) }}
		p.flag(c)
		return c
	}
	list := &cobra.Command{Use: "list", Short: "List web apps", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return g.call(cmd, http.MethodGet, "/api/v1/webapps", nil) }}
	list.Flags().StringP("resource-group", "g", "", "ignored (az compatibility)")
	cmd.AddCommand(create, list,
		simple("show", "Show a web app: state, image and digest running, host name, identity", http.MethodGet, ""),
		simple("delete", "Delete a web app", http.MethodDelete, ""),
		simple("start", "Start a web app", http.MethodPost, "/start"),
		simple("stop", "Stop a web app", http.MethodPost, "/stop"),
		simple("restart", "Restart a web app (new instances start before the old ones stop)", http.MethodPost, "/restart"),
		newWebAppIdentityCmd(g), newWebAppConfigCmd(g), newWebAppLogCmd(g), newWebAppDeploymentCmd(g), newWebAppSSHCmd(g))
	return cmd
}

func newWebAppIdentityCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "identity", Short: "Manage the web app's managed identity"}
	var p webappPath
	assign := &cobra.Command{Use: "assign", Short: "Give the app a system-assigned managed identity", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return g.call(cmd, http.MethodPut, p.at("/identity"), nil) }}
	p.flag(assign)
	show := &cobra.Command{Use: "show", Short: "Show the app's managed identity", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return g.callPick(cmd, http.MethodGet, p.at(""), nil, "identity")
		}}
	p.flag(show)
	cmd.AddCommand(assign, show)
	return cmd
}

// callPick calls the API and prints one field of the answer.
func (g *globals) callPick(cmd *cobra.Command, method, path string, body any, field string) error {
	c, err := g.client()
	if err != nil {
		return err
	}
	var out map[string]any
	if err := c.do(cmd.Context(), method, path, body, &out); err != nil {
		return err
	}
	return g.out.print(cmd.OutOrStdout(), out[field])
}

// parseSettings reads KEY=VALUE pairs (as az: several per flag, or
// positional), or a JSON object.
func parseSettings(vals []string) (map[string]any, error) {
	out := map[string]any{}
	for _, kv := range vals {
		if strings.HasPrefix(strings.TrimSpace(kv), "{") {
			var m map[string]any
			if err := json.Unmarshal([]byte(kv), &m); err != nil {
				return nil, usageError{fmt.Errorf("--settings %q: %v", kv, err)}
			}
			for k, v := range m {
				out[k] = fmt.Sprint(v)
			}
			continue
		}
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, usageError{fmt.Errorf("--settings %q: want KEY=VALUE", kv)}
		}
		out[k] = v
	}
	return out, nil
}

func newWebAppLogCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "log", Short: "Read a web app's logs (its containers' output and the platform's)"}
	var p webappPath
	stream := func(follow bool) func(cmd *cobra.Command, _ []string) error {
		return func(cmd *cobra.Command, _ []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			req, err := http.NewRequestWithContext(cmd.Context(), http.MethodGet, c.server+p.at("/logs?follow="+strconv.FormatBool(follow)), nil)
			if err != nil {
				return err
			}
			req.Header.Set("Authorization", "Bearer "+c.token)
			hc := *c.hc
			hc.Timeout = 0
			resp, err := hc.Do(req)
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return decodeAnswer(resp, nil)
			}
			_, err = io.Copy(cmd.OutOrStdout(), resp.Body)
			if cmd.Context().Err() != nil {
				return nil
			}
			return err
		}
	}
	tail := &cobra.Command{Use: "tail", Short: "Stream the logs live, after the recent ones", Args: cobra.NoArgs, RunE: stream(true)}
	download := &cobra.Command{Use: "download", Short: "Print the recent logs", Args: cobra.NoArgs, RunE: stream(false)}
	p.flag(tail)
	p.flag(download)
	cmd.AddCommand(tail, download)
	return cmd
}

func newWebAppDeploymentCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "deployment", Short: "Manage deployments"}
	ctr := &cobra.Command{Use: "container", Short: "Continuous deployment of the container image"}
	var p webappPath
	var enable string
	config := &cobra.Command{Use: "config", Short: "Turn continuous deployment on or off; on prints the CD webhook URL (with its secret)",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			on, err := strconv.ParseBool(enable)
			if err != nil {
				return usageError{fmt.Errorf("--enable-cd: true or false")}
			}
			return g.call(cmd, http.MethodPut, p.at("/cd"), map[string]any{"enabled": on})
		}}
	p.flag(config)
	config.Flags().StringVarP(&enable, "enable-cd", "e", "", "true or false")
	required(config, "enable-cd")
	ctr.AddCommand(config)
	cmd.AddCommand(ctr)
	return cmd
}
