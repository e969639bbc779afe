package main

import (
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"slices"
	"syscall"
	"text/tabwriter"
	"time"
)

// Results is everything measured; it is also the --json output.
type Results struct {
	Started       time.Time      `json:"started"`
	Target        string         `json:"target"`
	Managed       bool           `json:"managed"` // server started by the benchmark
	ServerPID     int            `json:"server_pid,omitempty"`
	Machine       map[string]any `json:"machine"`
	Settings      map[string]any `json:"settings"`
	SHA256MBps    float64        `json:"sha256_mbps"`               // measured first
	SHA256MBpsEnd float64        `json:"sha256_mbps_end"`           // measured again at the end
	SHA256MBpsRef float64        `json:"sha256_mbps_ref"`           // the faster of the two; ratios use it
	DiskWriteMBps float64        `json:"disk_write_mbps,omitempty"` // sequential write + fdatasync beside the data
	LargePush     *Throughput    `json:"large_push,omitempty"`
	LargePull     *Throughput    `json:"large_pull,omitempty"`
	SmallPush     *ImagesResult  `json:"small_push,omitempty"`
	SmallPull     *ImagesResult  `json:"small_pull,omitempty"`
	ManifestLoad  []*LoadResult  `json:"manifest_load,omitempty"`
	// The same phases against the same data served with --auth=false.
	ManifestLoadAuthOff []*LoadResult   `json:"manifest_load_auth_off,omitempty"`
	AuthCost            []*AuthCost     `json:"auth_cost,omitempty"`
	BaselineCost        []*BaselineCost `json:"baseline_cost,omitempty"`
	Auth                string          `json:"auth"`           // bearer, basic or none
	TokenFetches        int64           `json:"token_fetches"`  // token requests made (bearer)
	TokenRenewals       int64           `json:"token_renewals"` // tokens replaced after a 401
	Memory              *MemoryResult   `json:"memory,omitempty"`
	Disk                *DiskResult     `json:"disk,omitempty"`
	Targets             []Target        `json:"targets"`
	ServerLog           *ServerLog      `json:"server_log,omitempty"`
	Notes               []string        `json:"notes,omitempty"`
	Errors              []string        `json:"errors,omitempty"`
}

// Throughput is a bulk transfer; MB are 10^6 bytes.
type Throughput struct {
	Bytes            int64    `json:"bytes"`
	Seconds          float64  `json:"seconds"`
	MBps             float64  `json:"mbps"`
	RatioToSHA256    float64  `json:"ratio_to_sha256"`
	RatioToDisk      float64  `json:"ratio_to_disk_write,omitempty"` // large push only
	ServerCPUSeconds *float64 `json:"server_cpu_seconds,omitempty"`
	ClientCPUSeconds float64  `json:"client_cpu_seconds"`
}

// ImagesResult is a many-images push or pull.
type ImagesResult struct {
	Images           int      `json:"images"`
	Repos            int      `json:"repos"`
	Mounts           int      `json:"mounts,omitempty"`
	Bytes            int64    `json:"bytes"`
	Seconds          float64  `json:"seconds"`
	ImagesPerSec     float64  `json:"images_per_sec"`
	MBps             float64  `json:"mbps"`
	ServerCPUSeconds *float64 `json:"server_cpu_seconds,omitempty"`
	ClientCPUSeconds float64  `json:"client_cpu_seconds"`
}

// LoadResult is one manifest HEAD/GET load run.
type LoadResult struct {
	Clients               int      `json:"clients"`
	Auth                  string   `json:"auth"` // bearer, basic or "auth off"
	TokenFetches          int64    `json:"token_fetches"`
	Seconds               float64  `json:"seconds"`
	Requests              int64    `json:"requests"`
	Errors                int64    `json:"errors"`
	FirstErrors           []string `json:"first_errors,omitempty"`
	RPS                   float64  `json:"requests_per_sec"`
	P50Ms                 float64  `json:"p50_ms"`
	P99Ms                 float64  `json:"p99_ms"`
	ServerCPUSeconds      *float64 `json:"server_cpu_seconds,omitempty"`
	ServerCPUPerRequestMs *float64 `json:"server_cpu_per_request_ms,omitempty"`
	ClientCPUSeconds      float64  `json:"client_cpu_seconds"`
}

// AuthCost is the server CPU per manifest request with authentication on
// against off, same data and client count.
type AuthCost struct {
	Clients int     `json:"clients"`
	Auth    string  `json:"auth"`
	OnMs    float64 `json:"server_cpu_per_request_ms_auth_on"`
	OffMs   float64 `json:"server_cpu_per_request_ms_auth_off"`
	ExtraMs float64 `json:"extra_ms"`
}

// BaselineCost is the server CPU per manifest request of the binary under
// test against a baseline binary, same data and client count, back to back.
type BaselineCost struct {
	Clients       int     `json:"clients"`
	Auth          string  `json:"auth"`
	Ms            float64 `json:"server_cpu_per_request_ms"`
	BaselineMs    float64 `json:"baseline_server_cpu_per_request_ms"`
	Ratio         float64 `json:"ratio"`
	P99Ms         float64 `json:"p99_ms"`
	BaselineP99Ms float64 `json:"baseline_p99_ms"`
}

// MemoryResult is the server's resident memory, in bytes.
type MemoryResult struct {
	LargePushBytes          int64 `json:"large_push_bytes"`
	HWMAfterLargePush       int64 `json:"vmhwm_after_large_push"`      // peak since start, read right after the large push
	LargePushSampledPeakRSS int64 `json:"large_push_sampled_peak_rss"` // max VmRSS sampled during the large push
	RSSAfterLargePush       int64 `json:"vmrss_after_large_push"`
	SampledPeakRSS          int64 `json:"sampled_peak_rss"` // max VmRSS sampled over the run
	HWMEnd                  int64 `json:"vmhwm_end"`        // peak over the whole run
	RSSEnd                  int64 `json:"vmrss_end"`
}

// DiskResult compares the data directory with the distinct content pushed.
type DiskResult struct {
	Dir           string  `json:"dir"`
	Files         int     `json:"files"`
	ApparentBytes int64   `json:"apparent_bytes"` // sum of regular file sizes
	BlockBytes    int64   `json:"block_bytes"`    // allocated blocks (du), directories included
	UniqueBytes   int64   `json:"unique_bytes"`   // distinct blobs + manifests
	BlobBytes     int64   `json:"unique_blob_bytes"`
	ManifestBytes int64   `json:"unique_manifest_bytes"`
	Blobs         int     `json:"unique_blobs"`
	Manifests     int     `json:"unique_manifests"`
	ApparentRatio float64 `json:"apparent_ratio"`
	BlockRatio    float64 `json:"block_ratio"`
	AtRest        bool    `json:"at_rest"` // measured after the server stopped
}

// ServerLog summarises the managed server's log.
type ServerLog struct {
	ErrorLines  int      `json:"error_lines"`
	WarnLines   int      `json:"warn_lines"`
	FirstErrors []string `json:"first_errors,omitempty"`
}

// add merges another server's log summary.
func (l *ServerLog) add(o *ServerLog) {
	l.ErrorLines += o.ErrorLines
	l.WarnLines += o.WarnLines
	l.FirstErrors = append(l.FirstErrors, o.FirstErrors...)[:min(keepErrLogs, len(l.FirstErrors)+len(o.FirstErrors))]
}

// Target is one goal with its verdict: PASS, MISS or n/a (not measured).
type Target struct {
	Name     string `json:"name"`
	Goal     string `json:"goal"`
	Measured string `json:"measured"`
	Status   string `json:"status"`
}

// measureDisk walks dir: apparent size of regular files and du-style
// allocated blocks of every entry (hard links counted once).
func measureDisk(dir string) (*DiskResult, error) {
	r := &DiskResult{Dir: dir}
	seen := map[uint64]bool{}
	err := filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := e.Info()
		if err != nil {
			return nil // vanished meanwhile
		}
		st, ok := fi.Sys().(*syscall.Stat_t)
		if ok && seen[st.Ino] {
			return nil
		}
		if ok {
			seen[st.Ino] = true
			r.BlockBytes += st.Blocks * 512
		}
		if fi.Mode().IsRegular() {
			r.Files++
			r.ApparentBytes += fi.Size()
		}
		return nil
	})
	return r, err
}

func cpuStr(p *float64) string {
	if p == nil {
		return "-"
	}
	return fmt.Sprintf("%.2fs", *p)
}

// print writes the human-readable report.
func (r *Results) print(w io.Writer) {
	fmt.Fprintf(w, "\nacre-bench: %s", r.Target)
	if r.Managed {
		fmt.Fprintf(w, " (acre started by the benchmark, pid %d)", r.ServerPID)
	} else if r.ServerPID > 0 {
		fmt.Fprintf(w, " (server pid %d)", r.ServerPID)
	}
	fmt.Fprintf(w, "\nmachine: %v/%v, %v CPUs, %v\n", r.Machine["os"], r.Machine["arch"], r.Machine["cpus"], r.Machine["go"])
	fmt.Fprintf(w, "crypto/sha256: %.0f MB/s first, %.0f MB/s at the end (%v MiB in 1 MiB buffers, one goroutine);\n",
		r.SHA256MBps, r.SHA256MBpsEnd, r.Settings["sha-mib"])
	fmt.Fprintf(w, "  ratios use the faster, %.0f MB/s; MB = 10^6 bytes\n", r.SHA256MBpsRef)
	if r.DiskWriteMBps > 0 {
		fmt.Fprintf(w, "disk: %.0f MB/s writing %v MiB with one fdatasync at the end\n", r.DiskWriteMBps, r.Settings["disk-mib"])
	}
	fmt.Fprintln(w)

	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "PHASE\tRESULT\tTIME\tSERVER CPU\tCLIENT CPU")
	if t := r.LargePush; t != nil {
		fmt.Fprintf(tw, "large push (%s)\t%.0f MB/s = %.2fx sha256\t%.2fs\t%s\t%.2fs\n", mib(t.Bytes), t.MBps, t.RatioToSHA256, t.Seconds, cpuStr(t.ServerCPUSeconds), t.ClientCPUSeconds)
	}
	if t := r.LargePull; t != nil {
		fmt.Fprintf(tw, "large pull (%s)\t%.0f MB/s = %.2fx sha256\t%.2fs\t%s\t%.2fs\n", mib(t.Bytes), t.MBps, t.RatioToSHA256, t.Seconds, cpuStr(t.ServerCPUSeconds), t.ClientCPUSeconds)
	}
	for _, p := range []struct {
		name string
		s    *ImagesResult
	}{{"small push", r.SmallPush}, {"small pull", r.SmallPull}} {
		if s := p.s; s != nil {
			extra := ""
			if s.Mounts > 0 {
				extra = fmt.Sprintf(", %d mounts", s.Mounts)
			}
			fmt.Fprintf(tw, "%s (%d images, %d repos%s)\t%.0f images/s, %.1f MB/s\t%.2fs\t%s\t%.2fs\n",
				p.name, s.Images, s.Repos, extra, s.ImagesPerSec, s.MBps, s.Seconds, cpuStr(s.ServerCPUSeconds), s.ClientCPUSeconds)
		}
	}
	for _, l := range append(slices.Clone(r.ManifestLoad), r.ManifestLoadAuthOff...) {
		per := "-"
		if l.ServerCPUPerRequestMs != nil {
			per = fmt.Sprintf("%.3f ms", *l.ServerCPUPerRequestMs)
		}
		fmt.Fprintf(tw, "manifest HEAD/GET, %d clients, %s\t%.0f req/s, p50 %.2f ms, p99 %.2f ms, server CPU/req %s, %d errors\t%.2fs\t%s\t%.2fs\n",
			l.Clients, l.Auth, l.RPS, l.P50Ms, l.P99Ms, per, l.Errors, l.Seconds, cpuStr(l.ServerCPUSeconds), l.ClientCPUSeconds)
	}
	tw.Flush()
	if len(r.AuthCost) > 0 {
		fmt.Fprintf(w, "\nauthentication cost (server CPU per manifest HEAD/GET, same data, auth on vs --auth=false):\n")
		for _, a := range r.AuthCost {
			fmt.Fprintf(w, "  %d clients: %.4f ms %s, %.4f ms auth off, %+.4f ms extra\n", a.Clients, a.OnMs, a.Auth, a.OffMs, a.ExtraMs)
		}
	}
	if len(r.BaselineCost) > 0 {
		fmt.Fprintf(w, "\nagainst the baseline (server CPU per manifest HEAD/GET, same data, back to back):\n")
		for _, c := range r.BaselineCost {
			fmt.Fprintf(w, "  %d clients, %s: %.4f ms vs %.4f ms baseline, ratio %.3f (p99 %.2f ms vs %.2f ms)\n",
				c.Clients, c.Auth, c.Ms, c.BaselineMs, c.Ratio, c.P99Ms, c.BaselineP99Ms)
		}
	}
	if r.Auth == authBearer {
		fmt.Fprintf(w, "\ntokens: %d fetched, %d renewed after a 401\n", r.TokenFetches, r.TokenRenewals)
	}

	if m := r.Memory; m != nil {
		fmt.Fprintf(w, "\nserver memory:\n")
		fmt.Fprintf(w, "  large push (%s): VmHWM right after %s, sampled VmRSS peak %s, VmRSS after %s\n",
			mib(m.LargePushBytes), mib(m.HWMAfterLargePush), mib(m.LargePushSampledPeakRSS), mib(m.RSSAfterLargePush))
		fmt.Fprintf(w, "  whole run: VmHWM %s (includes the large push), sampled VmRSS peak %s, VmRSS at end %s\n",
			mib(m.HWMEnd), mib(m.SampledPeakRSS), mib(m.RSSEnd))
	}
	if d := r.Disk; d != nil {
		when := "server running"
		if d.AtRest {
			when = "after the server stopped"
		}
		fmt.Fprintf(w, "\ndisk (%s, %s): %d files, apparent %s (%.3fx), allocated %s (%.3fx)\n",
			d.Dir, when, d.Files, mib(d.ApparentBytes), d.ApparentRatio, mib(d.BlockBytes), d.BlockRatio)
		fmt.Fprintf(w, "  unique bytes pushed: %s = %d blobs (%s) + %d manifests (%s)\n",
			mib(d.UniqueBytes), d.Blobs, mib(d.BlobBytes), d.Manifests, mib(d.ManifestBytes))
	}
	if l := r.ServerLog; l != nil {
		fmt.Fprintf(w, "\nserver log: %d ERROR lines, %d WARN lines\n", l.ErrorLines, l.WarnLines)
		for _, e := range l.FirstErrors {
			fmt.Fprintf(w, "  %s\n", e)
		}
	}

	fmt.Fprintln(w, "\ntargets:")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  TARGET\tGOAL\tMEASURED\tSTATUS")
	for _, t := range r.Targets {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", t.Name, t.Goal, t.Measured, t.Status)
	}
	tw.Flush()
	if len(r.Notes) > 0 {
		fmt.Fprintln(w, "\nnotes:")
		for _, n := range r.Notes {
			fmt.Fprintf(w, "  %s\n", n)
		}
	}
	if len(r.Errors) > 0 {
		fmt.Fprintln(w, "\nerrors:")
		for _, e := range r.Errors {
			fmt.Fprintf(w, "  %s\n", e)
		}
	}
}
