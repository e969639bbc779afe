package tasks

import (
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/acre-project/acre/internal/names"

	"go.yaml.in/yaml/v3"
)

// SecretRef is an entry of a task YAML's secrets: a secret of acre's own
// Key Vault (keyvault: https://<vault>.vault.<domain>/secrets/<name>[/<version>]),
// read when the run starts as the run's identity, which needs Key Vault
// Secrets User on the vault. ClientID, when set, must name that identity.
// The YAML sees the value as {{.Secrets.<id>}}; the log never shows it.
type SecretRef struct {
	ID       string `yaml:"id"`
	KeyVault string `yaml:"keyvault"`
	ClientID string `yaml:"clientID"`
}

// Volume is an entry of a task YAML's volumes: a secret volume whose
// files (name -> base64 content) cmd steps mount with volumeMounts.
type Volume struct {
	Name   string            `yaml:"name"`
	Secret map[string]string `yaml:"secret"`
	files  map[string][]byte // decoded
}

// VolumeMount mounts a volume's files in a cmd step, read-only, at MountPath.
type VolumeMount struct {
	Name      string `yaml:"name"`
	MountPath string `yaml:"mountPath"`
}

// Limits of secrets and volumes in one task YAML.
const (
	maxYAMLSecrets = 50
	maxVolumes     = 20
	maxVolumeBytes = 1 << 20 // decoded, per volume
)

var (
	secretIDRE  = names.New(`^[A-Za-z_][A-Za-z0-9_-]*$`, 1, 63)
	volumeRE    = names.New(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`, 1, 63)
	volumeKeyRE = names.New(`^[A-Za-z0-9_][A-Za-z0-9_.-]*$`, 1, 128)
	mountPathRE = regexp.MustCompile(`^(/[A-Za-z0-9_.-]+)+$`)
	envNameRE   = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

// checkSecrets validates a YAML's secrets.
func checkSecrets(refs []SecretRef) error {
	if len(refs) > maxYAMLSecrets {
		return invalid("task YAML: at most %d secrets", maxYAMLSecrets)
	}
	seen := map[string]bool{}
	for i, r := range refs {
		switch {
		case !secretIDRE.Match(r.ID):
			return invalid("task YAML: secrets[%d]: id %q: letters, digits, _ and -, starting with a letter or _", i, r.ID)
		case seen[r.ID]:
			return invalid("task YAML: secret id %q is used twice", r.ID)
		case r.KeyVault == "":
			return invalid("task YAML: secret %s: keyvault: the secret's URL, https://<vault>.vault.<domain>/secrets/<name>", r.ID)
		}
		seen[r.ID] = true
	}
	return nil
}

// checkVolumes validates a YAML's volumes and decodes their files.
func checkVolumes(vols []Volume) error {
	if len(vols) > maxVolumes {
		return invalid("task YAML: at most %d volumes", maxVolumes)
	}
	seen := map[string]bool{}
	for i := range vols {
		v := &vols[i]
		switch {
		case !volumeRE.Match(v.Name):
			return invalid("task YAML: volumes[%d]: name %q: letters, digits, _, . and -", i, v.Name)
		case seen[v.Name]:
			return invalid("task YAML: volume name %q is used twice", v.Name)
		case len(v.Secret) == 0:
			return invalid("task YAML: volume %s: give its files as secret: {name: base64 content}", v.Name)
		}
		seen[v.Name] = true
		v.files = map[string][]byte{}
		total := 0
		for k, b64 := range v.Secret {
			if !volumeKeyRE.Match(k) || k == "." || k == ".." {
				return invalid("task YAML: volume %s: file name %q: letters, digits, _, . and -", v.Name, k)
			}
			b, err := base64.StdEncoding.DecodeString(b64)
			if err != nil {
				return invalid("task YAML: volume %s: %s: the value is not base64 (secret volumes hold base64-encoded values)", v.Name, k)
			}
			if total += len(b); total > maxVolumeBytes {
				return invalid("task YAML: volume %s: more than %d bytes", v.Name, maxVolumeBytes)
			}
			v.files[k] = b
		}
	}
	return nil
}

// checkMounts validates a step's volumeMounts against the volumes.
func checkMounts(st *Step, vols []Volume) error {
	if len(st.VolumeMounts) > 0 && st.Cmd == "" {
		return invalid("task YAML: step %s: volumeMounts are for cmd steps", st.ID)
	}
	paths := map[string]bool{}
	for _, m := range st.VolumeMounts {
		found := false
		for _, v := range vols {
			found = found || v.Name == m.Name
		}
		switch {
		case !found:
			return invalid("task YAML: step %s: volumeMounts names %q, which is not a volume", st.ID, m.Name)
		case !mountPathRE.MatchString(m.MountPath) || path.Clean(m.MountPath) != m.MountPath:
			return invalid("task YAML: step %s: mountPath %q: an absolute path (letters, digits, _, . and -), not /", st.ID, m.MountPath)
		case paths[m.MountPath]:
			return invalid("task YAML: step %s: two volumes at %s", st.ID, m.MountPath)
		}
		paths[m.MountPath] = true
	}
	return nil
}

// volume returns the named volume.
func (f *ACB) volume(name string) *Volume {
	for i := range f.Volumes {
		if f.Volumes[i].Name == name {
			return &f.Volumes[i]
		}
	}
	return nil
}

// volumeFiles writes the files of the step's volume mounts under dir
// (0600, removed with it) and returns them as build secrets (id -> path)
// with the RUN mount options that put each at <mountPath>/<name>.
func (x *stepRun) volumeFiles(st *Step, dir string) (map[string]string, string, error) {
	if len(st.VolumeMounts) == 0 {
		return nil, "", nil
	}
	files := map[string]string{}
	var mounts strings.Builder
	for i, m := range st.VolumeMounts {
		v := x.f.volume(m.Name)
		for _, k := range sortedKeys(v.Secret) {
			id := fmt.Sprintf("acre-volume-%d-%s", i, k)
			p := filepath.Join(dir, id)
			if err := os.WriteFile(p, v.files[k], 0o600); err != nil {
				return nil, "", err
			}
			files[id] = p
			fmt.Fprintf(&mounts, " --mount=type=secret,id=%s,target=%s/%s,required=true,mode=0444", id, m.MountPath, k)
		}
	}
	return files, mounts.String(), nil
}

// yamlSecrets reads the Key Vault secrets a task YAML names, as the run's
// identity, before the YAML is rendered with them: the secrets section is
// found in the YAML rendered without secrets (missing values empty), then
// each secret is read; every value is masked in the log from then on.
func (s *Service) yamlSecrets(ctx context.Context, e *runEnv, raw string) (map[string]string, error) {
	pre, err := render(raw, e.vars, true)
	if err != nil {
		return nil, nil // the strict rendering reports it
	}
	var head struct {
		Secrets []SecretRef `yaml:"secrets"`
	}
	if yaml.Unmarshal([]byte(pre), &head) != nil || len(head.Secrets) == 0 {
		return nil, nil // ParseACB reports a YAML error
	}
	if err := checkSecrets(head.Secrets); err != nil {
		return nil, err
	}
	if s.o.Vault == nil {
		return nil, fmt.Errorf("task YAML: secrets from Key Vault are not available on this server")
	}
	out := map[string]string{}
	ids := make([]string, 0, len(head.Secrets))
	for _, r := range head.Secrets {
		v, err := s.o.Vault.ReadSecret(ctx, e.reg, e.spec.Identity, r.ClientID, r.KeyVault)
		if err != nil {
			return nil, fmt.Errorf("secret %s (%s): %w", r.ID, r.KeyVault, err)
		}
		e.log.mask(v)
		out[r.ID] = v
		ids = append(ids, r.ID)
	}
	sort.Strings(ids)
	e.log.Printf("Read %d secrets from Key Vault as %s: %v", len(ids), e.spec.Identity, ids)
	return out, nil
}
