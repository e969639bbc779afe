package webapps

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/acre-project/acre/internal/meta"
)

var randRead = rand.Read

// deploy pulls the configured image, starts the plan's number of
// instances, waits until each answers on its port (and health check path),
// then switches traffic to them and retires the previous ones.
func (c *controller) deploy(ctx context.Context, a *meta.WebApp, cfg Config, plan *meta.AppPlan, reason string) (Status, error) {
	c.logs.platform("deploying %s: %s", cfg.Image, reason)
	c.setStatus(ctx, a.ID, Status{State: "Starting", Message: "pulling " + cfg.Image})
	ref, err := ParseImageRef(cfg.Image)
	if err != nil {
		return Status{}, err
	}
	cred, err := c.credentials(ctx, a, cfg, ref)
	if err != nil {
		return Status{}, err
	}
	img, err := c.s.o.Puller.Pull(ctx, ref, cred)
	if err != nil {
		if errors.Is(err, ErrPullDenied) {
			err = c.explainDenied(ctx, a, cfg, ref, err)
		}
		return Status{}, fmt.Errorf("pulling %s failed: %w", ref, err)
	}
	c.logs.platform("pulled %s (%s)", ref, img.Digest)
	spec, port, err := c.instanceSpec(a, cfg, plan, img)
	if err != nil {
		return Status{}, err
	}
	n := workersOf(cfg, plan)
	next := &liveSet{port: port}
	fail := func(err error) (Status, error) {
		for _, in := range next.insts {
			_ = in.Stop(context.Background())
		}
		return Status{}, err
	}
	for i := 0; i < n; i++ {
		sp := spec
		sp.ID = c.name + "-" + shortID()
		sp.Env = append(slices.Clip(spec.Env), "WEBSITE_INSTANCE_ID="+sp.ID)
		sp.Output = &lineWriter{l: c.logs, source: sp.ID}
		in, err := c.s.o.Runtime.Start(ctx, sp)
		if err != nil {
			return fail(fmt.Errorf("starting the container: %w", err))
		}
		inst := &instance{Instance: in, port: port}
		inst.transport = &http.Transport{
			DialContext:         func(ctx context.Context, _, _ string) (net.Conn, error) { return in.Dial(ctx, port) },
			MaxIdleConnsPerHost: 256, IdleConnTimeout: 90 * time.Second, ResponseHeaderTimeout: 230 * time.Second,
		}
		inst.proxy = newProxy(inst.transport, c.s.bufs)
		next.insts = append(next.insts, inst)
		c.logs.platform("started instance %s (pid %d), waiting for it on port %d", in.ID(), in.PID(), port)
		if err := c.waitReady(ctx, inst, cfg); err != nil {
			return fail(err)
		}
	}
	old := c.setLive(next)
	c.logs.platform("instances %s serve the app", strings.Join(idsOf(next), ", "))
	if old != nil {
		go c.retire(old)
	}
	return Status{State: "Running", Image: ref.String(), Digest: img.Digest, LastDeployment: time.Now().UTC()}, nil
}

func idsOf(l *liveSet) []string {
	var ids []string
	for _, in := range l.insts {
		ids = append(ids, in.ID())
	}
	return ids
}

// credentials picks how the app pulls: its managed identity when
// acrUseManagedIdentityCreds is on; else DOCKER_REGISTRY_SERVER_USERNAME
// and _PASSWORD; else anonymously.
func (c *controller) credentials(ctx context.Context, a *meta.WebApp, cfg Config, ref ImageRef) (Credentials, error) {
	if cfg.AcrUseIdentity {
		if a.PrincipalID == 0 || c.s.o.Identities == nil {
			return Credentials{}, errors.New("acrUseManagedIdentityCreds is on but the app has no managed identity: run acre webapp identity assign")
		}
		cred, ok, err := c.s.o.Identities.PullCredentials(ctx, a.PrincipalID, ref.Host)
		if err != nil {
			return Credentials{}, err
		}
		if !ok {
			return Credentials{}, fmt.Errorf("%s is not a registry of this server: a managed identity pulls only from it", ref.Host)
		}
		return cred, nil
	}
	var cred Credentials
	if u := cfg.AppSettings["DOCKER_REGISTRY_SERVER_USERNAME"]; u != "" {
		cred = Credentials{Username: u, Password: cfg.AppSettings["DOCKER_REGISTRY_SERVER_PASSWORD"]}
	}
	if u, err := url.Parse(cfg.AppSettings["DOCKER_REGISTRY_SERVER_URL"]); err == nil && u.Scheme == "http" && u.Host == ref.Host {
		cred.PlainHTTP = true
	}
	return cred, nil
}

func (c *controller) explainDenied(ctx context.Context, a *meta.WebApp, cfg Config, ref ImageRef, err error) error {
	if cfg.AcrUseIdentity && c.s.o.Identities != nil {
		name, _ := c.s.o.Identities.PrincipalName(ctx, a.PrincipalID)
		return fmt.Errorf("the app's managed identity %s may not pull %s/%s: grant it AcrPull (acre role assignment create --assignee %s --role AcrPull --scope /registries/<registry>); acre retries: %w",
			name, ref.Host, ref.Repository, name, err)
	}
	return fmt.Errorf("%w; to pull from this server's registry, assign an identity (acre webapp identity assign), grant it AcrPull and run acre webapp config set --acr-use-identity true", err)
}

// instanceSpec turns the configuration and image into what an instance runs.
func (c *controller) instanceSpec(a *meta.WebApp, cfg Config, plan *meta.AppPlan, img *Image) (InstanceSpec, int, error) {
	sku, _ := LookupSKU(plan.SKU)
	settings := cfg.AppSettings
	port := 80
	if p := settings["WEBSITES_PORT"]; p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return InstanceSpec{}, 0, fmt.Errorf("WEBSITES_PORT %q is not a port number", p)
		}
		port = n
	}
	env := map[string]string{"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
	for _, kv := range img.Config.Env {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	for k, v := range settings {
		env[k] = v
	}
	for k, cs := range cfg.ConnectionStrings {
		env[connPrefixes[cs.Type]+k] = cs.Value
	}
	env["WEBSITE_SITE_NAME"] = a.Name
	env["WEBSITE_HOSTNAME"] = a.Name + "." + c.s.o.Domain
	env["WEBSITE_SKU"] = plan.SKU
	env["WEBSITES_PORT"] = strconv.Itoa(port)
	delete(env, "DOCKER_REGISTRY_SERVER_PASSWORD")
	spec := InstanceSpec{Hostname: a.Name, Image: img.Dir, WorkDir: img.Config.WorkingDir, Memory: sku.Memory, Pids: sku.Pids}
	for _, k := range slices.Sorted(maps.Keys(env)) {
		spec.Env = append(spec.Env, k+"="+env[k])
	}
	switch {
	case cfg.StartupFile != "":
		if _, err := os.Lstat(filepath.Join(img.Dir, "bin", "sh")); err == nil {
			spec.Args = []string{"/bin/sh", "-c", cfg.StartupFile}
		} else {
			spec.Args = strings.Fields(cfg.StartupFile)
		}
	default:
		spec.Args = append(append([]string(nil), img.Config.Entrypoint...), img.Config.Cmd...)
	}
	if len(spec.Args) == 0 {
		return InstanceSpec{}, 0, errors.New("the image has no ENTRYPOINT or CMD: set a startup command (acre webapp config set --startup-file)")
	}
	uid, gid, err := parseUser(img.Config.User)
	if err != nil {
		return InstanceSpec{}, 0, err
	}
	spec.UID, spec.GID = uid, gid
	if strings.EqualFold(settings["WEBSITES_ENABLE_APP_SERVICE_STORAGE"], "true") {
		home := filepath.Join(c.s.o.Dir, "home", a.Name)
		if err := os.MkdirAll(home, 0o755); err != nil {
			return InstanceSpec{}, 0, err
		}
		if err := os.Chown(home, int(uid), int(gid)); err != nil {
			return InstanceSpec{}, 0, err
		}
		spec.Home = home
	}
	return spec, port, nil
}

// parseUser accepts the numeric forms of the image's USER ("", "uid",
// "uid:gid", "root").
func parseUser(u string) (uint32, uint32, error) {
	if u == "" || u == "root" || u == "0" {
		return 0, 0, nil
	}
	us, gs, hasG := strings.Cut(u, ":")
	uid, err := strconv.ParseUint(us, 10, 32)
	if err != nil {
		return 0, 0, fmt.Errorf("the image's USER %q: only numeric users are supported", u)
	}
	gid := uid
	if hasG {
		if gid, err = strconv.ParseUint(gs, 10, 32); err != nil {
			return 0, 0, fmt.Errorf("the image's USER %q: only numeric groups are supported", u)
		}
	}
	return uint32(uid), uint32(gid), nil
}

// waitReady waits until the instance accepts connections on its port and,
// with a health check path, answers it with a success; it fails early,
// with the reason, when the process exits or listens on other ports only.
func (c *controller) waitReady(ctx context.Context, in *instance, cfg Config) error {
	deadline := time.Now().Add(c.s.o.StartTimeout)
	start := time.Now()
	for delay := 2 * time.Millisecond; ; delay = min(delay*2, 200*time.Millisecond) {
		select {
		case <-in.Done():
			return fmt.Errorf("the container exited before answering on port %d: %v (see acre webapp log tail)", in.port, in.Err())
		default:
		}
		var err error
		if cfg.HealthCheckPath != "" {
			err = probeHTTP(ctx, in, cfg.HealthCheckPath)
		} else {
			var conn net.Conn
			if conn, err = in.Dial(ctx, in.port); err == nil {
				conn.Close()
			}
		}
		if err == nil {
			c.logs.platform("instance %s answers on port %d after %s", in.ID(), in.port, time.Since(start).Round(time.Millisecond))
			return nil
		}
		if ls := in.Listening(); len(ls) > 0 && !slices.Contains(ls, in.port) && time.Since(start) > time.Second {
			return fmt.Errorf("the container listens on port %s but traffic goes to port %d: set WEBSITES_PORT=%d (acre webapp config appsettings set --settings WEBSITES_PORT=%d)",
				joinInts(ls), in.port, ls[0], ls[0])
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the container did not answer on port %d within %s: %v", in.port, c.s.o.StartTimeout, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(delay):
		}
	}
}

func joinInts(ns []int) string {
	s := make([]string, len(ns))
	for i, n := range ns {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ", ")
}

// probeHTTP GETs path on the instance; 2xx and 3xx are healthy.
func probeHTTP(ctx context.Context, in *instance, path string) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://localhost"+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("User-Agent", "acre-healthcheck")
	resp, err := in.transport.RoundTrip(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode >= 400 {
		return fmt.Errorf("GET %s answered %s", path, resp.Status)
	}
	return nil
}
