package tasks

import (
	"errors"
	"reflect"
	"testing"
)

func TestParseACB(t *testing.T) {
	f, err := ParseACB([]byte(`version: v1.1.0
stepTimeout: 100
steps:
  - build: -t app:1 .
  - id: a
    cmd: busybox echo hi
    when: ["-"]
  - id: b
    push: app:1
    when: [acb_step_0, a]
    timeout: 5
`))
	if err != nil {
		t.Fatal(err)
	}
	if f.Steps[0].ID != "acb_step_0" || f.Steps[0].Timeout != 100 || len(f.Steps[0].When) != 0 {
		t.Errorf("step 0: %+v", f.Steps[0])
	}
	if !reflect.DeepEqual(f.Steps[1].When, []string{"-"}) || !reflect.DeepEqual([]string(f.Steps[2].Push), []string{"app:1"}) ||
		f.Steps[2].Timeout != 5 {
		t.Errorf("steps: %+v", f.Steps)
	}
	bad := map[string]string{
		"empty":           ``,
		"no steps":        `version: v1.1.0`,
		"unknown key":     "steps:\n  - cmd: x y\n    bogus: 1\n",
		"two kinds":       "steps:\n  - cmd: x y\n    build: .\n",
		"no kind":         "steps:\n  - id: x\n",
		"duplicate id":    "steps:\n  - id: a\n    cmd: x y\n  - id: a\n    cmd: x y\n",
		"when later step": "steps:\n  - id: a\n    cmd: x y\n    when: [b]\n  - id: b\n    cmd: x y\n",
		"key vault":       "secrets:\n  - id: s\n    keyvault: https://kv\nsteps:\n  - cmd: x y\n",
		"privileged":      "steps:\n  - cmd: x y\n    privileged: true\n",
		"network":         "steps:\n  - cmd: x y\n    network: custom\n",
		"retries":         "steps:\n  - cmd: x y\n    retries: 99\n",
	}
	for name, y := range bad {
		if _, err := ParseACB([]byte(y)); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: got %v, want ErrInvalid", name, err)
		}
	}
}

func TestSplitArgs(t *testing.T) {
	tests := map[string][]string{
		`-t a:1 -f "my file" .`:  {"-t", "a:1", "-f", "my file", "."},
		`sh -c 'echo "$X" && y'`: {"sh", "-c", `echo "$X" && y`},
		`a\ b c`:                 {"a b", "c"},
		`  `:                     nil,
	}
	for in, want := range tests {
		got, err := splitArgs(in)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("splitArgs(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := splitArgs(`echo "open`); err == nil {
		t.Errorf("an unterminated quote was accepted")
	}
}

// FuzzParseACB: any input parses or fails with ErrInvalid; never a panic.
func FuzzParseACB(f *testing.F) {
	f.Add([]byte("steps:\n  - cmd: busybox echo hi\n"))
	f.Add([]byte("version: v1.1.0\nsteps:\n  - build: -t a .\n  - push: [a]\n    when: [\"-\"]\n"))
	f.Add([]byte("steps: [{cmd: x, when: [y]}]"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if _, err := ParseACB(b); err != nil && !errors.Is(err, ErrInvalid) {
			t.Fatalf("error not marked invalid: %v", err)
		}
		_, _ = splitArgs(string(b))
	})
}
