package webhook

import "testing"

func TestMatchScope(t *testing.T) {
	tests := []struct {
		scope, repo, tag string
		want             bool
	}{
		{"", "any/repo", "v1", true},
		{"", "any/repo", "", true},
		{"api:*", "api", "v1", true},
		{"api:*", "api", "", true},
		{"api:*", "web", "v1", false},
		{"api:v1", "api", "v1", true},
		{"api:v1", "api", "v2", false},
		{"api:v1", "api", "", false},
		{"api", "api", "latest", true},
		{"api", "api", "v1", false},
		{"team/*:*", "team/a/b", "x", true},
		{"team/*:*", "other/a", "x", false},
		{"*:prod-*", "x/y", "prod-1", true},
		{"*:prod-*", "x/y", "dev-1", false},
		{"a[:*", "a[", "x", true},
		{"a*c*e:*", "abcde", "x", true},
		{"a*c*e:*", "abcd", "x", false},
		{"*:*", "r", "t", true},
	}
	for _, tt := range tests {
		if got := matchScope(tt.scope, tt.repo, tt.tag); got != tt.want {
			t.Errorf("matchScope(%q, %q, %q) = %v, want %v", tt.scope, tt.repo, tt.tag, got, tt.want)
		}
	}
}
