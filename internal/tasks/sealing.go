package tasks

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"

	"github.com/acre-project/acre/internal/meta"
	"github.com/acre-project/acre/internal/seal"
)

// VaultSecrets reads secrets of acre's own vaults for a run's YAML
// `secrets:` (keyvault: https://<vault>.vault.<domain>/secrets/<name>).
// The run's identity (a login name as RunSpec.Identity, seen from reg)
// must hold Key Vault Secrets User on the vault; clientID, when set, must
// name that identity (by name or principal ID). A denied read is an error
// saying why.
type VaultSecrets interface {
	ReadSecret(ctx context.Context, reg *meta.Registry, identity, clientID, secretURL string) (string, error)
}

// Secret values of run and task specs are sealed in the store (see
// package seal); each is labelled with the field it belongs to.
func secretArgLabel(kind, name string) string { return kind + ":secretArg:" + name }

// sealFields seals (open false) or opens (open true) a spec's secret
// fields in place: the git token, the secret arguments, the secret values
// and, for tasks, the webhook secret.
func sealFields(box *seal.Box, kind string, open bool, gitToken *string, args, values map[string]string, others map[string]*string) error {
	do := func(v, label string) (string, error) {
		if open {
			return box.Open(v, label)
		}
		return box.Seal(v, label)
	}
	var err error
	if *gitToken, err = do(*gitToken, kind+":gitToken"); err != nil {
		return fmt.Errorf("%s git token: %w", kind, err)
	}
	for k, v := range args {
		if args[k], err = do(v, secretArgLabel(kind, k)); err != nil {
			return fmt.Errorf("%s secret argument %s: %w", kind, k, err)
		}
	}
	for k, v := range values {
		if values[k], err = do(v, kind+":secretValue:"+k); err != nil {
			return fmt.Errorf("%s secret value %s: %w", kind, k, err)
		}
	}
	for name, p := range others {
		if *p, err = do(*p, kind+":"+name); err != nil {
			return fmt.Errorf("%s %s: %w", kind, name, err)
		}
	}
	return nil
}

// encodeRunSpec is a run's spec as stored: secret values sealed.
func (s *Service) encodeRunSpec(spec RunSpec) ([]byte, error) {
	spec.SecretArgs, spec.SecretValues = cloneMap(spec.SecretArgs), cloneMap(spec.SecretValues)
	if err := sealFields(s.o.Box, "run", false, &spec.GitToken, spec.SecretArgs, spec.SecretValues, nil); err != nil {
		return nil, err
	}
	var err error
	if spec.Credentials, err = sealCredentials(s.o.Box, "run", false, spec.Credentials); err != nil {
		return nil, err
	}
	return json.Marshal(spec)
}

// decodeRunSpec reads a stored run spec, opening its secret values.
func (s *Service) decodeRunSpec(b []byte) (RunSpec, error) {
	var spec RunSpec
	if err := json.Unmarshal(b, &spec); err != nil {
		return spec, err
	}
	if err := sealFields(s.o.Box, "run", true, &spec.GitToken, spec.SecretArgs, spec.SecretValues, nil); err != nil {
		return spec, err
	}
	var err error
	spec.Credentials, err = sealCredentials(s.o.Box, "run", true, spec.Credentials)
	return spec, err
}

// wipedSpec is a finished run's spec: its secret values are gone (the
// names stay, redacted).
func wipedSpec(stored []byte) []byte {
	var spec RunSpec
	if json.Unmarshal(stored, &spec) != nil {
		return []byte(`{}`)
	}
	b, _ := json.Marshal(spec.Redacted())
	return b
}

// encodeTaskSpec is a task's spec as stored: secret values sealed.
func (s *Service) encodeTaskSpec(sp TaskSpec) ([]byte, error) {
	sp.SecretArgs, sp.SecretValues = cloneMap(sp.SecretArgs), cloneMap(sp.SecretValues)
	if err := sealFields(s.o.Box, "task", false, &sp.GitToken, sp.SecretArgs, sp.SecretValues,
		map[string]*string{"webhookSecret": &sp.WebhookSecret}); err != nil {
		return nil, err
	}
	var err error
	if sp.Credentials, err = sealCredentials(s.o.Box, "task", false, sp.Credentials); err != nil {
		return nil, err
	}
	return json.Marshal(sp)
}

// decodeTask reads a stored task, opening its secret values.
func (s *Service) decodeTask(t *meta.Task) (*Task, error) {
	out := &Task{Task: *t}
	if err := json.Unmarshal(t.Spec, &out.Spec); err != nil {
		return nil, err
	}
	sp := &out.Spec
	if err := sealFields(s.o.Box, "task", true, &sp.GitToken, sp.SecretArgs, sp.SecretValues,
		map[string]*string{"webhookSecret": &sp.WebhookSecret}); err != nil {
		return nil, err
	}
	var err error
	sp.Credentials, err = sealCredentials(s.o.Box, "task", true, sp.Credentials)
	return out, err
}

// sealCredentials returns a copy of creds with the passwords sealed (open
// false) or opened (open true), each labelled with its login server.
func sealCredentials(box *seal.Box, kind string, open bool, creds map[string]RegistryCredential) (map[string]RegistryCredential, error) {
	if creds == nil {
		return nil, nil
	}
	out := make(map[string]RegistryCredential, len(creds))
	for server, c := range creds {
		label := kind + ":credential:" + server
		var err error
		if open {
			c.Password, err = box.Open(c.Password, label)
		} else {
			c.Password, err = box.Seal(c.Password, label)
		}
		if err != nil {
			return nil, fmt.Errorf("%s credential for %s: %w", kind, server, err)
		}
		out[server] = c
	}
	return out, nil
}

func cloneMap(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// processBox is a key for this process only, for a Service given none.
func processBox() *seal.Box {
	key := make([]byte, seal.KeySize)
	_, _ = rand.Read(key)
	b, _ := seal.New(key)
	return b
}
