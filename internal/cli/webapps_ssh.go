package cli

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"

	"github.com/spf13/cobra"
)

// newWebAppSSHCmd is `acre webapp ssh`: a shell in the app's running
// instance over an upgraded HTTP connection (signed in, authorised and
// audited by the server). There is no terminal: input is sent line by line.
func newWebAppSSHCmd(g *globals) *cobra.Command {
	var p webappPath
	cmd := &cobra.Command{Use: "ssh", Short: "Open a shell in the web app's running container", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			u, err := url.Parse(c.server + p.at("/ssh"))
			if err != nil {
				return err
			}
			host := u.Host
			if u.Port() == "" && u.Scheme == "https" {
				host = net.JoinHostPort(u.Hostname(), "443")
			} else if u.Port() == "" {
				host = net.JoinHostPort(u.Hostname(), "80")
			}
			var d net.Dialer
			conn, err := d.DialContext(cmd.Context(), "tcp", host)
			if err != nil {
				return err
			}
			defer conn.Close()
			if u.Scheme == "https" {
				tc := tls.Client(conn, &tls.Config{ServerName: u.Hostname(), MinVersion: tls.VersionTLS12})
				if err := tc.HandshakeContext(cmd.Context()); err != nil {
					return err
				}
				conn = tc
			}
			req, err := http.NewRequestWithContext(cmd.Context(), http.MethodPost, u.String(), nil)
			if err != nil {
				return err
			}
			req.Header.Set("Authorization", "Bearer "+c.token)
			req.Header.Set("Connection", "Upgrade")
			req.Header.Set("Upgrade", "acre-exec")
			if err := req.Write(conn); err != nil {
				return err
			}
			br := bufio.NewReader(conn)
			resp, err := http.ReadResponse(br, req)
			if err != nil {
				return err
			}
			if resp.StatusCode != http.StatusSwitchingProtocols {
				defer resp.Body.Close()
				return decodeAnswer(resp, nil)
			}
			go func() {
				_, _ = io.Copy(conn, cmd.InOrStdin())
				if cw, ok := conn.(interface{ CloseWrite() error }); ok {
					_ = cw.CloseWrite()
				}
			}()
			_, err = io.Copy(cmd.OutOrStdout(), br)
			if err != nil && cmd.Context().Err() == nil {
				return fmt.Errorf("the connection broke: %w", err)
			}
			return nil
		}}
	p.flag(cmd)
	return cmd
}
