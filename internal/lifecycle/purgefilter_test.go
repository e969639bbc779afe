package lifecycle

import (
	"testing"
	"time"
)

func TestSplitFilter(t *testing.T) {
	tests := []struct {
		in, repo, tag string
		ok            bool
	}{
		{"hello-world:.*", "hello-world", ".*", true},
		{"samples/.*:^dev-", "samples/.*", "^dev-", true},
		{"(?i:APP):v1", "(?i:APP)", "v1", true},
		{"app:[[:digit:]]+", "app", "[[:digit:]]+", true},
		{`app:a\:b`, "app", `a\:b`, true},
		{"app:(?!latest$).*", "app", "(?!latest$).*", true},
		{"app", "", "", false},
		{"app:", "", "", false},
		{":v1", "", "", false},
		{"a:b:c", "", "", false},
	}
	for _, tt := range tests {
		r, g, ok := splitFilter(tt.in)
		if ok != tt.ok || r != tt.repo || g != tt.tag {
			t.Errorf("splitFilter(%q) = %q, %q, %v; want %q, %q, %v", tt.in, r, g, ok, tt.repo, tt.tag, tt.ok)
		}
	}
}

// TestPurgeFilterSyntax checks acr purge's syntax: lookahead works, the
// repository expression is anchored, the tag's is not, and a
// catastrophic backtracking expression stops at the timeout.
func TestPurgeFilterSyntax(t *testing.T) {
	f, err := parsePurgeFilter("app:^(?!latest$|stable$).*", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]bool{"app": true, "app2": false, "my/app": false} {
		if got, _ := match(f.repo, name); got != want {
			t.Errorf("repository %q: %v, want %v", name, got, want)
		}
	}
	for tag, want := range map[string]bool{"v1": true, "latest": false, "stable": false, "latest-1": true} {
		if got, _ := match(f.tag, tag); got != want {
			t.Errorf("tag %q: %v, want %v", tag, got, want)
		}
	}
	if _, err := parsePurgeFilter("app:(", time.Minute); err == nil {
		t.Error("an invalid expression was accepted")
	}
	slow, err := parsePurgeFilter("app:^(a+)+$", 10*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := match(slow.tag, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!"); err != errFilterTimeout {
		t.Errorf("catastrophic backtracking: %v, want the filter timeout", err)
	}
}

func FuzzSplitFilter(f *testing.F) {
	for _, s := range []string{"a:b", "(?i:a):b", "a:[[:alpha:]]", `a\::b`, "[:]:x", "a:(?!b)"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, g, ok := splitFilter(s)
		if ok && (r == "" || g == "" || r+":"+g != s) {
			t.Fatalf("splitFilter(%q) = %q, %q", s, r, g)
		}
		_, _ = parsePurgeFilter(s, 10*time.Millisecond)
	})
}
