package tasks

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"text/template"
	"time"
)

// Kinds of run.
const (
	KindBuild = "build" // a Dockerfile build (acre build, or a task with a Dockerfile)
	KindSteps = "steps" // a multi-step YAML (acre run, or a task with a YAML file)
)

// RunSpec is what a run does; it is stored with the run (secret values
// included, which are never shown by the API nor written to logs).
type RunSpec struct {
	Kind     string `json:"kind"`
	Identity string `json:"identity"` // the identity the run pulls and pushes as
	// Source is one of: an uploaded tarball (SourceDigest), a git URL
	// (https://host/org/repo.git#branch:folder) or a tarball URL.
	SourceDigest string            `json:"sourceDigest,omitempty"`
	Context      string            `json:"context,omitempty"`
	GitToken     string            `json:"gitToken,omitempty"` // secret
	Dockerfile   string            `json:"dockerfile,omitempty"`
	Images       []string          `json:"images,omitempty"`
	NoPush       bool              `json:"noPush,omitempty"`
	BuildArgs    map[string]string `json:"buildArgs,omitempty"`
	SecretArgs   map[string]string `json:"secretArgs,omitempty"` // secret
	Target       string            `json:"target,omitempty"`
	Platform     string            `json:"platform,omitempty"`
	NoCache      bool              `json:"noCache,omitempty"`
	Timeout      int               `json:"timeout,omitempty"` // seconds; 0: the default (3600)
	HostNetwork  bool              `json:"hostNetwork,omitempty"`
	// Credentials log in to other registries, by login server (secret).
	Credentials map[string]RegistryCredential `json:"credentials,omitempty"`
	// Steps: the YAML, inline, or read from the source (File).
	YAML   string            `json:"yaml,omitempty"`
	File   string            `json:"file,omitempty"`
	Values map[string]string `json:"values,omitempty"`
	// SecretValues are values too ({{.Values.x}}, acre run --set-secret)
	// whose contents are secret: sealed at rest and masked in the log.
	SecretValues map[string]string `json:"secretValues,omitempty"`
}

// Redacted returns a copy without secret values (their names stay).
func (s RunSpec) Redacted() RunSpec {
	if s.GitToken != "" {
		s.GitToken = "*****"
	}
	s.SecretArgs, s.SecretValues = redactMap(s.SecretArgs), redactMap(s.SecretValues)
	if len(s.Credentials) > 0 {
		m := make(map[string]RegistryCredential, len(s.Credentials))
		for k, c := range s.Credentials {
			m[k] = RegistryCredential{Username: c.Username, Password: "*****"}
		}
		s.Credentials = m
	}
	return s
}

// redactMap returns m's keys with ***** for values.
func redactMap(m map[string]string) map[string]string {
	if len(m) == 0 {
		return m
	}
	out := make(map[string]string, len(m))
	for k := range m {
		out[k] = "*****"
	}
	return out
}

func (s RunSpec) timeout() time.Duration {
	if s.Timeout <= 0 {
		return time.Hour
	}
	return time.Duration(s.Timeout) * time.Second
}

// RunName is a run's ACR-style ID ("ca1", "ca2", ..., "caz", "ca10").
func RunName(id int64) string { return "ca" + strconv.FormatInt(id, 36) }

// ParseRunName returns the numeric id of a run name.
func ParseRunName(name string) (int64, bool) {
	if !strings.HasPrefix(name, "ca") {
		return 0, false
	}
	id, err := strconv.ParseInt(name[2:], 36, 64)
	return id, err == nil && id > 0
}

// Vars are the run variables templates see: {{.Run.ID}}, {{.Values.x}},
// {{.Secrets.x}} (a task YAML's Key Vault secrets).
type Vars struct {
	Run     RunVars
	Values  map[string]string
	Secrets map[string]string
}

// RunVars are ACR's run variables.
type RunVars struct {
	ID, Registry, RegistryName, Date, OS, Architecture, Commit, Branch, TaskName, SharedVolume string
}

// aliases are ACR's $-shorthands for the run variables.
var aliases = []struct{ alias, tmpl string }{
	{"$RegistryName", "{{.Run.RegistryName}}"}, {"$Registry", "{{.Run.Registry}}"}, {"$ID", "{{.Run.ID}}"},
	{"$Date", "{{.Run.Date}}"}, {"$Commit", "{{.Run.Commit}}"}, {"$Branch", "{{.Run.Branch}}"},
	{"$TaskName", "{{.Run.TaskName}}"}, {"$SharedVolume", "{{.Run.SharedVolume}}"},
	{"$OS", "{{.Run.OS}}"}, {"$Architecture", "{{.Run.Architecture}}"},
}

// Render expands the $-aliases and the template with v. A missing value
// is an error, not an empty string.
func Render(s string, v Vars) (string, error) { return render(s, v, false) }

// render is Render; lenient renders a missing value as "".
func render(s string, v Vars, lenient bool) (string, error) {
	for _, a := range aliases {
		s = strings.ReplaceAll(s, a.alias, a.tmpl)
	}
	if !strings.Contains(s, "{{") {
		return s, nil
	}
	missing := "missingkey=error"
	if lenient {
		missing = "missingkey=zero"
	}
	t, err := template.New("").Option(missing).Parse(s)
	if err != nil {
		return "", fmt.Errorf("template %q: %w", s, err)
	}
	var b bytes.Buffer
	if err := t.Execute(&b, v); err != nil {
		return "", fmt.Errorf("template %q: %w", s, err)
	}
	return b.String(), nil
}
