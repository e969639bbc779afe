package cron

import (
	"testing"
	"time"
)

func TestNext(t *testing.T) {
	from := time.Date(2026, 11, 23, 17, 42, 30, 0, time.UTC) // a Monday
	tests := []struct {
		spec, want string
	}{
		{"* * * * *", "2026-11-23T17:43:00Z"},
		{"0 1 * * *", "2026-11-24T01:00:00Z"},
		{"*/15 * * * *", "2026-11-23T17:45:00Z"},
		{"30 9 * * 1-5", "2026-11-24T09:30:00Z"},
		{"0 0 1 * *", "2026-12-01T00:00:00Z"},
		{"0 12 * * 0", "2026-11-29T12:00:00Z"},
		{"0 12 * * 7", "2026-11-29T12:00:00Z"},
		{"0 0 29 2 *", "2028-02-29T00:00:00Z"},
		{"5,10 18 * * *", "2026-11-23T18:05:00Z"},
		{"@daily", "2026-11-24T00:00:00Z"},
		{"0 0 13 * 5", "2026-11-27T00:00:00Z"}, // the 13th or a Friday
		{"0 12 * * 6-7", "2026-11-28T12:00:00Z"},
		{"0 12 * * 0-7/7", "2026-11-29T12:00:00Z"},
		{"0 12 * * 7-7", "2026-11-29T12:00:00Z"},
		{"0 12 * * 2-7/5", "2026-11-24T12:00:00Z"}, // Tuesday or Sunday
		{"0 12 * * 2-7/2", "2026-11-24T12:00:00Z"},
		{"0 12 * * SUN", "2026-11-29T12:00:00Z"},
		{"0 0 1 JAN *", "2027-01-01T00:00:00Z"},
		{" @hourly ", "2026-11-23T18:00:00Z"},
		{"@monthly", "2026-12-01T00:00:00Z"},
	}
	for _, tt := range tests {
		s, err := Parse(tt.spec)
		if err != nil {
			t.Fatalf("%s: %v", tt.spec, err)
		}
		if got := s.Next(from).Format(time.RFC3339); got != tt.want {
			t.Errorf("Next(%q) = %s, want %s", tt.spec, got, tt.want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, spec := range []string{"", "* * * *", "60 * * * *", "* 24 * * *", "* * 0 * *", "* * * 13 *", "*/0 * * * *", "a * * * *", "5-1 * * * *", "* * * * 8",
		"* * * * * *", "@every 1h", "TZ=Europe/Paris 0 1 * * *", "CRON_TZ=UTC 0 1 * * *", "@often", "* * * * 7/0"} {
		if _, err := Parse(spec); err == nil {
			t.Errorf("Parse(%q) accepted", spec)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"* * * * *", "*/5 1-3 * * 1,3", "@weekly", "0 0 31 2 *", "0 0 * * 5-7/2", "1 2 3 4 7"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		s, err := Parse(spec)
		if err != nil {
			return
		}
		from := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		if n := s.Next(from); !n.IsZero() && (!n.After(from) || n.Second() != 0 || n.Location() != time.UTC) {
			t.Fatalf("Next(%q) = %v, not after %v", spec, n, from)
		}
	})
}
