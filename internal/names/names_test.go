package names

import (
	"regexp"
	"strings"
	"testing"
)

// TestMatchesCountedForm checks Pattern against the counted regular
// expression it stands for, on names around both length bounds.
func TestMatchesCountedForm(t *testing.T) {
	for _, tt := range []struct {
		counted string
		p       Pattern
		alpha   string
	}{
		{`^[a-zA-Z0-9-]{5,50}$`, New(`^[a-zA-Z0-9-]*$`, 5, 50), "aZ9-"},
		{`^[A-Za-z0-9][A-Za-z0-9._@+-]{0,127}$`, New(`^[A-Za-z0-9][A-Za-z0-9._@+-]*$`, 1, 128), "a._@+-"},
		{`^[a-zA-Z][a-zA-Z0-9-]{1,22}[a-zA-Z0-9]$`, New(`^[a-zA-Z][a-zA-Z0-9-]*[a-zA-Z0-9]$`, 3, 24), "a-9"},
		{`^[a-z0-9][a-z0-9-]{0,58}[a-z0-9]$|^[a-z0-9]$`, New(`^[a-z0-9]([a-z0-9-]*[a-z0-9])?$`, 1, 60), "a-"},
	} {
		re := regexp.MustCompile(tt.counted)
		var cands []string
		for n := range 131 {
			for _, c := range tt.alpha + "é/ " {
				s := strings.Repeat(string(tt.alpha[0]), n)
				cands = append(cands, s+string(c), string(c)+s, s)
			}
		}
		cands = append(cands, "", "-abc", "abc-", "a--b", "a\nb")
		for _, s := range cands {
			if got, want := tt.p.Match(s), re.MatchString(s); got != want {
				t.Errorf("%s: Match(%q) = %v, want %v", tt.counted, s, got, want)
			}
		}
	}
}
