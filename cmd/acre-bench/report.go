package main

import (
	"fmt"
	"io"
	"io/fs"
	"math"
	"path/filepath"
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
	SHA256MBps    float64        `json:"sha256_mbps"`     // measured first
	SHA256MBpsEnd float64        `json:"sha256_mbps_end"` // measured again at the end
	SHA256MBpsRef float64        `json:"sha256_mbps_ref"` // the faster of the two; ratios use it
	LargePush     *Throughput    `json:"large_push,omitempty"`
	LargePull     *Throughput    `json:"large_pull,omitempty"`
	SmallPush     *ImagesResult  `json:"small_push,omitempty"`
	SmallPull     *ImagesResult  `json:"small_pull,omitempty"`
	ManifestLoad  []*LoadResult  `json:"manifest_load,omitempty"`
	Memory        *MemoryResult  `json:"memory,omitempty"`
	Disk          *DiskResult    `json:"disk,omitempty"`
	Targets       []Target       `json:"targets"`
	ServerLog     *ServerLog     `json:"server_log,omitempty"`
	Errors        []string       `json:"errors,omitempty"`
}

// Throughput is a bulk transfer; MB are 10^6 bytes.
type Throughput struct {
	Bytes            int64    `json:"bytes"`
	Seconds          float64  `json:"seconds"`
	MBps             float64  `json:"mbps"`
	RatioToSHA256    float64  `json:"ratio_to_sha256"`
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

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

func verdict(ok bool) string {
	if ok {
		return "PASS"
	}
	return "MISS"
}

// judge fills r.Targets from the measurements.
func (r *Results) judge() {
	add := func(name, goal, measured, status string) {
		r.Targets = append(r.Targets, Target{name, goal, measured, status})
	}
	na := func(name, goal string) { add(name, goal, "not measured", "n/a") }
	if t := r.LargePush; t != nil {
		add("large push", ">= 0.55 x sha256", fmt.Sprintf("%.2fx (%.0f MB/s)", t.RatioToSHA256, t.MBps), verdict(t.RatioToSHA256 >= 0.55))
	} else {
		na("large push", ">= 0.55 x sha256")
	}
	if t := r.LargePull; t != nil {
		add("large pull", ">= 0.9 x sha256", fmt.Sprintf("%.2fx (%.0f MB/s)", t.RatioToSHA256, t.MBps), verdict(t.RatioToSHA256 >= 0.9))
	} else {
		na("large pull", ">= 0.9 x sha256")
	}
	if s := r.SmallPush; s != nil {
		add("small image push", ">= 300 images/s", fmt.Sprintf("%.0f images/s", s.ImagesPerSec), verdict(s.ImagesPerSec >= 300))
	} else {
		na("small image push", ">= 300 images/s")
	}
	for _, l := range r.ManifestLoad {
		name := fmt.Sprintf("manifest CPU, %d clients", l.Clients)
		if l.ServerCPUPerRequestMs == nil {
			na(name, "<= 0.08 ms/request")
			continue
		}
		add(name, "<= 0.08 ms/request", fmt.Sprintf("%.3f ms", *l.ServerCPUPerRequestMs), verdict(*l.ServerCPUPerRequestMs <= 0.08))
	}
	if m := r.Memory; m != nil && m.HWMAfterLargePush > 0 {
		goal := "< 100 MiB pushing 1 GiB"
		measured := mib(m.HWMAfterLargePush) + " VmHWM"
		if m.LargePushBytes != 1<<30 {
			measured += fmt.Sprintf(" (pushed %s, not 1 GiB)", mib(m.LargePushBytes))
		}
		add("server peak RSS", goal, measured, verdict(m.HWMAfterLargePush < 100<<20))
	} else {
		na("server peak RSS", "< 100 MiB pushing 1 GiB")
	}
	if d := r.Disk; d != nil && d.UniqueBytes > 0 {
		dev := max(math.Abs(d.ApparentRatio-1), math.Abs(d.BlockRatio-1))
		add("disk vs unique bytes", "within 3% (apparent and blocks)",
			fmt.Sprintf("%.3fx apparent, %.3fx blocks", d.ApparentRatio, d.BlockRatio), verdict(dev <= 0.03))
	} else {
		na("disk vs unique bytes", "within 3%")
	}
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
	fmt.Fprintf(w, "  ratios use the faster, %.0f MB/s; MB = 10^6 bytes\n\n", r.SHA256MBpsRef)

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
	for _, l := range r.ManifestLoad {
		per := "-"
		if l.ServerCPUPerRequestMs != nil {
			per = fmt.Sprintf("%.3f ms", *l.ServerCPUPerRequestMs)
		}
		fmt.Fprintf(tw, "manifest HEAD/GET, %d clients\t%.0f req/s, p50 %.2f ms, p99 %.2f ms, server CPU/req %s, %d errors\t%.2fs\t%s\t%.2fs\n",
			l.Clients, l.RPS, l.P50Ms, l.P99Ms, per, l.Errors, l.Seconds, cpuStr(l.ServerCPUSeconds), l.ClientCPUSeconds)
	}
	tw.Flush()

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
	if len(r.Errors) > 0 {
		fmt.Fprintln(w, "\nerrors:")
		for _, e := range r.Errors {
			fmt.Fprintf(w, "  %s\n", e)
		}
	}
}
