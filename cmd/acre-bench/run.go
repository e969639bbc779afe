package main

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"flag"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// bench holds the state shared by the phases.
type bench struct {
	cfg        *config
	cli        *client
	gen        *generator
	ledger     *ledger
	proc       *proc    // the server process; nil when unknown
	mem        *sampler // VmRSS sampler; nil when proc is
	res        *Results
	repoPrefix string
	password   string // of a started server's owner
	start      time.Time
}

func (b *bench) logf(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "[%6.1fs] "+format+"\n", append([]any{time.Since(b.start).Seconds()}, a...)...)
}

// fail records an error in the results.
func (b *bench) fail(err error) {
	b.logf("ERROR: %v", err)
	b.res.Errors = append(b.res.Errors, err.Error())
}

// meter measures a phase: wall time, server CPU (when known) and this
// process's CPU.
type meter struct {
	b        *bench
	t0       time.Time
	srv, cli float64
	srvOK    bool
}

func (b *bench) begin() meter {
	m := meter{b: b, cli: cpuSelf()}
	if b.proc != nil {
		if v, err := b.proc.cpu(); err == nil {
			m.srv, m.srvOK = v, true
		}
	}
	m.t0 = time.Now()
	return m
}

func (m meter) end() (time.Duration, *float64, float64) {
	el := time.Since(m.t0)
	cli := cpuSelf() - m.cli
	var srv *float64
	if m.srvOK {
		if v, err := m.b.proc.cpu(); err == nil {
			d := v - m.srv
			srv = &d
		}
	}
	return el, srv, cli
}

func cpuModel() string {
	b, _ := os.ReadFile("/proc/cpuinfo")
	for line := range strings.SplitSeq(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// run sets up the target and runs the phases in order. Results are
// returned even when a phase fails (the failure is in Results.Errors).
func run(ctx context.Context, cfg *config, clients []int) (*Results, error) {
	var nb [8]byte
	_, _ = rand.Read(nb[:])
	nonce := binary.LittleEndian.Uint64(nb[:])
	res := &Results{Started: time.Now().UTC(), Settings: map[string]any{}, Machine: map[string]any{
		"os": runtime.GOOS, "arch": runtime.GOARCH, "cpus": runtime.NumCPU(), "go": runtime.Version(), "cpu": cpuModel(),
	}}
	flag.VisitAll(func(f *flag.Flag) { res.Settings[f.Name] = f.Value.String() })
	if cfg.password != "" {
		res.Settings["password"] = "(set)"
	}
	b := &bench{cfg: cfg, gen: newGenerator(cfg.gen, nonce), ledger: newLedger(), res: res,
		repoPrefix: fmt.Sprintf("acre-bench/r%08x", uint32(nonce)), start: time.Now()}

	res.Auth = cfg.auth
	base, dataDir, pid := cfg.url, cfg.data, cfg.pid
	user, password, root := cfg.user, cfg.password, ""
	var srv *server
	if cfg.url == "" {
		var err error
		if root, err = os.MkdirTemp(cfg.tmpdir, "acre-bench-"); err != nil {
			return nil, err
		}
		if cfg.keep {
			defer fmt.Fprintf(os.Stderr, "kept data directory %s\n", root)
		} else {
			defer os.RemoveAll(root)
		}
		dataDir = filepath.Join(root, "data")
		if err := os.Mkdir(dataDir, 0o700); err != nil {
			return nil, err
		}
		user, password = benchUser, randomPassword(24)
		b.password = password
		if srv, err = b.startManaged(ctx, root, dataDir, cfg.auth != authNone); err != nil {
			return nil, err
		}
		defer func() {
			if srv != nil {
				srv.stop()
			}
		}()
		base, pid, res.Managed = "http://"+srv.addr, srv.pid(), true
		b.logf("started %s (pid %d) on %s, data in %s, auth %s", cfg.acre, pid, srv.addr, dataDir, cfg.auth)
	}
	res.Target, res.ServerPID = base, pid
	var nodes []*url.URL // --url may list several nodes of one registry, comma-separated
	for _, one := range strings.Split(base, ",") {
		u, err := url.Parse(strings.TrimSuffix(one, "/"))
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("bad registry URL %q", one)
		}
		nodes = append(nodes, u)
	}
	u := nodes[0]
	if pid > 0 {
		b.proc = &proc{pid: pid, hz: clockTicks()}
		if _, err := b.proc.cpu(); err != nil {
			return nil, fmt.Errorf("server process %d: %w", pid, err)
		}
		res.Machine["clk_tck"] = b.proc.hz
		b.mem = startSampler(b.proc, cfg.sampleEvery)
		defer b.mem.close()
		res.Memory = &MemoryResult{}
	}
	conns := max(cfg.concurrency, cfg.largeConcurrency)
	for _, n := range clients {
		conns = max(conns, n)
	}
	b.cli = newClient(u, cfg.mode, int64(cfg.chunkMiB)<<20, conns, &authenticator{mode: cfg.auth, user: user, pass: password})
	b.cli.more = nodes
	if err := b.cli.check(ctx); err != nil {
		return nil, fmt.Errorf("registry check: %w", err)
	}

	b.logf("measuring crypto/sha256 over %d MiB", cfg.shaMiB)
	res.SHA256MBps = measureSHA256(b.gen.pool, cfg.shaMiB)
	b.logf("sha256: %.0f MB/s", res.SHA256MBps)
	if cfg.diskMiB > 0 {
		dir := cfg.tmpdir
		if dataDir != "" {
			dir = filepath.Dir(dataDir)
		}
		b.logf("measuring the disk's durable write rate: %d MiB and one fdatasync in %s", cfg.diskMiB, dir)
		if v, err := measureDiskWrite(dir, b.gen.pool, cfg.diskMiB); err != nil {
			b.fail(fmt.Errorf("disk write rate: %w", err))
		} else {
			res.DiskWriteMBps = v
			b.logf("disk write with fdatasync: %.0f MB/s", v)
		}
	}

	var targets []*pushedImage
	if cfg.largeLayers > 0 && ctx.Err() == nil {
		if img, err := b.pushLarge(ctx); err != nil {
			b.fail(err)
		} else {
			targets = append(targets, img)
			if err := b.pullLarge(ctx, img); err != nil {
				b.fail(err)
			}
		}
	}
	if cfg.smallImages > 0 && ctx.Err() == nil {
		if imgs, err := b.pushSmall(ctx); err != nil {
			b.fail(err)
		} else {
			targets = imgs
			if err := b.pullSmall(ctx, imgs); err != nil {
				b.fail(err)
			}
		}
	}
	if ctx.Err() == nil && len(targets) > 0 {
		b.warmUp(ctx, clients, targets)
	}
	for _, n := range clients {
		if ctx.Err() != nil || len(targets) == 0 {
			break
		}
		res.ManifestLoad = append(res.ManifestLoad, b.manifestLoad(ctx, n, targets))
	}
	res.TokenFetches = b.cli.auth.fetches.Load()
	res.TokenRenewals = b.cli.auth.refreshes.Load()

	if ctx.Err() == nil {
		res.SHA256MBpsEnd = measureSHA256(b.gen.pool, cfg.shaMiB)
		b.logf("sha256 again: %.0f MB/s", res.SHA256MBpsEnd)
	}
	// Other load on the machine slows a single measurement down; the faster
	// of the two is the better estimate of what this machine can hash.
	res.SHA256MBpsRef = max(res.SHA256MBps, res.SHA256MBpsEnd)
	for _, t := range []*Throughput{res.LargePush, res.LargePull} {
		if t != nil && res.SHA256MBpsRef > 0 {
			t.RatioToSHA256 = t.MBps / res.SHA256MBpsRef
		}
	}
	if t := res.LargePush; t != nil && res.DiskWriteMBps > 0 {
		t.RatioToDisk = t.MBps / res.DiskWriteMBps
	}
	if b.proc != nil {
		if rss, hwm, err := b.proc.mem(); err == nil {
			res.Memory.RSSEnd, res.Memory.HWMEnd = rss, hwm
		}
		res.Memory.SampledPeakRSS = b.mem.peak()
		b.mem.close()
	}
	atRest := false
	if srv != nil {
		b.logf("stopping the server")
		b.cli.hc.CloseIdleConnections()
		srv.stop()
		b.logf("server stopped")
		atRest = true
		res.ServerLog = srv.logSummary()
		srv = nil
	}
	if dataDir != "" {
		if d, err := measureDisk(dataDir); err != nil {
			b.fail(fmt.Errorf("disk usage: %w", err))
		} else {
			d.AtRest = atRest
			d.BlobBytes, d.ManifestBytes, d.Blobs, d.Manifests = b.ledger.unique()
			d.UniqueBytes = d.BlobBytes + d.ManifestBytes
			if d.UniqueBytes > 0 {
				d.ApparentRatio = float64(d.ApparentBytes) / float64(d.UniqueBytes)
				d.BlockRatio = float64(d.BlockBytes) / float64(d.UniqueBytes)
			}
			res.Disk = d
		}
	}
	// After the disk figures, which the auth-off server's writes (its audit
	// log) would change.
	if res.Managed && cfg.authCompare && cfg.auth != authNone && ctx.Err() == nil && len(targets) > 0 && len(res.ManifestLoad) > 0 {
		if err := b.compareAuthOff(ctx, root, dataDir, clients, targets); err != nil {
			b.fail(err)
		}
	}
	if res.Managed && cfg.baseline != "" && ctx.Err() == nil && len(targets) > 0 {
		if err := b.compareBaseline(ctx, root, dataDir, clients, targets); err != nil {
			b.fail(err)
		}
	}
	res.judge()
	return res, ctx.Err()
}
