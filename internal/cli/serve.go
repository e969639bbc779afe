package cli

import (
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/acre-project/acre/internal/auth"
	"github.com/acre-project/acre/internal/config"
	"github.com/acre-project/acre/internal/server"
	"github.com/spf13/cobra"
	"golang.org/x/term"
)

// serveGCPercent is acre serve's garbage collection target (GOGC).
const serveGCPercent = 50

func newServeCmd() *cobra.Command {
	var cfgFile string
	var o struct {
		addr, data, logFormat, logLevel, tlsCert, tlsKey, domain, webapps string
		auth                                                              bool
	}
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the registry service",
		Long: `Run the registry service on its embedded defaults (filesystem blobs and
SQLite metadata under --data). Flags override the configuration file.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := config.Load(cfgFile)
			if err != nil {
				return err
			}
			f := cmd.Flags()
			set := func(name string, dst *string, v string) {
				if f.Changed(name) {
					*dst = v
				}
			}
			set("addr", &cfg.Addr, o.addr)
			set("data", &cfg.Data, o.data)
			set("domain", &cfg.Domain, o.domain)
			set("log-format", &cfg.Log.Format, o.logFormat)
			set("log-level", &cfg.Log.Level, o.logLevel)
			set("tls-cert", &cfg.TLS.Cert, o.tlsCert)
			set("tls-key", &cfg.TLS.Key, o.tlsKey)
			set("webapps-addr", &cfg.WebApps.Addr, o.webapps)
			if f.Changed("auth") {
				cfg.Auth.Enabled = o.auth
			}
			if err := cfg.Validate(); err != nil {
				return err
			}
			log := server.NewLogger(cmd.ErrOrStderr(), cfg.Log.Format, cfg.Log.Level)
			if os.Getenv("GOGC") == "" {
				// The service's live heap is small (a few MiB: caches are
				// bounded, blobs stream): collecting at half of Go's default
				// growth keeps its peak memory ~3 MiB lower for ~10% more CPU
				// on manifest requests. GOGC in the environment overrides it.
				debug.SetGCPercent(serveGCPercent)
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			srv, err := server.New(ctx, cfg, log, os.Getenv("ACRE_BOOTSTRAP_USER"), os.Getenv("ACRE_BOOTSTRAP_PASSWORD"))
			if err != nil {
				return err
			}
			defer srv.Close()
			if b := srv.Bootstrapped(); b.Created {
				out := cmd.OutOrStdout()
				printBootstrap(out, isTerminal(out), cfg, b)
				if b.Password != "" {
					log.Info("created the first owner; its generated password is in a file only the server's user may read",
						"user", b.User, "file", server.BootstrapFile(cfg))
				}
			}
			return srv.Run(ctx)
		},
	}
	d := config.Default()
	f := cmd.Flags()
	f.StringVar(&cfgFile, "config", "", "YAML configuration file (unknown keys are errors)")
	f.StringVar(&o.addr, "addr", d.Addr, "listen address HOST:PORT")
	f.StringVar(&o.data, "data", d.Data, "directory for blobs and metadata")
	f.StringVar(&o.domain, "domain", d.Domain, "domain of login servers: <registry>.<domain>")
	f.StringVar(&o.logFormat, "log-format", d.Log.Format, "log format: text or json")
	f.StringVar(&o.logLevel, "log-level", d.Log.Level, "log level: debug, info, warn, error")
	f.StringVar(&o.tlsCert, "tls-cert", "", "TLS certificate file (PEM); enables HTTPS with --tls-key")
	f.StringVar(&o.tlsKey, "tls-key", "", "TLS private key file (PEM)")
	f.StringVar(&o.webapps, "webapps-addr", "", "web apps front door HOST:PORT (turns web apps on; needs root and runc)")
	f.BoolVar(&o.auth, "auth", true, "require authentication; --auth=false turns it off (throwaway local use only)")
	return cmd
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// printBootstrap tells, once, how to sign in as the first owner. A
// generated password is shown only on a terminal: written anywhere else
// (a log file, a journal) it would outlive the moment, so it is left in
// the 0600 file alone.
func printBootstrap(w io.Writer, tty bool, cfg config.Config, b auth.BootstrapResult) {
	fmt.Fprintf(w, "\nacre: created the first owner %q.\n", b.User)
	switch {
	case b.Password != "" && tty:
		fmt.Fprintf(w, "  password: %s\n  (shown once; also in %s, readable only by you)\n", b.Password, server.BootstrapFile(cfg))
	case b.Password != "":
		fmt.Fprintf(w, "  password: in %s, readable only by you\n", server.BootstrapFile(cfg))
	}
	fmt.Fprintf(w, "  sign in:  acre account login --server http://%s --username %s\n", cfg.Addr, b.User)
	fmt.Fprintf(w, "  docker:   docker login %s --username %s\n\n", cfg.Addr, b.User)
}
