package tasks

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"go.yaml.in/yaml/v3"
)

// ACB is an ACR Tasks YAML file (acb.yaml), as acre runs it.
type ACB struct {
	Version          string      `yaml:"version"`
	StepTimeout      int         `yaml:"stepTimeout"`
	WorkingDirectory string      `yaml:"workingDirectory"`
	Env              []string    `yaml:"env"`
	Secrets          []SecretRef `yaml:"secrets"`
	Volumes          []Volume    `yaml:"volumes"`
	Networks         []any       `yaml:"networks"`
	Alias            any         `yaml:"alias"`
	Steps            []Step      `yaml:"steps"`
}

// Step is one step of an ACB file: exactly one of Build, Push and Cmd.
type Step struct {
	ID                              string        `yaml:"id"`
	Build                           string        `yaml:"build"`
	Push                            stringList    `yaml:"push"`
	Cmd                             string        `yaml:"cmd"`
	When                            []string      `yaml:"when"`
	Env                             []string      `yaml:"env"`
	EntryPoint                      string        `yaml:"entryPoint"`
	WorkingDirectory                string        `yaml:"workingDirectory"`
	Timeout                         int           `yaml:"timeout"`
	Retries                         int           `yaml:"retries"`
	RetryDelay                      int           `yaml:"retryDelay"`
	StartDelay                      int           `yaml:"startDelay"`
	IgnoreErrors                    bool          `yaml:"ignoreErrors"`
	Detach                          bool          `yaml:"detach"`
	User                            string        `yaml:"user"`
	Network                         string        `yaml:"network"`
	Keep                            bool          `yaml:"keep"`
	Isolation                       string        `yaml:"isolation"`
	Privileged                      bool          `yaml:"privileged"`
	Pull                            bool          `yaml:"pull"`
	Repeat                          int           `yaml:"repeat"`
	DisableWorkingDirectoryOverride bool          `yaml:"disableWorkingDirectoryOverride"`
	Expose                          []string      `yaml:"expose"`
	Ports                           []string      `yaml:"ports"`
	VolumeMounts                    []VolumeMount `yaml:"volumeMounts"`
	Secret                          any           `yaml:"secret"`
}

// stringList accepts a YAML string or list of strings.
type stringList []string

func (l *stringList) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		*l = []string{n.Value}
		return nil
	}
	var s []string
	if err := n.Decode(&s); err != nil {
		return err
	}
	*l = s
	return nil
}

// ParseACB parses (after rendering the run variables) an ACB file
// strictly: unknown keys are errors; secrets and volumes are checked (and
// volumes decoded); what acre cannot do (custom networks, aliases,
// privileged steps, ports) is refused with a message rather than ignored.
func ParseACB(b []byte) (*ACB, error) {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	var f ACB
	if err := dec.Decode(&f); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, invalid("task YAML: empty")
		}
		return nil, invalid("task YAML: %v", err)
	}
	if err := checkSecrets(f.Secrets); err != nil {
		return nil, err
	}
	if err := checkVolumes(f.Volumes); err != nil {
		return nil, err
	}
	switch {
	case len(f.Networks) > 0:
		return nil, invalid("task YAML: custom networks are not supported")
	case f.Alias != nil:
		return nil, invalid("task YAML: aliases are not supported")
	case len(f.Steps) == 0:
		return nil, invalid("task YAML: no steps")
	}
	if f.StepTimeout == 0 {
		f.StepTimeout = 600
	}
	ids := map[string]bool{}
	for i := range f.Steps {
		s := &f.Steps[i]
		if s.ID == "" {
			s.ID = fmt.Sprintf("acb_step_%d", i)
		}
		if ids[s.ID] || s.ID == "-" {
			return nil, invalid("task YAML: step id %q is used twice (or is -)", s.ID)
		}
		ids[s.ID] = true
		kinds := 0
		for _, set := range []bool{s.Build != "", len(s.Push) > 0, s.Cmd != ""} {
			if set {
				kinds++
			}
		}
		if kinds != 1 {
			return nil, invalid("task YAML: step %s: give exactly one of build, push and cmd", s.ID)
		}
		if s.Privileged || s.Secret != nil || len(s.Ports) > 0 || len(s.Expose) > 0 {
			return nil, invalid("task YAML: step %s: privileged, secret, ports and expose are not supported", s.ID)
		}
		if err := checkMounts(s, f.Volumes); err != nil {
			return nil, err
		}
		if s.Network != "" && s.Network != "none" && s.Network != "host" {
			return nil, invalid("task YAML: step %s: network %q: use none or host", s.ID, s.Network)
		}
		if s.Timeout == 0 {
			s.Timeout = f.StepTimeout
		}
		if s.Timeout < 0 || s.Retries < 0 || s.RetryDelay < 0 || s.StartDelay < 0 || s.Retries > 10 || s.Repeat < 0 || s.Repeat > 10 {
			return nil, invalid("task YAML: step %s: timeout, retries (at most 10), repeat (at most 10) and delays must not be negative", s.ID)
		}
		if len(s.When) == 0 && i > 0 {
			s.When = []string{f.Steps[i-1].ID}
		}
		for _, w := range s.When {
			if w != "-" && !ids[w] {
				return nil, invalid("task YAML: step %s: when names %q, which is not an earlier step", s.ID, w)
			}
		}
	}
	return &f, nil
}

// splitArgs splits a command line as a shell would for simple quoting
// ('...', "..." and backslash escapes), without expansion.
func splitArgs(s string) ([]string, error) {
	var out []string
	var cur strings.Builder
	inWord := false
	var quote rune
	esc := false
	for _, r := range s {
		switch {
		case esc:
			cur.WriteRune(r)
			esc = false
		case r == '\\' && quote != '\'':
			esc, inWord = true, true
		case quote != 0:
			if r == quote {
				quote = 0
			} else {
				cur.WriteRune(r)
			}
		case r == '\'' || r == '"':
			quote, inWord = r, true
		case r == ' ' || r == '\t' || r == '\n':
			if inWord {
				out = append(out, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	if quote != 0 || esc {
		return nil, fmt.Errorf("unterminated quote or escape in %q", s)
	}
	if inWord {
		out = append(out, cur.String())
	}
	return out, nil
}
