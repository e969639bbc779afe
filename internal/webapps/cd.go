package webapps

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
)

// CDView is the continuous deployment setting of an app.
type CDView struct {
	Enabled bool   `json:"enabled"`
	URL     string `json:"CI_CD_URL,omitempty"` // with its secret: shown once, when CD is enabled
}

// SetCD turns continuous deployment on or off. Turning it on makes a new
// secret and returns the webhook URL holding it (shown once: only its hash
// is kept); an ACR webhook on push pointed at it redeploys the app.
func (s *Service) SetCD(ctx context.Context, name string, enable bool) (CDView, error) {
	secret := ""
	if enable {
		b := make([]byte, 24)
		if _, err := randRead(b); err != nil {
			return CDView{}, err
		}
		secret = base64.RawURLEncoding.EncodeToString(b)
	}
	_, err := s.Configure(ctx, name, func(c *Config) error {
		c.CDEnabled, c.CDSecretHash = enable, ""
		if enable {
			c.CDSecretHash = hashSecret(secret)
		}
		return nil
	})
	if err != nil || !enable {
		return CDView{Enabled: enable}, err
	}
	return CDView{Enabled: true, URL: s.o.URL() + "/" + name + ".scm/api/registry/webhook/" + secret}, nil
}

func hashSecret(s string) string {
	h := sha256.Sum256([]byte("acre-webapp-cd\x00" + s))
	return hex.EncodeToString(h[:])
}

var errCDDenied = errors.New("continuous deployment is off for this app or the secret is wrong")

// cdHook redeploys the app (resolving its tag again) when secret is its CD
// secret. The deployment is zero-downtime: new instances start and pass
// their checks before traffic moves and the old ones stop.
// Events other than a push of the app's repository and tag are ignored.
func (s *Service) cdHook(ctx context.Context, name, secret, action, repo, tag string) error {
	a, err := s.o.Meta.Read().GetWebApp(ctx, name)
	if err != nil {
		return errCDDenied
	}
	cfg, err := parseConfig(a.Config)
	if err != nil || !cfg.CDEnabled || cfg.CDSecretHash == "" || !constantEqual(cfg.CDSecretHash, hashSecret(secret)) {
		return errCDDenied
	}
	ref, err := ParseImageRef(cfg.Image)
	if err != nil || action != "push" || repo != ref.Repository || tag != ref.Reference {
		return nil
	}
	c := s.controller(name)
	c.logs.platform("continuous deployment: %s:%s was pushed", repo, tag)
	c.redeploy()
	return nil
}

// Restart redeploys the app with zero downtime.
func (s *Service) Restart(ctx context.Context, name string) (AppView, error) {
	return s.Configure(ctx, name, func(c *Config) error { c.Restarts++; return nil })
}

// SetStopped stops or starts an app.
func (s *Service) SetStopped(ctx context.Context, name string, stopped bool) (AppView, error) {
	v, err := s.Configure(ctx, name, func(c *Config) error { c.Stopped = stopped; return nil })
	if err != nil {
		return v, fmt.Errorf("%w", err)
	}
	return v, nil
}
