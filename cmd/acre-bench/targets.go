package main

import (
	"fmt"
	"math"
)

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
	const authGoal = "<= 0.02 ms/request extra vs auth off"
	for _, a := range r.AuthCost {
		name := fmt.Sprintf("bearer auth CPU, %d clients", a.Clients)
		measured := fmt.Sprintf("%+.4f ms (%.4f %s vs %.4f off)", a.ExtraMs, a.OnMs, a.Auth, a.OffMs)
		if a.Auth != authBearer {
			add(name, authGoal, measured+"; not bearer", "n/a")
			continue
		}
		add(name, authGoal, measured, verdict(a.ExtraMs <= 0.02))
	}
	if len(r.AuthCost) == 0 {
		na("bearer auth CPU", authGoal)
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
