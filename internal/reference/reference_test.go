package reference

import (
	"regexp"
	"strings"
	"testing"
)

func TestValidateName(t *testing.T) {
	tests := []struct {
		name string
		ok   bool
	}{
		{"a", true},
		{"library/ubuntu", true},
		{"a/b/c/d", true},
		{"my-app.v2/under__score", true},
		{"a--b", true},
		{"", false},
		{"A", false},
		{"a/", false},
		{"/a", false},
		{"a//b", false},
		{"a/../b", false},
		{"a/./b", false},
		{"..", false},
		{"a_", false},
		{"a___b", false},
		{"-a", false},
		{"a:b", false},
		{strings.Repeat("a", MaxNameLength), true},
		{strings.Repeat("a", MaxNameLength+1), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := ValidateName(tt.name); (err == nil) != tt.ok {
				t.Fatalf("ValidateName(%q) = %v, want ok=%v", tt.name, err, tt.ok)
			}
		})
	}
}

func TestValidateTag(t *testing.T) {
	tests := []struct {
		tag string
		ok  bool
	}{
		{"latest", true},
		{"v1.0.0-rc_1", true},
		{"_x", true},
		{".x", false},
		{"-x", false},
		{"", false},
		{"a/b", false},
		{strings.Repeat("a", 128), true},
		{strings.Repeat("a", 129), false},
	}
	for _, tt := range tests {
		if err := ValidateTag(tt.tag); (err == nil) != tt.ok {
			t.Errorf("ValidateTag(%q) = %v, want ok=%v", tt.tag, err, tt.ok)
		}
	}
}

func TestParseDigest(t *testing.T) {
	tests := []struct {
		in string
		ok bool
	}{
		{"sha256:" + strings.Repeat("a", 64), true},
		{"sha512:" + strings.Repeat("b", 128), true},
		{"sha256:" + strings.Repeat("A", 64), false},
		{"sha256:abc", false},
		{"md5:" + strings.Repeat("a", 32), false},
		{"sha256", false},
		{"", false},
	}
	for _, tt := range tests {
		if _, err := ParseDigest(tt.in); (err == nil) != tt.ok {
			t.Errorf("ParseDigest(%q) = %v, want ok=%v", tt.in, err, tt.ok)
		}
	}
}

func FuzzReference(f *testing.F) {
	for _, s := range []string{"a/b", "library/ubuntu", "..", "a//b", "sha256:" + strings.Repeat("a", 64), "v1.0", "A",
		"a__b", "a___b", "a--b", "a-", "_a", "a.b.c", "a._b", strings.Repeat("t", 128), strings.Repeat("t", 129), "-t", ".t", "_t"} {
		f.Add(s)
	}
	component, tagRe := regexp.MustCompile(componentPattern), regexp.MustCompile(tagPattern)
	f.Fuzz(func(t *testing.T, s string) {
		if validComponent(s) != component.MatchString(s) {
			t.Fatalf("component %q: scanner says %v, grammar %v", s, validComponent(s), component.MatchString(s))
		}
		if validTag(s) != tagRe.MatchString(s) {
			t.Fatalf("tag %q: scanner says %v, grammar %v", s, validTag(s), tagRe.MatchString(s))
		}
		if ValidateName(s) == nil {
			if len(s) > MaxNameLength || strings.Contains(s, "..") || strings.Contains(s, "//") {
				t.Fatalf("accepted bad name %q", s)
			}
		}
		if ValidateTag(s) == nil && (len(s) > 128 || strings.ContainsAny(s, "/:@")) {
			t.Fatalf("accepted bad tag %q", s)
		}
		if d, err := ParseDigest(s); err == nil && d.String() != s {
			t.Fatalf("digest %q round-trips to %q", s, d)
		}
	})
}
