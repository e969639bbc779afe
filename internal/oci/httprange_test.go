package oci

import "testing"

func TestParseRange(t *testing.T) {
	tests := []struct {
		h          string
		size       int64
		start, end int64
		ok         bool
		bad        bool
	}{
		{"bytes=0-9", 100, 0, 9, true, false},
		{"bytes=10-", 100, 10, 99, true, false},
		{"bytes=-10", 100, 90, 99, true, false},
		{"bytes=-200", 100, 0, 99, true, false},
		{"bytes=90-200", 100, 90, 99, true, false},
		{"bytes=100-", 100, 0, 0, false, true},
		{"bytes=-0", 100, 0, 0, false, true},
		{"bytes=5-1", 100, 0, 0, false, true},
		{"bytes=500-0", 2048, 0, 0, false, true},
		{"bytes=0-1,5-6", 100, 0, 0, false, false},
		{"items=0-1", 100, 0, 0, false, false},
		{"bytes=x-1", 100, 0, 0, false, false},
		{"", 100, 0, 0, false, false},
		{"bytes=0-", 0, 0, 0, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.h, func(t *testing.T) {
			s, e, ok, err := parseRange(tt.h, tt.size)
			if (err != nil) != tt.bad || ok != tt.ok || (ok && (s != tt.start || e != tt.end)) {
				t.Fatalf("parseRange(%q, %d) = %d, %d, %v, %v", tt.h, tt.size, s, e, ok, err)
			}
		})
	}
}

func TestParseContentRange(t *testing.T) {
	tests := []struct {
		h             string
		start, length int64
		bad           bool
	}{
		{"0-99", 0, 100, false},
		{"100-199", 100, 100, false},
		{"bytes 0-9/10", 0, 10, false},
		{"bytes=5-5", 5, 1, false},
		{"5-4", 5, 0, false},
		{"9-3", 0, 0, true},
		{"-1-5", 0, 0, true},
		{"abc", 0, 0, true},
		{"", 0, 0, true},
	}
	for _, tt := range tests {
		s, n, err := parseContentRange(tt.h)
		if (err != nil) != tt.bad || (!tt.bad && (s != tt.start || n != tt.length)) {
			t.Errorf("parseContentRange(%q) = %d, %d, %v", tt.h, s, n, err)
		}
	}
}

func FuzzParseRange(f *testing.F) {
	for _, s := range []string{"bytes=0-9", "bytes=-5", "bytes=3-", "bytes=0-1,2-3", "bytes=99999999999999999999-"} {
		f.Add(s, int64(100))
	}
	f.Fuzz(func(t *testing.T, h string, size int64) {
		if size < 0 {
			size = -size
		}
		s, e, ok, err := parseRange(h, size)
		if ok && (err != nil || s < 0 || e < s || e >= size) {
			t.Fatalf("parseRange(%q, %d) = %d, %d", h, size, s, e)
		}
		if start, n, err := parseContentRange(h); err == nil && (start < 0 || n < 0) {
			t.Fatalf("parseContentRange(%q) = %d, %d", h, start, n)
		}
	})
}
