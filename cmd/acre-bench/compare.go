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
	return b.startBinary(ctx, b.cfg.acre, root, dataDir, authOn)
}

// startBinary is startManaged with another acre binary.
func (b *bench) startBinary(ctx context.Context, bin, root, dataDir string, authOn bool) (*server, error) {
	env := []string{"ACRE_BOOTSTRAP_USER=" + benchUser, "ACRE_BOOTSTRAP_PASSWORD=" + b.password}
	args := slices.Clone(b.cfg.acreArgs)
	if !authOn {
		args = append(args, "--auth=false")
	}
	srv, err := startServer(bin, dataDir, args, env)
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
	if srv, err = startServer(bin, dataDir, args, env); err != nil {
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
	off, err := b.loadOn(ctx, b.cfg.acre, root, dataDir, false, clients, images)
	if err != nil {
		return fmt.Errorf("auth-off server: %w", err)
	}
	b.res.ManifestLoadAuthOff = off
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

// compareBaseline serves dataDir with the --baseline binary and then with
// --acre again, back to back, each with the client's authentication, and
// runs the manifest load phases on both: server CPU per request of the
// binary under test against a baseline, on the same data in one run. The
// baseline must read the data directory as the binary under test left it.
func (b *bench) compareBaseline(ctx context.Context, root, dataDir string, clients []int, images []*pushedImage) error {
	authOn := b.cfg.auth != authNone
	base, err := b.loadOn(ctx, b.cfg.baseline, root, dataDir, authOn, clients, images)
	if err != nil {
		return fmt.Errorf("baseline server: %w", err)
	}
	cand, err := b.loadOn(ctx, b.cfg.acre, root, dataDir, authOn, clients, images)
	if err != nil {
		return fmt.Errorf("server under test, again: %w", err)
	}
	for _, c := range cand {
		for _, bl := range base {
			if c.Clients != bl.Clients || c.ServerCPUPerRequestMs == nil || bl.ServerCPUPerRequestMs == nil || *bl.ServerCPUPerRequestMs == 0 {
				continue
			}
			b.res.BaselineCost = append(b.res.BaselineCost, &BaselineCost{Clients: c.Clients, Auth: c.Auth,
				Ms: *c.ServerCPUPerRequestMs, BaselineMs: *bl.ServerCPUPerRequestMs,
				Ratio: *c.ServerCPUPerRequestMs / *bl.ServerCPUPerRequestMs, P99Ms: c.P99Ms, BaselineP99Ms: bl.P99Ms})
		}
	}
	return nil
}

// loadOn serves dataDir with bin (authentication on or off) and runs the
// manifest load phases on it.
func (b *bench) loadOn(ctx context.Context, bin, root, dataDir string, authOn bool, clients []int, images []*pushedImage) ([]*LoadResult, error) {
	srv, err := b.startBinary(ctx, bin, root, dataDir, authOn)
	if err != nil {
		return nil, err
	}
	defer func() {
		if srv != nil {
			srv.stop()
		}
	}()
	b.logf("started %s (pid %d) on %s, auth on %v, same data", bin, srv.pid(), srv.addr, authOn)
	b.proc = &proc{pid: srv.pid(), hz: b.proc.hz}
	mode := authNone
	if authOn {
		mode = b.cfg.auth
	}
	prev := b.cli
	b.cli = newClient(&url.URL{Scheme: "http", Host: srv.addr}, b.cfg.mode, int64(b.cfg.chunkMiB)<<20, slices.Max(clients),
		&authenticator{mode: mode, user: benchUser, pass: b.password})
	defer func() { b.cli.hc.CloseIdleConnections(); b.cli = prev }()
	if err := b.cli.check(ctx); err != nil {
		return nil, err
	}
	b.warmUp(ctx, clients, images)
	var out []*LoadResult
	for _, n := range clients {
		if ctx.Err() != nil {
			break
		}
		out = append(out, b.manifestLoad(ctx, n, images))
	}
	b.cli.hc.CloseIdleConnections()
	srv.stop()
	b.res.ServerLog.add(srv.logSummary())
	srv = nil
	return out, nil
}
