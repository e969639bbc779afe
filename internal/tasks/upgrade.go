package tasks

import (
	"context"
	"encoding/json"

	"github.com/acre-project/acre/internal/meta"
	"github.com/acre-project/acre/internal/seal"
)

// sealStored brings rows written before secrets were sealed up to date:
// a task whose secret values are in plain text is stored again sealed,
// and a finished run whose spec still holds secret values is wiped. It is
// safe on several nodes at once (each row changes in its own transaction,
// after a fresh read) and finds nothing to do once done.
func (s *Service) sealStored(ctx context.Context) (tasks, runs int, err error) {
	mts, err := s.o.Meta.Read().ListTasks(ctx, 0)
	if err != nil {
		return 0, 0, err
	}
	for i := range mts {
		if !taskHoldsPlain(mts[i].Spec) {
			continue
		}
		err := s.o.Meta.Tx(ctx, func(q Store) error {
			mt, err := q.GetTaskByID(ctx, mts[i].ID)
			if err != nil || !taskHoldsPlain(mt.Spec) {
				return err
			}
			t, err := s.decodeTask(mt)
			if err != nil {
				return err
			}
			if mt.Spec, err = s.encodeTaskSpec(t.Spec); err != nil {
				return err
			}
			return q.PutTask(ctx, mt)
		})
		if err != nil {
			return tasks, runs, err
		}
		tasks++
	}
	regs, err := s.o.Meta.Read().ListRegistries(ctx, meta.Page{N: 1 << 20})
	if err != nil {
		return tasks, runs, err
	}
	for _, reg := range regs {
		for before := int64(0); ; {
			page, err := s.o.Meta.Read().ListRuns(ctx, reg.ID, "", before, 500)
			if err != nil {
				return tasks, runs, err
			}
			if len(page) == 0 {
				break
			}
			for _, r := range page {
				before = r.ID
				if !r.Finished() || !runHoldsSecrets(r.Spec) {
					continue
				}
				err := s.o.Meta.Tx(ctx, func(q Store) error {
					cur, err := q.GetRun(ctx, r.ID)
					if err != nil || !cur.Finished() || !runHoldsSecrets(cur.Spec) {
						return err
					}
					cur.Spec = wipedSpec(cur.Spec)
					return q.FinishRun(ctx, cur)
				})
				if err != nil {
					return tasks, runs, err
				}
				runs++
			}
		}
	}
	return tasks, runs, nil
}

// taskHoldsPlain reports whether a stored task spec holds a secret value
// in plain text.
func taskHoldsPlain(b []byte) bool {
	var sp TaskSpec
	if json.Unmarshal(b, &sp) != nil {
		return false
	}
	plain := func(v string) bool { return v != "" && !seal.IsSealed(v) }
	if plain(sp.GitToken) || plain(sp.WebhookSecret) {
		return true
	}
	for _, m := range []map[string]string{sp.SecretArgs, sp.SecretValues} {
		for _, v := range m {
			if plain(v) {
				return true
			}
		}
	}
	for _, c := range sp.Credentials {
		if plain(c.Password) {
			return true
		}
	}
	return false
}

// runHoldsSecrets reports whether a stored run spec holds a secret value
// (sealed or not) that wiping would remove.
func runHoldsSecrets(b []byte) bool {
	var spec RunSpec
	if json.Unmarshal(b, &spec) != nil {
		return false
	}
	wiped, _ := json.Marshal(spec.Redacted())
	again, _ := json.Marshal(spec)
	return string(wiped) != string(again)
}
