// Package cron parses five-field cron schedules (minute hour day-of-month
// month day-of-week, with *, lists, ranges, steps and names, or @hourly,
// @daily, @midnight, @weekly, @monthly, @yearly) and finds their next time,
// in UTC. The parsing and the search are github.com/robfig/cron/v3's; this
// package fixes its options for acre: no seconds field, no time zone prefix
// and no @every (a schedule is a calendar rule, evaluated in UTC), and a
// day of week of 7 means Sunday as in most crons.
package cron

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	robfig "github.com/robfig/cron/v3"
)

// Schedule is a parsed cron expression. The zero Schedule never fires.
type Schedule struct{ spec robfig.Schedule }

// fiveFields is the standard cron grammar, with the @ descriptors.
var fiveFields = robfig.NewParser(robfig.Minute | robfig.Hour | robfig.Dom | robfig.Month | robfig.Dow | robfig.Descriptor)

// Parse parses "m h dom mon dow" or a descriptor such as @daily.
func Parse(spec string) (Schedule, error) {
	spec = strings.TrimSpace(spec)
	if strings.HasPrefix(spec, "@every") || strings.HasPrefix(spec, "TZ=") || strings.HasPrefix(spec, "CRON_TZ=") {
		return Schedule{}, fmt.Errorf("cron %q: want five fields (minute hour day month weekday) in UTC", spec)
	}
	if !strings.HasPrefix(spec, "@") {
		f := strings.Fields(spec)
		if len(f) != 5 {
			return Schedule{}, fmt.Errorf("cron %q: want five fields (minute hour day month weekday)", spec)
		}
		f[4] = sevenIsSunday(f[4])
		spec = strings.Join(f, " ")
	}
	s, err := fiveFields.Parse(spec)
	if err != nil {
		return Schedule{}, fmt.Errorf("cron %q: %w", spec, err)
	}
	return Schedule{s}, nil
}

// sevenIsSunday rewrites day of week 7 (Sunday, as most crons allow) to 0,
// the library's Sunday: "7" and "7-7" become "0"; "a-7/s" becomes "a-6/s"
// plus "0" when the step lands on 7. Anything it cannot read is left for
// the parser to reject.
func sevenIsSunday(field string) string {
	items := strings.Split(field, ",")
	for i, item := range items {
		rng, step, hasStep := strings.Cut(item, "/")
		lo, hi, isRange := strings.Cut(rng, "-")
		s := 1
		if hasStep {
			n, err := strconv.Atoi(step)
			if err != nil || n < 1 {
				continue
			}
			s = n
		}
		switch {
		case lo == "7" && (!isRange || hi == "7"):
			items[i] = "0"
		case isRange && hi == "7":
			items[i] = lo + "-6"
			if hasStep {
				items[i] += "/" + step
			}
			if n, err := strconv.Atoi(lo); err == nil && n >= 0 && n <= 7 && (7-n)%s == 0 {
				items[i] += ",0"
			}
		}
	}
	return strings.Join(items, ",")
}

// Next returns the first time after t (to the minute) the schedule fires,
// in UTC, or the zero time if it never does within five years.
func (s Schedule) Next(t time.Time) time.Time {
	if s.spec == nil {
		return time.Time{}
	}
	return s.spec.Next(t.UTC())
}
