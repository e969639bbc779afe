package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
)

// column is one registry's results in a side-by-side table.
type column struct {
	name string
	r    *Results
}

// loadColumns reads "name=results.json,..." as written by --json.
func loadColumns(spec string) ([]column, error) {
	var cols []column
	for item := range strings.SplitSeq(spec, ",") {
		name, file, ok := strings.Cut(strings.TrimSpace(item), "=")
		if !ok || name == "" || file == "" {
			return nil, fmt.Errorf("bad --table entry %q: want name=results.json", item)
		}
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, err
		}
		r := &Results{}
		if err := json.Unmarshal(b, r); err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
		cols = append(cols, column{name, r})
	}
	return cols, nil
}

// printTable writes one table with a column per registry. Ratios to sha256
// and to the disk's durable write rate use the figures measured in the
// same run as the registry's own; the last columns compare the first
// registry with each other one (above 1 is better for the first).
func printTable(w io.Writer, cols []column) {
	type row struct {
		name   string
		cell   func(*Results) (string, float64, bool) // text, value, ok
		higher bool                                   // a higher value is better
	}
	ld := func(r *Results, n int) *LoadResult {
		for _, l := range r.ManifestLoad {
			if l.Clients == n {
				return l
			}
		}
		return nil
	}
	var clients []int
	for _, l := range cols[0].r.ManifestLoad {
		clients = append(clients, l.Clients)
	}
	rows := []row{
		{"sha256 (this run)", func(r *Results) (string, float64, bool) {
			return fmt.Sprintf("%.0f MB/s", r.SHA256MBpsRef), r.SHA256MBpsRef, r.SHA256MBpsRef > 0
		}, true},
		{"disk write+fdatasync (this run)", func(r *Results) (string, float64, bool) {
			return fmt.Sprintf("%.0f MB/s", r.DiskWriteMBps), r.DiskWriteMBps, r.DiskWriteMBps > 0
		}, true},
		{"large push", func(r *Results) (string, float64, bool) {
			t := r.LargePush
			if t == nil {
				return "", 0, false
			}
			return fmt.Sprintf("%.0f MB/s (%.2fx sha256, %.2fx disk)", t.MBps, t.RatioToSHA256, t.RatioToDisk), t.MBps, true
		}, true},
		{"large pull", func(r *Results) (string, float64, bool) {
			t := r.LargePull
			if t == nil {
				return "", 0, false
			}
			return fmt.Sprintf("%.0f MB/s (%.2fx sha256)", t.MBps, t.RatioToSHA256), t.MBps, true
		}, true},
		{"small push", func(r *Results) (string, float64, bool) {
			s := r.SmallPush
			if s == nil {
				return "", 0, false
			}
			return fmt.Sprintf("%.0f img/s (%d images)", s.ImagesPerSec, s.Images), s.ImagesPerSec, true
		}, true},
		{"small pull", func(r *Results) (string, float64, bool) {
			s := r.SmallPull
			if s == nil {
				return "", 0, false
			}
			return fmt.Sprintf("%.0f img/s", s.ImagesPerSec), s.ImagesPerSec, true
		}, true},
	}
	for _, n := range clients {
		rows = append(rows, row{fmt.Sprintf("manifest HEAD/GET CPU/req, %d clients", n), func(r *Results) (string, float64, bool) {
			l := ld(r, n)
			if l == nil || l.ServerCPUPerRequestMs == nil {
				return "", 0, false
			}
			return fmt.Sprintf("%.3f ms (%.0f req/s, %s)", *l.ServerCPUPerRequestMs, l.RPS, l.Auth), *l.ServerCPUPerRequestMs, true
		}, false})
	}
	rows = append(rows,
		row{"peak RSS (VmHWM, whole run)", func(r *Results) (string, float64, bool) {
			if r.Memory == nil || r.Memory.HWMEnd == 0 {
				return "", 0, false
			}
			return mib(r.Memory.HWMEnd), float64(r.Memory.HWMEnd), true
		}, false},
		row{"disk / unique bytes", func(r *Results) (string, float64, bool) {
			if r.Disk == nil || r.Disk.UniqueBytes == 0 {
				return "", 0, false
			}
			v := max(r.Disk.ApparentRatio, r.Disk.BlockRatio)
			return fmt.Sprintf("%.3f", v), v, true
		}, false},
	)

	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprint(tw, "METRIC")
	for _, c := range cols {
		fmt.Fprintf(tw, "\t%s", strings.ToUpper(c.name))
	}
	for _, c := range cols[1:] {
		fmt.Fprintf(tw, "\t%s/%s", cols[0].name, c.name)
	}
	fmt.Fprintln(tw)
	for _, rw := range rows {
		fmt.Fprint(tw, rw.name)
		vals := make([]float64, len(cols))
		oks := make([]bool, len(cols))
		for i, c := range cols {
			text, v, ok := rw.cell(c.r)
			vals[i], oks[i] = v, ok
			if !ok {
				text = "-"
			}
			fmt.Fprintf(tw, "\t%s", text)
		}
		for i := 1; i < len(cols); i++ {
			if !oks[0] || !oks[i] || vals[i] == 0 || vals[0] == 0 || strings.HasSuffix(rw.name, "(this run)") {
				fmt.Fprint(tw, "\t-")
				continue
			}
			ratio := vals[0] / vals[i]
			if !rw.higher {
				ratio = vals[i] / vals[0]
			}
			fmt.Fprintf(tw, "\t%.2fx", ratio)
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()
	fmt.Fprintln(w, "\nacre/peer columns: above 1.00x means acre is better (faster, or less CPU, memory or disk).")
}
