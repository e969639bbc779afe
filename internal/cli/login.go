package cli

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
)

// refreshTokenUser is the user name that goes with a refresh token.
const refreshTokenUser = "00000000-0000-0000-0000-000000000000"

func newLoginCmd(g *globals) *cobra.Command {
	var name string
	var expose bool
	cmd := &cobra.Command{
		Use:   "login",
		Short: "Log Docker (and crane, oras, regctl) in to a registry with a short-lived token",
		Long: `Exchanges the signed-in session for a registry refresh token (3 hours by
default) and writes it into the Docker config ($DOCKER_CONFIG or ~/.docker),
for the registry's login server and, for the default registry, the server's
own address. With --expose-token it prints the token instead; use it as the
password of user 00000000-0000-0000-0000-000000000000.`,
		Example: `  acre login --name myreg
  TOKEN=$(acre login --name myreg --expose-token --query accessToken -o tsv)
  docker login myreg.example.com -u 00000000-0000-0000-0000-000000000000 -p "$TOKEN"`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			var reg struct {
				LoginServer string `json:"loginServer"`
				IsDefault   bool   `json:"isDefault"`
			}
			if err := c.do(cmd.Context(), http.MethodGet, "/api/v1/registries/"+pathEscape(name), nil, &reg); err != nil {
				return err
			}
			var tok struct {
				RefreshToken string `json:"refresh_token"`
			}
			form := url.Values{"grant_type": {"access_token"}, "service": {reg.LoginServer}, "access_token": {c.token}}
			if err := c.postForm(cmd.Context(), "/oauth2/exchange", form, &tok); err != nil {
				return err
			}
			hosts := loginHosts(c.server, reg.LoginServer, reg.IsDefault)
			if expose {
				return g.print(cmd, map[string]string{"accessToken": tok.RefreshToken,
					"loginServer": hosts[0], "username": refreshTokenUser})
			}
			path, err := writeDockerAuth(hosts, refreshTokenUser, tok.RefreshToken)
			if err != nil {
				return err
			}
			return g.print(cmd, map[string]any{"loginServers": hosts, "dockerConfig": path, "status": "Login Succeeded"})
		},
	}
	cmd.Flags().StringVarP(&name, "name", "n", "", "registry name")
	cmd.Flags().BoolVarP(&expose, "expose-token", "t", false, "print the token instead of writing the Docker config")
	required(cmd, "name")
	return cmd
}

// decodeTokenAnswer reads an /oauth2 answer (errors in the OCI format).
func decodeTokenAnswer(resp *http.Response, out any) error {
	if resp.StatusCode >= 300 {
		e := ociError(resp)
		e.Code = "Unauthorized"
		return e
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

// loginHosts lists the host names to log in to: the login server with the
// server's port, and the server's own address for the default registry.
func loginHosts(server, loginServer string, isDefault bool) []string {
	u, err := url.Parse(server)
	if err != nil {
		return []string{loginServer}
	}
	hosts := []string{loginServer}
	if p := u.Port(); p != "" {
		hosts[0] = net.JoinHostPort(loginServer, p)
	}
	if isDefault && u.Host != hosts[0] {
		hosts = append(hosts, u.Host)
	}
	return hosts
}

// writeDockerAuth stores user:password for hosts in the Docker config,
// keeping everything else in it, and returns the file's path.
func writeDockerAuth(hosts []string, user, password string) (string, error) {
	dir := os.Getenv("DOCKER_CONFIG")
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", err
		}
		dir = filepath.Join(home, ".docker")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	path := filepath.Join(dir, "config.json")
	cfg := map[string]any{}
	b, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return "", err
	}
	if len(b) > 0 {
		if err := json.Unmarshal(b, &cfg); err != nil {
			return "", fmt.Errorf("%s: %w", path, err)
		}
	}
	if _, ok := cfg["credsStore"]; ok {
		fmt.Fprintf(os.Stderr, "warning: %s names a credsStore; Docker may prefer it over the token written here\n", path)
	}
	auths, _ := cfg["auths"].(map[string]any)
	if auths == nil {
		auths = map[string]any{}
	}
	enc := base64.StdEncoding.EncodeToString([]byte(user + ":" + password))
	for _, h := range hosts {
		auths[h] = map[string]any{"auth": enc}
	}
	cfg["auths"] = auths
	out, err := json.MarshalIndent(cfg, "", "\t")
	if err != nil {
		return "", err
	}
	return path, writeFileAtomic(path, out, 0o600)
}
