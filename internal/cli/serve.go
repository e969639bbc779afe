package cli

import (
	"os/signal"
	"syscall"

	"github.com/acre-project/acre/internal/config"
	"github.com/acre-project/acre/internal/server"
	"github.com/spf13/cobra"
)

func newServeCmd() *cobra.Command {
	var cfgFile string
	var o struct {
		addr, data, logFormat, logLevel, tlsCert, tlsKey, domain string
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
			if err := cfg.Validate(); err != nil {
				return err
			}
			log := server.NewLogger(cmd.ErrOrStderr(), cfg.Log.Format, cfg.Log.Level)
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			srv, err := server.New(ctx, cfg, log)
			if err != nil {
				return err
			}
			defer srv.Close()
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
	return cmd
}
