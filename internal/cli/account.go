package cli

import (
	"bufio"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

func newAccountCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "account", Short: "Sign in to an acre server (like az login)"}
	var user, password string
	var passwordStdin bool
	login := &cobra.Command{
		Use:   "login",
		Short: "Sign in as an identity; the session is saved for later commands (0600)",
		Example: `  acre account login --server http://127.0.0.1:5000 --username owner
  echo "$PASSWORD" | acre account login --server https://acre.example --username ci --password-stdin`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			server := strings.TrimRight(g.server, "/")
			if server == "" {
				pr, err := loadProfile()
				if err != nil {
					return err
				}
				server = pr.Server
			}
			if server == "" {
				return usageError{fmt.Errorf("--server is required the first time")}
			}
			if passwordStdin {
				line, err := bufio.NewReader(cmd.InOrStdin()).ReadString('\n')
				if err != nil && line == "" {
					return usageError{fmt.Errorf("--password-stdin: no password on standard input")}
				}
				password = strings.TrimRight(line, "\r\n")
			}
			if password == "" {
				return usageError{fmt.Errorf("give --password or --password-stdin")}
			}
			req, err := http.NewRequestWithContext(cmd.Context(), http.MethodPost, server+"/api/v1/session", nil)
			if err != nil {
				return usageError{err}
			}
			req.SetBasicAuth(user, password)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			var s struct {
				Token     string
				ExpiresIn int
				User      string
			}
			if err := decodeAnswer(resp, &s); err != nil {
				return err
			}
			pr := &profile{Server: server, User: s.User, Token: s.Token, Expires: time.Now().Add(time.Duration(s.ExpiresIn) * time.Second).UTC()}
			if err := saveProfile(pr); err != nil {
				return err
			}
			return g.print(cmd, map[string]any{"server": server, "user": s.User, "expires": pr.Expires})
		},
	}
	login.Flags().StringVarP(&user, "username", "u", "", "identity name (user, service principal id, managed identity)")
	login.Flags().StringVarP(&password, "password", "p", "", "password or secret (prefer --password-stdin)")
	login.Flags().BoolVar(&passwordStdin, "password-stdin", false, "read the password from standard input")
	required(login, "username")

	show := &cobra.Command{
		Use:   "show",
		Short: "Show the signed-in identity and its role assignments",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			var who map[string]any
			if err := c.do(cmd.Context(), http.MethodGet, "/api/v1/whoami", nil, &who); err != nil {
				return err
			}
			who["server"] = c.server
			return g.print(cmd, who)
		},
	}
	logout := &cobra.Command{
		Use:   "logout",
		Short: "Forget the saved session",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			pr, err := loadProfile()
			if err != nil {
				return err
			}
			pr.Token, pr.User = "", ""
			return saveProfile(pr)
		},
	}
	cmd.AddCommand(login, show, logout)
	return cmd
}
