package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
)

const benchUser = "bench"

// randomPassword returns n random letters and digits.
func randomPassword(n int) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

// startManaged starts acre on dataDir, with authentication on (owner
// benchUser with b.password) or off. Auth off is asked for with --auth=false;
// should the server still demand credentials, it is restarted with
// auth.enabled: false in a configuration file under root, and a note says so.
func (b *bench) startManaged(ctx context.Context, root, dataDir string, authOn bool) (*server, error) {
	env := []string{"ACRE_BOOTSTRAP_USER=" + benchUser, "ACRE_BOOTSTRAP_PASSWORD=" + b.password}
	args := slices.Clone(b.cfg.acreArgs)
	if !authOn {
		args = append(args, "--auth=false")
	}
	srv, err := startServer(b.cfg.acre, dataDir, args, env)
	if err != nil || authOn {
		return srv, err
	}
	challenged, err := b.requiresAuth(ctx, srv)
	if err != nil {
		srv.stop()
		return nil, err
	}
	if !challenged {
		return srv, nil
	}
	b.note("`acre serve --auth=false` still required authentication (GET /v2/ answered 401), so the auth-off server " +
		"was started with `auth: {enabled: false}` in a --config file instead")
	srv.stop()
	cfgFile := filepath.Join(root, "acre-auth-off.yaml")
	if err := os.WriteFile(cfgFile, []byte("auth:\n  enabled: false\n"), 0o600); err != nil {
		return nil, err
	}
	args = append(slices.Clone(b.cfg.acreArgs), "--config", cfgFile)
	if srv, err = startServer(b.cfg.acre, dataDir, args, env); err != nil {
		return nil, err
	}
	if challenged, err = b.requiresAuth(ctx, srv); err != nil || challenged {
		srv.stop()
		if err == nil {
			err = fmt.Errorf("acre still requires authentication with auth.enabled: false")
		}
		return nil, err
	}
	return srv, nil
}

// requiresAuth reports whether srv challenges a request without credentials.
func (b *bench) requiresAuth(ctx context.Context, srv *server) (bool, error) {
	c := newClient(&url.URL{Scheme: "http", Host: srv.addr}, b.cfg.mode, 0, 1, &authenticator{mode: authNone})
	defer c.hc.CloseIdleConnections()
	return c.probe(ctx)
}

func (b *bench) note(s string) {
	b.logf("NOTE: %s", s)
	b.res.Notes = append(b.res.Notes, s)
}

// compareAuthOff serves dataDir again with authentication off and runs the
// manifest load phases once more, so that server CPU per request with and
// without authentication is measured on the same data in one run.
func (b *bench) compareAuthOff(ctx context.Context, root, dataDir string, clients []int, images []*pushedImage) error {
	srv, err := b.startManaged(ctx, root, dataDir, false)
	if err != nil {
		return fmt.Errorf("auth-off server: %w", err)
	}
	defer func() {
		if srv != nil {
			srv.stop()
		}
	}()
	b.logf("started %s (pid %d) on %s with authentication off, same data", b.cfg.acre, srv.pid(), srv.addr)
	b.proc = &proc{pid: srv.pid(), hz: b.proc.hz}
	onCli := b.cli
	b.cli = newClient(&url.URL{Scheme: "http", Host: srv.addr}, b.cfg.mode, int64(b.cfg.chunkMiB)<<20, slices.Max(clients), &authenticator{mode: authNone})
	defer func() { b.cli.hc.CloseIdleConnections(); b.cli = onCli }()
	if err := b.cli.check(ctx); err != nil {
		return fmt.Errorf("auth-off server: %w", err)
	}
	b.warmUp(ctx, clients, images)
	for _, n := range clients {
		if ctx.Err() != nil {
			break
		}
		b.res.ManifestLoadAuthOff = append(b.res.ManifestLoadAuthOff, b.manifestLoad(ctx, n, images))
	}
	b.cli.hc.CloseIdleConnections()
	srv.stop()
	b.res.ServerLog.add(srv.logSummary())
	srv = nil

	for _, on := range b.res.ManifestLoad {
		for _, off := range b.res.ManifestLoadAuthOff {
			if on.Clients != off.Clients || on.ServerCPUPerRequestMs == nil || off.ServerCPUPerRequestMs == nil {
				continue
			}
			b.res.AuthCost = append(b.res.AuthCost, &AuthCost{Clients: on.Clients, Auth: on.Auth,
				OnMs: *on.ServerCPUPerRequestMs, OffMs: *off.ServerCPUPerRequestMs,
				ExtraMs: *on.ServerCPUPerRequestMs - *off.ServerCPUPerRequestMs})
		}
	}
	return nil
}
