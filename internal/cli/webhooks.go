package cli

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/spf13/cobra"
)

var webhookActions = map[string]bool{"push": true, "delete": true, "quarantine": true, "chart_push": true, "chart_delete": true}

// webhookFlags are the settable fields of a webhook. Like az, --actions and
// --headers take several values: "--actions push delete" and
// "--headers 'A=1' 'B=2'" work, as do repeated or comma-separated flags.
type webhookFlags struct {
	uri, scope, status, secret string
	actions, headers           []string
}

func (f *webhookFlags) add(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.uri, "uri", "", "service URI (http or https) to POST events to")
	fl.StringSliceVar(&f.actions, "actions", nil, "push, delete, quarantine, chart_push, chart_delete")
	fl.StringVar(&f.scope, "scope", "", "repo:tag filter with * wildcards (empty: every event)")
	fl.StringArrayVar(&f.headers, "headers", nil, "custom header KEY=VALUE sent with each event")
	fl.StringVar(&f.status, "status", "", "enabled or disabled")
	fl.StringVar(&f.secret, "secret", "", "sign each body with HMAC-SHA256 (header X-Acre-Signature)")
}

// body builds the request body from the flags that were set and the
// extra positional values (more actions and headers).
func (f *webhookFlags) body(cmd *cobra.Command, args []string) (map[string]any, error) {
	actions, headers := f.actions, f.headers
	for _, a := range args {
		switch {
		case strings.Contains(a, "="):
			headers = append(headers, a)
		case webhookActions[a]:
			actions = append(actions, a)
		default:
			return nil, usageError{fmt.Errorf("unexpected argument %q: not an action or a KEY=VALUE header", a)}
		}
	}
	b := map[string]any{}
	fl := cmd.Flags()
	if fl.Changed("uri") {
		b["serviceUri"] = f.uri
	}
	if len(actions) > 0 {
		b["actions"] = actions
	}
	if fl.Changed("scope") {
		b["scope"] = f.scope
	}
	if fl.Changed("status") {
		b["status"] = f.status
	}
	if fl.Changed("secret") {
		b["secret"] = f.secret
	}
	if len(headers) > 0 {
		h := map[string]string{}
		for _, kv := range headers {
			k, v, ok := strings.Cut(kv, "=")
			if !ok || k == "" {
				return nil, usageError{fmt.Errorf("--headers %q: want KEY=VALUE", kv)}
			}
			h[k] = v
		}
		b["customHeaders"] = h
	}
	return b, nil
}

func newWebhookCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "webhook", Short: "Manage webhooks: HTTP callbacks on pushes and deletes"}
	var reg, name string
	var f webhookFlags
	base := func(id string) string { return "/api/v1/registries/" + pathEscape(reg) + "/webhooks" + id }
	one := func() string { return base("/" + pathEscape(name)) }
	create := &cobra.Command{
		Use:   "create",
		Short: "Create a webhook",
		Example: `  acre webhook create -r myreg -n deploy --uri https://hooks.example/acr --actions push delete \
      --scope 'api:*' --headers 'Authorization=Bearer x'`,
		RunE: func(cmd *cobra.Command, args []string) error {
			b, err := f.body(cmd, args)
			if err != nil {
				return err
			}
			b["name"] = name
			return g.call(cmd, http.MethodPost, base(""), b)
		},
	}
	f.add(create)
	required(create, "uri")
	update := &cobra.Command{
		Use:   "update",
		Short: "Update a webhook",
		RunE: func(cmd *cobra.Command, args []string) error {
			b, err := f.body(cmd, args)
			if err != nil {
				return err
			}
			return g.call(cmd, http.MethodPatch, one(), b)
		},
	}
	f.add(update)
	simple := g.simpleCmd
	list := simple("list", "List webhooks", http.MethodGet, func() string { return base("") })
	show := simple("show", "Show a webhook", http.MethodGet, one)
	del := simple("delete", "Delete a webhook", http.MethodDelete, one)
	ping := simple("ping", "Send a ping event", http.MethodPost, func() string { return one() + "/ping" })
	events := &cobra.Command{Use: "list-events", Short: "List the deliveries (every page) with their requests and responses", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			all, err := c.all(cmd.Context(), one()+"/events?n=500")
			if err != nil {
				return err
			}
			return g.print(cmd, all)
		}}
	config := simple("get-config", "Show the service URI and custom headers", http.MethodGet, func() string { return one() + "/config" })
	registryFlag(&reg, create, update, list, show, del, ping, events, config)
	nameFlag(&name, "webhook name", create, update, show, del, ping, events, config)
	withTable("webhook", create, update, list, show)
	withTable("webhook-config", config)
	withTable("webhook-events", events)
	withTable("webhook-ping", ping)
	cmd.AddCommand(create, update, list, show, del, ping, events, config)
	return cmd
}
