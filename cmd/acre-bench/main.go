// Command acre-bench measures an acre registry: bulk push and pull
// throughput against this machine's sha256 speed, many-small-images push
// and pull rates, manifest request rate, latency and server CPU per request,
// server memory, and bytes on disk against the unique bytes pushed.
//
// By default it starts its own server from --acre on a free loopback port
// with a temporary data directory; with --url it drives a running registry
// instead (server CPU and memory need --pid, disk usage needs --data).
//
// The client authenticates as Docker clients do (--auth=bearer, the
// default): a token per set of repository scopes from the realm the /v2/
// challenge names, cached until shortly before it expires and renewed once
// when a request is answered 401. A started server gets an owner "bench"
// with a random password; with --url, give --user and --password. With a
// started server and authentication on, the manifest load phases run a
// second time against the same data served with --auth=false, to measure
// the server CPU that authentication costs per request.
//
//	go run ./cmd/acre-bench --acre bin/acre
//	go run ./cmd/acre-bench --acre bin/acre --large-layer-mib 16 --small-images 40 --duration 2s
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

type config struct {
	acre, url, data, tmpdir, jsonOut, mode, gen string
	baseline                                    string
	table                                       string
	auth, user, password                        string
	authCompare                                 bool
	pid                                         int
	keep                                        bool
	acreArgs                                    stringList

	shaMiB, diskMiB, largeLayerMiB, largeLayers, largeConcurrency, chunkMiB int
	smallImages, smallLayers, smallLayerKiB, baseMiB, repos                 int
	concurrency                                                             int
	smallPullBase                                                           bool
	clients                                                                 string
	duration, warmup, sampleEvery                                           time.Duration
}

type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, " ") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

func parseFlags() (*config, []int) {
	c := &config{}
	f := flag.CommandLine
	f.StringVar(&c.acre, "acre", "", "acre binary to start (unless --url)")
	f.StringVar(&c.url, "url", "", "benchmark a running registry at this base URL instead of starting one; several nodes of one registry, comma-separated, get requests in turn")
	f.IntVar(&c.pid, "pid", 0, "with --url: the server's process id, for CPU and memory figures")
	f.StringVar(&c.data, "data", "", "with --url: the server's data directory, for disk usage")
	f.StringVar(&c.tmpdir, "tmpdir", "", "where to create the temporary data directory (default: system temp)")
	f.BoolVar(&c.keep, "keep", false, "keep the temporary data directory")
	f.Var(&c.acreArgs, "acre-arg", "extra argument for `acre serve` (repeatable)")
	f.StringVar(&c.auth, "auth", authBearer, "client authentication: bearer (token flow), basic (credentials on every request) or none (a started server runs with --auth=false)")
	f.StringVar(&c.user, "user", "", "with --url: user name to sign in with")
	f.StringVar(&c.password, "password", "", "with --url: password to sign in with")
	f.StringVar(&c.baseline, "baseline", "", "with a started server: another acre binary (e.g. built from an earlier commit) whose manifest load phases run on the same data, back to back with --acre's, for a before/after ratio of server CPU per request")
	f.BoolVar(&c.authCompare, "auth-compare", true, "with a started server and auth on: run the manifest load phases again on the same data with --auth=false")
	f.StringVar(&c.table, "table", "", "print one side-by-side table of name=results.json,... (files written by --json; the first is compared with each other one) and exit")
	f.StringVar(&c.jsonOut, "json", "", "also write the results as JSON to this file")
	f.StringVar(&c.mode, "upload-mode", "monolithic", "blob uploads: monolithic (POST ?digest=), post-put or chunked")
	f.IntVar(&c.chunkMiB, "chunk-mib", 16, "PATCH size for --upload-mode chunked")
	f.StringVar(&c.gen, "gen", "counter", "layer content: counter (random block + chunk stamp, cheap) or chacha8 (fresh random)")
	f.IntVar(&c.shaMiB, "sha-mib", 512, "MiB hashed to measure sha256 throughput")
	f.IntVar(&c.diskMiB, "disk-mib", 1024, "MiB written with one fdatasync at the end to measure the disk's durable write rate, beside the data directory (0 skips)")
	f.IntVar(&c.largeLayerMiB, "large-layer-mib", 256, "size of each large layer in MiB")
	f.IntVar(&c.largeLayers, "large-layers", 4, "number of large layers (0 skips the large image)")
	f.IntVar(&c.largeConcurrency, "large-concurrency", 1, "large layers uploaded at a time")
	f.IntVar(&c.smallImages, "small-images", 200, "number of small images (0 skips them)")
	f.IntVar(&c.smallLayers, "small-layers", 3, "own layers per small image")
	f.IntVar(&c.smallLayerKiB, "small-layer-kib", 64, "size of each small layer in KiB")
	f.IntVar(&c.baseMiB, "base-mib", 8, "size of the shared base layer in MiB")
	f.IntVar(&c.repos, "repos", 20, "repositories the small images are spread over")
	f.IntVar(&c.concurrency, "concurrency", 8, "small images pushed or pulled at a time")
	f.BoolVar(&c.smallPullBase, "small-pull-base", true, "pull the shared base layer with every small image")
	f.StringVar(&c.clients, "clients", "16,64", "comma-separated client counts for the manifest load phases (empty skips)")
	f.DurationVar(&c.duration, "duration", 10*time.Second, "length of each manifest load phase (per client count and, with --auth-compare, per auth mode)")
	f.DurationVar(&c.warmup, "warmup", 2*time.Second, "unmeasured manifest load before the measured phases on each server (0 skips)")
	f.DurationVar(&c.sampleEvery, "sample", 20*time.Millisecond, "server memory sampling interval")
	flag.Usage = func() {
		fmt.Fprintf(os.Stderr, "usage: acre-bench (--acre BINARY | --url URL [--user U --password P] [--pid PID] [--data DIR]) [flags]\n\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	die := func(format string, a ...any) {
		fmt.Fprintf(os.Stderr, "acre-bench: "+format+"\n", a...)
		os.Exit(2)
	}
	if flag.NArg() > 0 {
		die("unexpected arguments: %q", flag.Args())
	}
	if c.table != "" {
		return c, nil
	}
	if (c.acre == "") == (c.url == "") {
		die("give exactly one of --acre and --url")
	}
	switch c.mode {
	case "monolithic", "post-put", "chunked":
	default:
		die("--upload-mode must be monolithic, post-put or chunked")
	}
	switch c.auth {
	case authBearer, authBasic, authNone:
	default:
		die("--auth must be bearer, basic or none")
	}
	if c.baseline != "" && c.url != "" {
		die("--baseline goes with --acre: both servers are started on the same data")
	}
	if c.url == "" && (c.user != "" || c.password != "") {
		die("--user and --password go with --url; a started server gets its own owner")
	}
	if c.url != "" && c.auth != authNone && c.user == "" {
		die("--url with --auth=%s needs --user and --password (or --auth=none for a registry without auth)", c.auth)
	}
	if c.gen != "counter" && c.gen != "chacha8" {
		die("--gen must be counter or chacha8")
	}
	if c.repos < 1 || c.concurrency < 1 || c.largeConcurrency < 1 || c.chunkMiB < 1 || c.smallLayers > 255 ||
		c.shaMiB < 1 || c.diskMiB < 0 || c.largeLayerMiB < 1 || c.smallLayerKiB < 1 || c.baseMiB < 1 {
		die("sizes, counts and concurrency must be positive (and --small-layers at most 255)")
	}
	var clients []int
	for s := range strings.SplitSeq(c.clients, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			die("bad --clients entry %q", s)
		}
		clients = append(clients, n)
	}
	return c, clients
}

func main() {
	cfg, clients := parseFlags()
	if cfg.table != "" {
		cols, err := loadColumns(cfg.table)
		if err != nil {
			fmt.Fprintln(os.Stderr, "acre-bench:", err)
			os.Exit(2)
		}
		printTable(os.Stdout, cols)
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := run(ctx, cfg, clients)
	if res != nil {
		res.print(os.Stdout)
		if cfg.jsonOut != "" {
			b, _ := json.MarshalIndent(res, "", "  ")
			if werr := os.WriteFile(cfg.jsonOut, append(b, '\n'), 0o644); werr != nil {
				err = errors.Join(err, werr)
			} else {
				fmt.Printf("\nresults written to %s\n", cfg.jsonOut)
			}
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "acre-bench:", err)
		os.Exit(1)
	}
	if len(res.Errors) > 0 {
		os.Exit(1)
	}
}
