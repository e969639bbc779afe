package config

import (
	"errors"
	"fmt"
	"net"
	"time"
)

// WebApps configures web apps (App Service for containers). They are off
// unless Addr is set: running them needs root and an OCI runtime (runc).
type WebApps struct {
	// Addr is the front door's listen address; "" turns web apps off.
	Addr string `yaml:"addr"`
	// Domain: each app answers at <app>.<domain> (default: the server's domain).
	Domain string `yaml:"domain"`
	// Runtime is the OCI runtime binary (default "runc").
	Runtime string `yaml:"runtime"`
	// Probe is how often instances are checked (default 10s).
	Probe time.Duration `yaml:"probe"`
	// StartTimeout bounds how long a new instance may take to answer (default 230s).
	StartTimeout time.Duration `yaml:"start_timeout"`
	// MaxBackoff caps the wait between failed deployments (default 60s).
	MaxBackoff time.Duration `yaml:"max_backoff"`
	// StopGrace is how long an instance has between SIGTERM and SIGKILL (default 10s).
	StopGrace time.Duration `yaml:"stop_grace"`
	// IdleTimeout: an app without Always On that served no request for
	// this long is stopped, and starts again on the next request (default 20m).
	IdleTimeout time.Duration `yaml:"idle_timeout"`
}

func (w WebApps) validate() []error {
	if w.Addr == "" {
		return nil
	}
	var errs []error
	if _, _, err := net.SplitHostPort(w.Addr); err != nil {
		errs = append(errs, fmt.Errorf("webapps.addr %q: %w", w.Addr, err))
	}
	for name, d := range map[string]time.Duration{"probe": w.Probe, "start_timeout": w.StartTimeout, "max_backoff": w.MaxBackoff, "stop_grace": w.StopGrace,
		"idle_timeout": w.IdleTimeout} {
		if d < 0 {
			errs = append(errs, fmt.Errorf("webapps.%s: must not be negative", name))
		}
	}
	if w.Probe > 0 && w.Probe < 100*time.Millisecond {
		errs = append(errs, errors.New("webapps.probe: at least 100ms"))
	}
	return errs
}
