package tasks

import (
	"testing"
)

func TestRender(t *testing.T) {
	v := Vars{Run: RunVars{ID: "ca1", Registry: "127.0.0.1:5000", RegistryName: "acre", Date: "20260101-000000z"},
		Values: map[string]string{"tag": "v2"}}
	tests := []struct{ in, want, err string }{
		{"app:{{.Run.ID}}", "app:ca1", ""},
		{"$Registry/app:$ID", "127.0.0.1:5000/app:ca1", ""},
		{"{{.Run.Registry}}/app:{{.Values.tag}}", "127.0.0.1:5000/app:v2", ""},
		{"app:{{.Values.missing}}", "", "missing"},
		{"app:{{.Run.ID", "", "unclosed"},
		{"plain:1", "plain:1", ""},
	}
	for _, tc := range tests {
		got, err := Render(tc.in, v)
		if tc.err != "" {
			if err == nil {
				t.Errorf("Render(%q) = %q, want an error", tc.in, got)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("Render(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestSplitRef(t *testing.T) {
	tests := []struct {
		in   string
		want ImageRef
	}{
		{"127.0.0.1:5000/base/busybox:1", ImageRef{Registry: "127.0.0.1:5000", Repository: "base/busybox", Tag: "1"}},
		{"busybox", ImageRef{Registry: "docker.io", Repository: "busybox"}},
		{"library/node:20@sha256:abc", ImageRef{Registry: "docker.io", Repository: "library/node", Tag: "20", Digest: "sha256:abc"}},
		{"localhost/x:y", ImageRef{Registry: "localhost", Repository: "x", Tag: "y"}},
		{"reg.example:443/a/b", ImageRef{Registry: "reg.example:443", Repository: "a/b"}},
	}
	for _, tc := range tests {
		if got := SplitRef(tc.in); got != tc.want {
			t.Errorf("SplitRef(%q) = %+v, want %+v", tc.in, got, tc.want)
		}
	}
}

func TestRunName(t *testing.T) {
	for _, id := range []int64{1, 35, 36, 1 << 40} {
		got, ok := ParseRunName(RunName(id))
		if !ok || got != id {
			t.Errorf("round trip of %d: %s -> %d %v", id, RunName(id), got, ok)
		}
	}
	for _, bad := range []string{"", "ca", "cb1", "ca-1", "ca0", "ca!"} {
		if _, ok := ParseRunName(bad); ok {
			t.Errorf("ParseRunName(%q) accepted", bad)
		}
	}
}

func TestSyntaxAndGitURL(t *testing.T) {
	for ref, builtin := range map[string]bool{"docker/dockerfile:1": true, "docker.io/docker/dockerfile:1.7": true,
		"docker/dockerfile": true, "docker/dockerfile:1-labs": false, "127.0.0.1:5000/frontends/dockerfile:1": false} {
		if builtinSyntax.MatchString(ref) != builtin {
			t.Errorf("builtin %q: %v", ref, !builtin)
		}
	}
	for u, git := range map[string]bool{"https://h/o/r.git#main:src": true, "http://127.0.0.1:1/r.git": true,
		"git@github.com:o/r.git": true, "https://h/ctx.tar.gz": false, "/dev/null": false} {
		if IsGitURL(u) != git {
			t.Errorf("IsGitURL(%q) = %v", u, !git)
		}
	}
	repo, ref, folder := SplitGitURL("https://h/o/r.git#main:docker/app")
	if repo != "https://h/o/r.git" || ref != "main" || folder != "docker/app" {
		t.Errorf("SplitGitURL: %q %q %q", repo, ref, folder)
	}
}
