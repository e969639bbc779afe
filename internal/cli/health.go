package cli

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os/exec"
	"strings"

	"github.com/spf13/cobra"
)

func newCheckNameCmd(g *globals) *cobra.Command {
	var name string
	cmd := &cobra.Command{
		Use:     "check-name",
		Short:   "Check whether a registry name is available (5-50 lower-case letters and digits, not taken)",
		Example: "  acre check-name -n myregistry",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return g.call(cmd, http.MethodPost, "/api/v1/checkNameAvailability", map[string]string{"name": name, "type": "Microsoft.ContainerRegistry/registries"})
		},
	}
	cmd.Flags().StringVarP(&name, "name", "n", "", "registry name")
	required(cmd, "name")
	return cmd
}

// newCheckHealthCmd checks, as az acr check-health does, what pulling and
// pushing need: the client, Docker (optional for acre), and for a
// registry the name lookup, the /v2/ challenge and both tokens.
func newCheckHealthCmd(g *globals) *cobra.Command {
	var name string
	var ignore, yes, vnet bool
	cmd := &cobra.Command{
		Use:   "check-health",
		Short: "Check the client's environment and, with --name, the way to a registry",
		Example: `  acre check-health -n myreg --yes
  acre check-health --ignore-errors`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			w := cmd.OutOrStdout()
			var failed []string
			step := func(what string, err error) {
				if err != nil {
					failed = append(failed, what)
					fmt.Fprintf(w, "%s : FAILED (%v)\n", what, err)
					return
				}
				fmt.Fprintf(w, "%s : OK\n", what)
			}
			fmt.Fprintf(w, "acre version: %s\n", Version)
			if out, err := exec.CommandContext(cmd.Context(), "docker", "version", "--format", "{{.Server.Version}}").Output(); err == nil {
				fmt.Fprintf(w, "Docker daemon status: available\nDocker version: %s\n", strings.TrimSpace(string(out)))
			} else {
				fmt.Fprintln(w, "Docker daemon status: not available (acre and crane, oras or regctl work without it)")
			}
			if name != "" {
				checkRegistry(cmd, g, name, step)
			}
			if len(failed) > 0 && !ignore {
				return fmt.Errorf("%d check(s) failed: %s", len(failed), strings.Join(failed, "; "))
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&name, "name", "n", "", "registry name")
	cmd.Flags().BoolVar(&ignore, "ignore-errors", false, "report failures but exit 0")
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "accepted as az has it (acre asks nothing here)")
	cmd.Flags().BoolVar(&vnet, "vnet", false, "accepted as az has it (acre has no virtual networks)")
	return cmd
}

// checkRegistry checks the way to one registry, step by step.
func checkRegistry(cmd *cobra.Command, g *globals, name string, step func(string, error)) {
	c, err := g.client()
	if err != nil {
		step("Sign-in to the acre server", err)
		return
	}
	var reg struct {
		LoginServer string `json:"loginServer"`
	}
	if err := c.do(cmd.Context(), http.MethodGet, "/api/v1/registries/"+pathEscape(name), nil, &reg); err != nil {
		step(fmt.Sprintf("Look up registry '%s'", name), err)
		return
	}
	u, err := url.Parse(c.server)
	if err == nil {
		var addrs []string
		addrs, err = net.DefaultResolver.LookupHost(cmd.Context(), u.Hostname())
		step(fmt.Sprintf("DNS lookup to %s at IP %s", u.Hostname(), strings.Join(addrs, ", ")), err)
	}
	req, err := http.NewRequestWithContext(cmd.Context(), http.MethodGet, c.server+"/v2/", nil)
	if err == nil {
		req.Host = reg.LoginServer
		var resp *http.Response
		if resp, err = c.hc.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
				err = fmt.Errorf("%s without a Bearer challenge", resp.Status)
			}
		}
	}
	step(fmt.Sprintf("Challenge endpoint %s/v2/", c.server), err)
	d, err := g.dataPlane(cmd.Context(), name)
	step(fmt.Sprintf("Fetch refresh token for registry '%s'", reg.LoginServer), err)
	if err == nil {
		_, err = d.token(cmd.Context(), "registry:catalog:*")
		step(fmt.Sprintf("Fetch access token for registry '%s'", reg.LoginServer), err)
	}
}
